"""`wsside-env.d.ts` in a tsconfig whose `include` comes through `extends`: SvelteKit's root
tsconfig only extends the generated `.svelte-kit/tsconfig.json`, whose `include` (relative
to `.svelte-kit`) misses the file; a generic chain of configs; a package's config. doctor
and init run as subprocesses; `tsc --listFilesOnly` checks that what doctor says is true."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
            "vite.config.ts": "export default {};\n",
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
    (root / "svelte.config.js").write_text(
        "export default { kit: { typescript: { config: (c) => { c.include.push("
        "'../wsside-env.d.ts'); } } } };\n"
    )
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
        "run npx svelte-kit sync (it writes .svelte-kit/tsconfig.json), then check"
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
