"""`wsside-env.d.ts` in a tsconfig whose `include` comes through `extends`: SvelteKit's root
tsconfig only extends the generated `.svelte-kit/tsconfig.json`, whose `include` (relative
to `.svelte-kit`) misses the file; a generic chain of configs; a package's config. doctor
and init run as subprocesses; `tsc --listFilesOnly` checks that what doctor says is true."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from doctor_projects import REPO, one, run_doctor, write
from test_tsconfig import init

ENTRY = "wsside-env.d.ts"
TSC = REPO / "node_shim" / "node_modules" / ".bin" / "tsc"
TYPED_HANDLER = """\
from typing import TypedDict
from wsside import Handler

class ChatIn(TypedDict):
    text: str

chat = Handler("/ws/chat", receives=ChatIn)
"""
ENV_DTS = "export {};\n"

# What `npx sv create` writes, and what SvelteKit 2 generates (with its default options).
SVELTEKIT_ROOT = """\
{
\t"extends": "./.svelte-kit/tsconfig.json",
\t"compilerOptions": {
\t\t"allowJs": true,
\t\t"checkJs": true,
\t\t"strict": true,
\t\t"moduleResolution": "bundler"
\t}
\t// To make changes to top-level options such as include and exclude, we recommend extending
\t// the generated config; see https://svelte.dev/docs/kit/configuration#typescript
}
"""
KIT_INCLUDE = [
    "ambient.d.ts",
    "non-ambient.d.ts",
    "./types/**/$types.d.ts",
    "../vite.config.js",
    "../vite.config.ts",
    "../src/**/*.js",
    "../src/**/*.ts",
    "../src/**/*.svelte",
    "../tests/**/*.js",
    "../tests/**/*.ts",
    "../tests/**/*.svelte",
]
SVELTEKIT_GENERATED: dict[str, object] = {
    "compilerOptions": {
        "rootDirs": ["..", "./types"],
        "verbatimModuleSyntax": True,
        "isolatedModules": True,
        "lib": ["esnext", "DOM", "DOM.Iterable"],
        "moduleResolution": "bundler",
        "module": "esnext",
        "noEmit": True,
        "target": "esnext",
    },
    "include": KIT_INCLUDE,
    "exclude": [
        "../node_modules/**",
        "../src/service-worker.js",
        "../src/service-worker/**/*.js",
        "../src/service-worker.ts",
        "../src/service-worker/**/*.ts",
        "../src/service-worker.d.ts",
        "../src/service-worker/**/*.d.ts",
    ],
}
SVELTE_CONFIG = """\
import adapter from '@sveltejs/adapter-auto';

export default { kit: { adapter: adapter() } };
"""
# The vite.config of that layout (SvelteKit before 2.62): sveltekit() without options, so
# SvelteKit reads svelte.config.js.
VITE_CONFIG = """\
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import wsside from 'vite-plugin-wsside';

export default defineConfig({ plugins: [sveltekit(), wsside()] });
"""
# What `npx sv create` (sv 0.17, SvelteKit 2.62 and later) writes instead: no svelte.config.js,
# the kit options given to sveltekit() (and wsside() added).
SV_VITE_CONFIG = """\
import adapter from '@sveltejs/adapter-auto';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import wsside from 'vite-plugin-wsside';

export default defineConfig({
\tplugins: [
\t\tsveltekit({
\t\t\tcompilerOptions: {
\t\t\t\t// Force runes mode for the project, except for libraries. Can be removed in svelte 6.
\t\t\t\trunes: ({ filename }) =>
\t\t\t\t\tfilename.split(/[/\\\\]/).includes('node_modules') ? undefined : true
\t\t\t},

\t\t\t// adapter-auto only supports some environments, see
\t\t\t// https://svelte.dev/docs/kit/adapter-auto for a list.
\t\t\tadapter: adapter()
\t\t}),
\t\twsside()
\t]
});
"""


# A svelte.config.js that adds the types file to the tsconfig SvelteKit writes.
SVELTE_CONFIG_NAMING_THE_FILE = (
    "export default { kit: { typescript: { config: (c) => { c.include.push("
    "'../wsside-env.d.ts'); } } } };\n"
)


def sveltekit_project(root: Path, generated: dict[str, object] = SVELTEKIT_GENERATED) -> Path:
    return write(
        root,
        {
            "package.json": json.dumps(
                {"name": "app", "type": "module", "devDependencies": {"@sveltejs/kit": "^2.0.0"}}
            ),
            "tsconfig.json": SVELTEKIT_ROOT,
            ".svelte-kit/tsconfig.json": json.dumps(generated, indent="\t"),
            "svelte.config.js": SVELTE_CONFIG,
            "vite.config.ts": VITE_CONFIG,
            "src/routes/page.ts": "export const x = 1;\n",
            "ws/chat.py": TYPED_HANDLER,
            ENTRY: ENV_DTS,
        },
    )


def types_check(root: Path) -> dict[str, str]:
    _, report = run_doctor(root)
    check = one(report, "message types")
    return {k: check[k] for k in ("status", "message", "fix")}


def assert_unseen(root: Path, base: str, fix: str) -> None:
    """tsc does not compile the file, and doctor says so, naming the config whose `include`
    is in effect, with `fix`."""
    assert not tsc_sees(root)
    assert types_check(root) == {
        "status": "warn",
        "message": f"tsconfig.json (through {base}) does not include {ENTRY}: the editor and "
        "tsc do not see the types of /ws/chat",
        "fix": fix,
    }


def tsc_sees(root: Path) -> bool:
    """Whether `tsc -p root --listFilesOnly` compiles `wsside-env.d.ts`."""
    done = subprocess.run(
        [str(TSC), "-p", str(root), "--listFilesOnly"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {Path(line.strip()) for line in done.stdout.splitlines()}
    assert root.resolve() / "src" / "routes" / "page.ts" in listed, done.stdout
    return root.resolve() / ENTRY in listed


# ---- SvelteKit --------------------------------------------------------------------------------

KIT_FIX = (
    "in svelte.config.js: kit: { typescript: { config: (config) => { config.include.push("
    "'../wsside-env.d.ts'); } } }, then npx svelte-kit sync (an \"include\" in the root "
    "tsconfig would replace SvelteKit's)"
)


def test_doctor_sees_that_sveltekit_s_include_misses_the_file(tmp_path: Path) -> None:
    assert_unseen(sveltekit_project(tmp_path), ".svelte-kit/tsconfig.json", KIT_FIX)


def test_init_prints_the_svelte_config_step_and_leaves_the_tsconfigs_alone(
    tmp_path: Path,
) -> None:
    root = sveltekit_project(tmp_path)
    generated = (root / ".svelte-kit" / "tsconfig.json").read_text()
    out = init(root, status=1)
    assert "already includes" not in out
    assert f"  → add {ENTRY} to the types SvelteKit compiles: {KIT_FIX}\n" in out
    assert (root / "tsconfig.json").read_text() == SVELTEKIT_ROOT
    assert (root / ".svelte-kit" / "tsconfig.json").read_text() == generated


def test_after_the_svelte_config_step_and_a_sync_doctor_passes(tmp_path: Path) -> None:
    # What SvelteKit writes once `config.include.push('../wsside-env.d.ts')` is in place.
    synced = {**SVELTEKIT_GENERATED, "include": [*KIT_INCLUDE, f"../{ENTRY}"]}
    root = sveltekit_project(tmp_path, synced)
    assert tsc_sees(root)
    check = types_check(root)
    assert (check["status"], check["message"]) == (
        "pass",
        f"tsconfig.json (through .svelte-kit/tsconfig.json) includes {ENTRY} (1 typed endpoint(s))",
    )


def test_a_svelte_config_that_names_the_file_before_a_sync_asks_for_the_sync(
    tmp_path: Path,
) -> None:
    root = sveltekit_project(tmp_path)
    (root / "svelte.config.js").write_text(SVELTE_CONFIG_NAMING_THE_FILE)
    assert types_check(root)["fix"] == (
        f"svelte.config.js names {ENTRY}, but .svelte-kit/tsconfig.json was written before: "
        "run npx svelte-kit sync (or restart the dev server), which writes it again"
    )


def test_a_sveltekit_project_never_synced_says_to_sync(tmp_path: Path) -> None:
    root = sveltekit_project(tmp_path)
    (root / ".svelte-kit" / "tsconfig.json").unlink()
    check = types_check(root)
    assert check["status"] == "warn"
    assert check["message"].startswith(
        "cannot read .svelte-kit/tsconfig.json (extended by tsconfig.json): "
    )
    assert check["fix"] == (
        "run npx svelte-kit sync (it writes .svelte-kit/tsconfig.json), then this command again"
    )


# ---- SvelteKit with its options in vite.config (what `sv create` writes today) ---------------

# The step, relative to .svelte-kit, inside the options of sveltekit({ ... }).
VITE_STEP = (
    "in vite.config.ts, among the options of sveltekit({ ... }): typescript: { config: (config) "
    "=> { config.include.push('../wsside-env.d.ts'); } }"
)
VITE_KIT_FIX = (
    f'{VITE_STEP}, then npx svelte-kit sync (an "include" in the root tsconfig would replace '
    "SvelteKit's)"
)
TYPESCRIPT_OPTION = (
    "\t\t\ttypescript: { config: (config) => { config.include.push('../wsside-env.d.ts'); } },\n"
)


def sv_project(root: Path, vite_config: str = SV_VITE_CONFIG) -> Path:
    """A SvelteKit project as `sv create` writes it: no svelte.config.js."""
    sveltekit_project(root)
    (root / "svelte.config.js").unlink()
    (root / "vite.config.ts").write_text(vite_config)
    return root


def test_without_svelte_config_doctor_gives_the_step_in_vite_config(tmp_path: Path) -> None:
    assert_unseen(sv_project(tmp_path), ".svelte-kit/tsconfig.json", VITE_KIT_FIX)


def test_the_sveltekit_plugin_is_found_by_the_name_its_import_gives_it(tmp_path: Path) -> None:
    aliased = (
        SV_VITE_CONFIG.replace("{ sveltekit }", "{ sveltekit as kit }")
        .replace("sveltekit({", "kit({")
        .replace("export default", "// sveltekit() would read svelte.config.js\nexport default")
    )
    assert "sveltekit(" not in aliased.replace("// sveltekit()", "")
    assert_unseen(sv_project(tmp_path, aliased), ".svelte-kit/tsconfig.json", VITE_KIT_FIX)


def test_init_prints_the_vite_config_step_and_leaves_the_files_alone(tmp_path: Path) -> None:
    root = sv_project(tmp_path)
    generated = (root / ".svelte-kit" / "tsconfig.json").read_text()
    out = init(root, status=1)
    assert f"  → add {ENTRY} to the types SvelteKit compiles: {VITE_KIT_FIX}\n" in out
    assert (root / "vite.config.ts").read_text() == SV_VITE_CONFIG
    assert (root / "tsconfig.json").read_text() == SVELTEKIT_ROOT
    assert (root / ".svelte-kit" / "tsconfig.json").read_text() == generated
    assert not (root / "svelte.config.js").exists()


def test_a_vite_config_that_names_the_file_before_a_sync_asks_for_the_sync(
    tmp_path: Path,
) -> None:
    named = SV_VITE_CONFIG.replace(
        "\t\t\tadapter: adapter()", TYPESCRIPT_OPTION + "\t\t\tadapter: adapter()"
    )
    assert named != SV_VITE_CONFIG
    root = sv_project(tmp_path, named)
    assert types_check(root)["fix"] == (
        f"sveltekit({{ ... }}) in vite.config.ts names {ENTRY}, but .svelte-kit/tsconfig.json "
        "was written before: run npx svelte-kit sync (or restart the dev server), which writes "
        "it again"
    )


@pytest.mark.parametrize(
    "svelte_config, said",
    [
        # The old step followed in a project `sv create` made: `svelte-kit sync` ignores the
        # file, so asking for a sync again would go round in circles.
        (
            SVELTE_CONFIG_NAMING_THE_FILE,
            f"svelte.config.js names {ENTRY}, but SvelteKit ignores svelte.config.js when "
            "vite.config.ts passes options to sveltekit() (npx svelte-kit sync says "
            '"svelte.config.js is ignored when options are passed via your Vite config"): '
            f"{VITE_STEP}, then npx svelte-kit sync",
        ),
        (
            SVELTE_CONFIG,
            f"{VITE_KIT_FIX}; SvelteKit ignores svelte.config.js, as vite.config.ts passes "
            "options to sveltekit()",
        ),
    ],
    ids=["naming-the-file", "without-it"],
)
def test_a_svelte_config_beside_options_in_vite_config_is_said_to_be_ignored(
    tmp_path: Path, svelte_config: str, said: str
) -> None:
    root = sv_project(tmp_path)
    (root / "svelte.config.js").write_text(svelte_config)
    assert_unseen(root, ".svelte-kit/tsconfig.json", said)


def test_a_kit_wrapper_in_the_sveltekit_options_is_not_read(tmp_path: Path) -> None:
    # SvelteKit takes its options unwrapped there, and passes a `kit` on to vite-plugin-svelte.
    wrapped = SV_VITE_CONFIG.replace(
        "\t\t\tadapter: adapter()",
        f"\t\t\tkit: {{\n\t{TYPESCRIPT_OPTION}\t\t\t}},\n\t\t\tadapter: adapter()",
    )
    assert wrapped != SV_VITE_CONFIG
    assert_unseen(
        sv_project(tmp_path, wrapped),
        ".svelte-kit/tsconfig.json",
        "sveltekit({ ... }) in vite.config.ts has a kit: { ... } option, which SvelteKit does "
        f"not read (it takes its own options unwrapped): {VITE_STEP}, then npx svelte-kit sync",
    )


# ---- a generic chain ------------------------------------------------------------------------

CHAIN_FIX = 'in tsconfig.json: "include": ["src", "wsside-env.d.ts"]   (or run wsside init)'
BASE = '{\n  "compilerOptions": {"strict": true, "noEmit": true},\n  "include": ["../src"]\n}\n'
CHILD = """\
{
  // the shared settings
  "extends": "./configs/base",
  "compilerOptions": {
    "target": "ES2022"
  }
}
"""


def chain_project(root: Path) -> Path:
    return write(
        root,
        {
            "package.json": '{"name": "app", "type": "module"}',
            "tsconfig.json": CHILD,
            "configs/base.json": BASE,
            "vite.config.ts": "export default {};\n",
            "src/routes/page.ts": "export const x = 1;\n",
            "ws/chat.py": TYPED_HANDLER,
            ENTRY: ENV_DTS,
        },
    )


def test_an_inherited_include_is_kept_in_the_line_doctor_gives(tmp_path: Path) -> None:
    assert_unseen(chain_project(tmp_path), "configs/base.json", CHAIN_FIX)


def test_init_adds_an_include_that_keeps_the_inherited_patterns(tmp_path: Path) -> None:
    root = chain_project(tmp_path)
    out = init(root, status=0)
    assert f'added "include" to tsconfig.json: the patterns it extends, and {ENTRY}' in out
    assert (root / "tsconfig.json").read_text() == CHILD.replace(
        "  }\n}", '  },\n  "include": ["src", "wsside-env.d.ts"]\n}'
    )
    assert (root / "configs" / "base.json").read_text() == BASE
    assert tsc_sees(root)
    assert types_check(root)["status"] == "pass"
    assert f"tsconfig.json already includes {ENTRY}" in init(root, status=0)


def test_an_include_in_the_base_that_covers_the_file_passes(tmp_path: Path) -> None:
    root = chain_project(tmp_path)
    (root / "configs" / "base.json").write_text(BASE.replace('"../src"', '"../src", "../*.d.ts"'))
    assert tsc_sees(root)
    check = types_check(root)
    assert (check["status"], check["message"]) == (
        "pass",
        f"tsconfig.json (through configs/base.json) includes {ENTRY} (1 typed endpoint(s))",
    )


# TypeScript 5.5's `${configDir}`: the folder of the config compiled, wherever it is written.
CONFIG_DIR_BASE = BASE.replace('"../src"', '"${configDir}/src"')


def test_config_dir_in_an_inherited_include_is_kept_as_it_is(tmp_path: Path) -> None:
    """Before, the pattern was taken relative to configs/, and init wrote
    `"configs/${configDir}/src"`, which left src/ out of the compilation."""
    root = chain_project(tmp_path)
    (root / "configs" / "base.json").write_text(CONFIG_DIR_BASE)
    fix = CHAIN_FIX.replace('["src"', '["${configDir}/src"')
    assert_unseen(root, "configs/base.json", fix)
    init(root, status=0)
    assert (root / "tsconfig.json").read_text() == CHILD.replace(
        "  }\n}", '  },\n  "include": ["${configDir}/src", "wsside-env.d.ts"]\n}'
    )
    assert tsc_sees(root)  # and src/ still, which it checks
    assert types_check(root)["status"] == "pass"


def test_config_dir_in_an_inherited_include_that_covers_the_file_passes(tmp_path: Path) -> None:
    root = chain_project(tmp_path)
    (root / "configs" / "base.json").write_text(
        CONFIG_DIR_BASE.replace('"${configDir}/src"', '"${configDir}/src", "${configDir}/*.d.ts"')
    )
    assert tsc_sees(root)
    check = types_check(root)
    assert (check["status"], check["message"]) == (
        "pass",
        f"tsconfig.json (through configs/base.json) includes {ENTRY} (1 typed endpoint(s))",
    )
    # And an inherited exclude of it, read the same way.
    (root / "configs" / "base.json").write_text(
        CONFIG_DIR_BASE.replace(
            '"${configDir}/src"]',
            '"${configDir}/src", "${configDir}/*.d.ts"],\n  '
            '"exclude": ["${configDir}/wsside-env.d.ts"]',
        )
    )
    assert not tsc_sees(root)
    assert types_check(root)["status"] == "warn"


def test_in_an_extends_array_the_last_base_with_an_include_wins(tmp_path: Path) -> None:
    root = chain_project(tmp_path)
    write(root, {"configs/all.json": '{"include": ["../**/*"]}'})
    (root / "tsconfig.json").write_text('{"extends": ["./configs/all.json", "./configs/base"]}')
    assert not tsc_sees(root)
    assert types_check(root)["status"] == "warn"
    (root / "tsconfig.json").write_text('{"extends": ["./configs/base", "./configs/all.json"]}')
    assert tsc_sees(root)
    assert types_check(root)["status"] == "pass"


def test_a_package_s_config_is_read_from_node_modules(tmp_path: Path) -> None:
    root = chain_project(tmp_path)
    (root / "tsconfig.json").write_text('{"extends": "@acme/tsconfig"}')
    check = types_check(root)
    assert check["message"] == (
        'cannot read "@acme/tsconfig" (extended by tsconfig.json): not found in node_modules '
        f"(run npm install), so whether it includes {ENTRY} is unknown"
    )
    package = root / "node_modules" / "@acme" / "tsconfig"
    write(
        package,
        {
            "package.json": '{"name": "@acme/tsconfig", "tsconfig": "app.json"}',
            "app.json": '{"compilerOptions": {"noEmit": true}, "include": ["../../../src"]}',
        },
    )
    assert not tsc_sees(root)
    assert types_check(root)["fix"] == CHAIN_FIX
