"""`wsside init` on fixture projects: what it writes, when it edits vite.config (only a real
top-level plugins array), what it prints instead (and exits 1), and that Vite and doctor
accept the result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from doctor_projects import VENV_PYTHON, env_for, link_modules, one, run_doctor, vite_modules, write
from wsside.cli.vite_edit import add_plugin, import_line

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

IMPORT_LINE = import_line()
MODULE_PACKAGE = '{"name": "app", "private": true, "type": "module"}'
PLAIN_PACKAGE = '{"name": "app", "private": true}'


def run_init(
    where: Path, *args: str, wrapper: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*wrapper, VENV_PYTHON, "-m", "wsside", "init", *args],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=60,
    )


def init(root: Path) -> str:
    done = run_init(root, "--root", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def init_refuses(root: Path) -> str:
    """`init` that leaves the config alone: exit 1, the lines to add printed."""
    done = run_init(root, "--root", str(root))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"      {IMPORT_LINE}    (with the other imports)\n" in done.stdout
    assert "      wsside(),    (first in the plugins array of the config)\n" in done.stdout
    return done.stdout


def node_parses(config: Path) -> None:
    """Node reads the edited config as an ES module (a TypeScript one is left to Vite)."""
    if config.suffix in (".ts", ".mts"):
        return
    copy = config.with_name("check.mjs")
    shutil.copy(config, copy)
    done = subprocess.run(
        ["node", "--check", str(copy)], capture_output=True, text=True, timeout=30
    )
    copy.unlink()
    assert done.returncode == 0, done.stderr


def test_empty_folder_gets_everything(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": MODULE_PACKAGE})
    out = init(tmp_path)
    assert "wrote wsside.toml" in out and "wrote ws/echo.py" in out
    assert "wrote vite.config.js with the plugin\n" in out
    assert "npm install -D vite-plugin-wsside" in out
    config = (tmp_path / "vite.config.js").read_text()
    assert IMPORT_LINE in config and "plugins: [wsside()]" in config
    assert 'prefix = "/api"' in (tmp_path / "wsside.toml").read_text()
    node_parses(tmp_path / "vite.config.js")


def test_the_sample_handler_passes_mypy_strict(tmp_path: Path) -> None:
    """A team that type-checks its handlers starts without an error."""
    write(tmp_path, {"package.json": MODULE_PACKAGE})
    init(tmp_path)
    done = subprocess.run(
        [VENV_PYTHON, "-m", "mypy", "--strict", "--no-pretty", "ws/echo.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "async def reply(conn: Connection, data: Sendable) -> None:\n"
        in (tmp_path / "ws" / "echo.py").read_text()
    )


def test_no_install_step_when_node_finds_the_plugin(tmp_path: Path) -> None:
    """A workspace package whose plugin is installed at the workspace root."""
    app = tmp_path / "packages" / "app"
    write(tmp_path, {"node_modules/vite-plugin-wsside/package.json": '{"version": "0.1.0"}'})
    write(app, {"package.json": MODULE_PACKAGE})
    out = init(app)
    assert "npm install" not in out
    assert "\nNext:\n  npx vite" in out


@pytest.mark.parametrize(
    "files, created",
    [
        ({"package.json": PLAIN_PACKAGE}, "vite.config.mjs"),
        ({"package.json": MODULE_PACKAGE, "tsconfig.json": "{}"}, "vite.config.ts"),
        ({"package.json": PLAIN_PACKAGE, "tsconfig.json": "{}"}, "vite.config.mts"),
    ],
    ids=["commonjs-package", "typescript-module", "typescript-commonjs"],
)
def test_a_new_config_is_an_es_module_in_the_project_s_language(
    tmp_path: Path, files: dict[str, str], created: str
) -> None:
    write(tmp_path, files)
    out = init(tmp_path)
    assert f"wrote {created} with the plugin" in out
    if created.endswith((".mjs", ".mts")):
        assert '(an ES module: package.json has no "type": "module")' in out
    assert sorted(p.name for p in tmp_path.glob("vite.config.*")) == [created]
    node_parses(tmp_path / created)


def test_outside_any_project_nothing_is_written(tmp_path: Path) -> None:
    """No vite.config and no package.json at or above: one line, exit 1, no files (a
    vite.config in, say, a home folder would only be something to clean up)."""
    done = run_init(tmp_path, "--root", str(tmp_path))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"wsside init: no Vite project at or above {tmp_path.resolve()} (no vite.config, no "
        "package.json): create it first (npm create vite@latest), then run wsside init in it\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_at_a_workspace_root_the_vite_app_below_is_named_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """A monorepo's root has a package.json (its workspaces) but no Vite: scaffolding there
    would add a vite.config serving the root. One line names the app below; exit 1."""
    write(
        tmp_path,
        {
            "package.json": '{"name": "repo", "private": true, "workspaces": ["packages/*"]}',
            "packages/web/package.json": (
                '{"name": "web", "private": true, "devDependencies": {"vite": "^7.0.0"}}'
            ),
        },
    )
    before = listing(tmp_path)
    done = run_init(tmp_path, "--root", str(tmp_path))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"wsside init: {tmp_path.resolve()} is no Vite project (no vite.config, and its "
        "package.json does not depend on vite); the Vite project below it is packages/web: run "
        "wsside init there\n"
    )
    assert listing(tmp_path) == before
    # and there, it sets the app up
    assert "wsside init in" in init(tmp_path / "packages" / "web")


def listing(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under `root`, with its bytes (None: a folder)."""
    return {
        p.relative_to(root).as_posix(): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def make(root: Path, entries: dict[str, str | bytes | None]) -> None:
    """Files with their text (bytes: as they are) and, for None, folders."""
    for name, content in entries.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def init_stops(root: Path, wrapper: tuple[str, ...] = ()) -> str:
    """`init` that cannot complete: exit 1, nothing on stdout, nothing written or changed;
    its one line on stderr, returned without the newline. `wrapper`: a command to run it in."""
    before = listing(root)
    done = run_init(root, "--root", str(root), wrapper=wrapper)
    assert (done.returncode, done.stdout) == (1, ""), done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "│" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.endswith("\n"), done.stderr
    assert listing(root) == before
    return done.stderr.removesuffix("\n")


@pytest.mark.parametrize(
    "entries, line",
    [
        (
            {"vite.config.js": None},
            "vite.config.js is a folder, not a file: move it away, then run wsside init again",
        ),
        (
            {"vite.config.js": b"export default {plugins: []} // caf\xe9\n"},
            "cannot read vite.config.js: not UTF-8 text (byte 0xe9 on line 1): save it as "
            "UTF-8, then run wsside init again",
        ),
        (
            {"vite.config.ts": b"import { defineConfig } from 'vite'\n\n// \xff\n"},
            "cannot read vite.config.ts: not UTF-8 text (byte 0xff on line 3): save it as "
            "UTF-8, then run wsside init again",
        ),
        (
            {"ws": ""},
            "ws is a file, not a folder: move it away, then run wsside init again",
        ),
        (
            {"ws/echo.py": None},
            "ws/echo.py is a folder, not a file: move it away, then run wsside init again",
        ),
        (
            {"wsside.toml": None},
            "wsside.toml is a folder, not a file: move it away, then run wsside init again",
        ),
        (
            {"vite.config.js": "export default {}\n", "vite.config.js.bak": None},
            "vite.config.js.bak is a folder, not a file: move it away, then run wsside init again",
        ),
        (
            {"pyproject.toml": "[tool.wsside\n"},
            "pyproject.toml:1: invalid TOML: Expected ']' at the end of a table declaration "
            "(at line 1, column 13): fix it, then run wsside init again",
        ),
        (
            {"wsside.toml": 'port = "x"\n'},
            'wsside.toml:1: key "port": expected an integer from 0 to 65535, got "x": fix it, '
            "then run wsside init again",
        ),
        (
            {"package.json": '{"name": "x"\n'},
            "package.json:2: invalid JSON (Expecting ',' delimiter, column 1): fix it, then run "
            "wsside init again",
        ),
        (
            {"vite.config.js": "export default {\n  plugins: [}\n"},
            "vite.config.js:2: `}` where the `[` of line 2 is still open: fix it (Vite cannot "
            "load it either), then run wsside init again",
        ),
    ],
    ids=[
        "vite-config-is-a-folder",
        "vite-config-not-utf-8",
        "not-utf-8-on-line-3",
        "ws-is-a-file",
        "echo-is-a-folder",
        "wsside-toml-is-a-folder",
        "backup-is-a-folder",
        "pyproject-not-toml",
        "wsside-toml-invalid",
        "package-json-not-json",
        "vite-config-brackets",
    ],
)
def test_a_file_init_cannot_use_is_named_and_nothing_is_written(
    tmp_path: Path, entries: dict[str, str | bytes | None], line: str
) -> None:
    make(tmp_path, {"package.json": MODULE_PACKAGE, **entries})
    assert init_stops(tmp_path) == f"wsside init: {line}"


# Root (as in CI) writes read-only files and folders through CAP_DAC_OVERRIDE: init runs
# without it (and without CAP_DAC_READ_SEARCH), so the permission bits hold for it too.
NO_OVERRIDE = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def test_a_root_that_is_no_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    for root, problem in (
        (tmp_path / "nope", "no such folder"),
        (tmp_path / "file", "is a file, not a folder"),
    ):
        done = run_init(tmp_path, "--root", str(root))
        assert (done.returncode, done.stdout, done.stderr) == (
            1,
            "",
            f"wsside init: --root {root}: {problem} (give a folder of the Vite project)\n",
        )


def test_a_read_only_config_or_folder_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    make(tmp_path, {"package.json": MODULE_PACKAGE, "vite.config.js": "export default {}\n"})
    (tmp_path / "vite.config.js").chmod(0o444)
    wrapper: tuple[str, ...] = ()
    if os.access(tmp_path / "vite.config.js", os.W_OK):
        assert shutil.which("setpriv"), "root writes read-only files; needs setpriv (util-linux)"
        wrapper = NO_OVERRIDE
        opens = [*wrapper, "sh", "-c", ': >> "$0"', str(tmp_path / "vite.config.js")]
        denied = subprocess.run(opens, capture_output=True)
        assert denied.returncode != 0, "setpriv did not take root's override away"
    assert init_stops(tmp_path, wrapper) == (
        "wsside init: cannot write vite.config.js: permission denied; make it writable, then "
        "run wsside init again"
    )
    (tmp_path / "vite.config.js").chmod(0o644)
    tmp_path.chmod(0o555)
    try:
        assert init_stops(tmp_path, wrapper) == (
            f"wsside init: cannot create wsside.toml: no permission to write in {tmp_path}"
        )
    finally:
        tmp_path.chmod(0o755)


def test_from_a_subfolder_the_project_above_is_used(tmp_path: Path) -> None:
    project = write(
        tmp_path / "project",
        {
            "package.json": MODULE_PACKAGE,
            "vite.config.js": "import { defineConfig } from 'vite'\n\n"
            "export default defineConfig({\n  plugins: [],\n})\n",
            "src/main.js": "console.log('app')\n",
        },
    )
    done = run_init(project / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wsside init in {project.resolve()}\n" in done.stdout
    assert (project / "wsside.toml").is_file() and (project / "ws" / "echo.py").is_file()
    assert "plugins: [wsside()]" in (project / "vite.config.js").read_text()
    assert sorted(p.name for p in (project / "src").iterdir()) == ["main.js"]


def test_simple_config_is_edited_with_a_backup(tmp_path: Path) -> None:
    original = (
        "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n"
        "\nexport default defineConfig({\n  plugins: [react()],\n})\n"
    )
    write(tmp_path, {"vite.config.ts": original})
    out = init(tmp_path)
    assert "added wsside() to vite.config.ts (original kept as vite.config.ts.bak)" in out
    assert (tmp_path / "vite.config.ts.bak").read_text() == original
    assert (tmp_path / "vite.config.ts").read_text() == (
        "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n"
        f"{IMPORT_LINE}\n\nexport default defineConfig({{\n  plugins: [wsside(), react()],\n}})\n"
    )


@pytest.mark.parametrize(
    "original, edited",
    [
        # No plugins key: one is added at the top of the config object.
        (
            "import { defineConfig } from 'vite'\n\nexport default defineConfig({\n"
            "  server: { port: 3000 },\n})\n",
            f"import {{ defineConfig }} from 'vite'\n{IMPORT_LINE}\n\n"
            "export default defineConfig({\n  plugins: [wsside()],\n"
            "  server: { port: 3000 },\n})\n",
        ),
        # A commented-out array is a comment: the real key is added, the comment kept as is.
        (
            "import { defineConfig } from 'vite'\n\nexport default defineConfig({\n"
            "  // plugins: [legacy()],\n  server: { port: 3000 },\n})\n",
            f"import {{ defineConfig }} from 'vite'\n{IMPORT_LINE}\n\n"
            "export default defineConfig({\n  plugins: [wsside()],\n  // plugins: [legacy()],\n"
            "  server: { port: 3000 },\n})\n",
        ),
        # Rollup's plugins are not Vite's: Vite's key is added, Rollup's array untouched.
        (
            "import { defineConfig } from 'vite'\nimport copy from 'rollup-plugin-copy'\n\n"
            "export default defineConfig({\n"
            "  build: { rollupOptions: { plugins: [copy()] } },\n})\n",
            "import { defineConfig } from 'vite'\nimport copy from 'rollup-plugin-copy'\n"
            f"{IMPORT_LINE}\n\nexport default defineConfig({{\n  plugins: [wsside()],\n"
            "  build: { rollupOptions: { plugins: [copy()] } },\n})\n",
        ),
        # Multi-line imports, double quotes, semicolons, one plugin per line: all kept.
        (
            'import {\n  defineConfig,\n} from "vite";\nimport vue from "@vitejs/plugin-vue";\n\n'
            "export default defineConfig({\n  plugins: [\n    vue(),\n  ],\n});\n",
            'import {\n  defineConfig,\n} from "vite";\nimport vue from "@vitejs/plugin-vue";\n'
            'import wsside from "vite-plugin-wsside";\n\n'
            "export default defineConfig({\n  plugins: [\n    wsside(),\n    vue(),\n  ],\n});\n",
        ),
        # A string, a template and a regex that look like a plugins array are not one.
        (
            "import { defineConfig } from 'vite'\nconst note = 'plugins: [x]'\n"
            "export default defineConfig(({ mode }) => ({\n  base: `/${mode}/{plugins: [`,\n"
            "  resolve: { alias: [{ find: /plugins: \\[/, replacement: '' }] },\n"
            "  plugins: [],\n}))\n",
            f"import {{ defineConfig }} from 'vite'\n{IMPORT_LINE}\nconst note = 'plugins: [x]'\n"
            "export default defineConfig(({ mode }) => ({\n  base: `/${mode}/{plugins: [`,\n"
            "  resolve: { alias: [{ find: /plugins: \\[/, replacement: '' }] },\n"
            "  plugins: [wsside()],\n}))\n",
        ),
        # A config declared first, typed, then exported.
        (
            "import type { UserConfig } from 'vite'\n\nconst config: UserConfig = {\n"
            "  plugins: [],\n}\n\nexport default config\n",
            f"import type {{ UserConfig }} from 'vite'\n{IMPORT_LINE}\n\n"
            "const config: UserConfig = {\n  plugins: [wsside()],\n}\n\nexport default config\n",
        ),
    ],
    ids=["no-key", "commented-out", "rollup-only", "multi-line", "look-alikes", "declared"],
)
def test_only_the_top_level_plugins_array_is_edited(
    original: str, edited: str, tmp_path: Path
) -> None:
    assert add_plugin(original) == edited
    config = tmp_path / ("vite.config.ts" if "UserConfig" in original else "vite.config.js")
    config.write_text(edited)
    node_parses(config)


@pytest.mark.parametrize(
    "name, original, why",
    [
        (
            "vite.config.js",
            "import {\n  defineConfig,\n} from 'vite'\n\n"
            "export default defineConfig(({ mode }) => ({\n"
            "  plugins: mode === 'x' ? [] : [],\n}))\n",
            "its plugins are not written as an array [...]",
        ),
        (
            "vite.config.js",
            "import { defineConfig } from 'vite'\nimport base from './base.js'\n\n"
            "export default defineConfig({ ...base, server: { port: 3000 } })\n",
            "its config spreads another object (...), which may hold the plugins",
        ),
        (
            "vite.config.js",
            "import { defineConfig } from 'vite'\n\n"
            "export default defineConfig(async () => {\n  return { plugins: [] }\n})\n",
            "defineConfig is given a function that does not return ({...}) at once",
        ),
        (
            "vite.config.ts",
            "import { defineConfig } from 'vite'\nimport { shared } from './shared'"
            "\n\nexport default defineConfig(shared)\n",
            "its default export is not defineConfig({...}) or an object",
        ),
    ],
    ids=["computed-array", "spread", "function-body", "not-an-object"],
)
def test_a_config_that_is_not_plain_gets_the_lines_and_exit_1(
    tmp_path: Path, name: str, original: str, why: str
) -> None:
    write(tmp_path, {name: original})
    out = init_refuses(tmp_path)
    assert f"→ {name} was not edited: {why}.\n    Add these lines to it yourself:\n" in out
    assert (tmp_path / name).read_text() == original
    assert not (tmp_path / f"{name}.bak").exists()


@pytest.mark.parametrize(
    "name, text, renamed",
    [
        (
            "vite.config.cjs",
            "const { defineConfig } = require('vite')\n"
            "module.exports = defineConfig({ plugins: [] })\n",
            "vite.config.mjs",
        ),
        (
            "vite.config.js",
            "const { defineConfig } = require('vite')\n"
            "module.exports = defineConfig({ plugins: [] })\n",
            "vite.config.mjs",
        ),
    ],
)
def test_a_commonjs_config_gets_es_module_instructions(
    tmp_path: Path, name: str, text: str, renamed: str
) -> None:
    write(tmp_path, {name: text})
    out = init_refuses(tmp_path)
    assert (
        f"→ {name} was not edited: it is CommonJS, and vite-plugin-wsside is an ES module.\n"
        f"    Rename it to {renamed}, turn its require() calls into imports"
    ) in out
    assert (tmp_path / name).read_text() == text


@pytest.mark.parametrize(
    "name, framework, port",
    [("astro.config.mjs", "Astro", 4321), ("nuxt.config.ts", "Nuxt", 3000)],
)
def test_an_astro_or_nuxt_project_gets_the_lines_for_its_vite_key(
    tmp_path: Path, name: str, framework: str, port: int
) -> None:
    """These frameworks build Vite's config from their own file: a vite.config would be
    ignored, so none is written; the lines go under the framework's `vite` key."""
    text = "export default defineConfig({})\n"
    write(tmp_path, {"package.json": MODULE_PACKAGE, name: text})
    done = run_init(tmp_path, "--root", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        f"→ {name} was not edited: {framework} builds Vite's config from it, so the plugin goes "
        "under its `vite` key.\n"
    ) in done.stdout
    assert f"      {IMPORT_LINE}    (with the other imports)\n" in done.stdout
    assert "      vite: { plugins: [wsside()] },    (in the object it exports;" in done.stdout
    assert f"npm run dev     # {framework}'s dev server" in done.stdout
    assert not list(tmp_path.glob("vite.config.*"))
    assert (tmp_path / name).read_text() == text
    # The samples name the framework's dev server's port.
    assert f"ws://localhost:{port}/api/echo sends" in (tmp_path / "ws" / "echo.py").read_text()
    assert f"ws://localhost:{port}/api/chat" in (tmp_path / "wsside.toml").read_text()
    # Once the plugin is there, a second run has nothing left to do.
    (tmp_path / name).write_text(
        f"{IMPORT_LINE}\nexport default defineConfig({{ vite: {{ plugins: [wsside()] }} }})\n"
    )
    assert f"✓ {name} already uses the plugin" in init(tmp_path)


def test_second_run_keeps_everything(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": MODULE_PACKAGE})
    init(tmp_path)
    (tmp_path / "ws" / "echo.py").write_text("# mine\n")
    out = init(tmp_path)
    assert "kept the existing wsside config" in out and "kept ws/echo.py" in out
    assert "vite.config.js already uses the plugin" in out
    assert (tmp_path / "ws" / "echo.py").read_text() == "# mine\n"


def test_a_mention_in_a_comment_is_not_a_use(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": "// TODO: vite-plugin-wsside\nexport default {}\n"})
    out = init(tmp_path)
    assert "added wsside() to vite.config.js" in out
    assert (tmp_path / "vite.config.js").read_text() == (
        f"{IMPORT_LINE}\n\n// TODO: vite-plugin-wsside\nexport default {{ plugins: [wsside()] }}\n"
    )


def test_pyproject_table_counts_as_config(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"pyproject.toml": '[tool.wsside]\nprefix = "/ws"\n', "package.json": MODULE_PACKAGE},
    )
    assert "kept the existing wsside config" in init(tmp_path)
    assert not (tmp_path / "wsside.toml").exists()


def test_doctor_passes_right_after_init_and_npm_install(tmp_path: Path, vite_modules: Path) -> None:
    link_modules(tmp_path, vite_modules)
    init(tmp_path)
    code, report = run_doctor(tmp_path, env=env_for())
    assert code == 0, [c for c in report["checks"] if c["status"] != "pass"]
    # Without a running dev server the live probe is the only thing left unchecked.
    assert [c["name"] for c in report["checks"] if c["status"] != "pass"] == ["dev server"]
    assert one(report, "handler ws/echo.py")["message"] == "imports: /echo"


def test_vite_loads_the_mts_config_written_in_a_commonjs_typescript_package(
    tmp_path: Path, vite_modules: Path
) -> None:
    (tmp_path / "node_modules").symlink_to(vite_modules, target_is_directory=True)
    write(
        tmp_path,
        {
            "package.json": PLAIN_PACKAGE,
            "tsconfig.json": "{}",
            "index.html": "<!doctype html><title>app</title>",
        },
    )
    assert "wrote vite.config.mts" in init(tmp_path)
    _code, report = run_doctor(tmp_path, env=env_for())
    config = one(report, "vite.config")
    assert config["status"] == "pass", config
    assert config["message"] == "vite.config.mts uses wsside() (resolved by Vite)"
    assert json.loads((tmp_path / "package.json").read_text()) == json.loads(PLAIN_PACKAGE)


@pytest.mark.parametrize("ignored", [False, True])
def test_a_typescript_project_in_git_is_told_to_commit_the_types_file(
    tmp_path: Path, ignored: bool
) -> None:
    """Only Vite and `wsside types` write wsside-env.d.ts: a fresh checkout's tsc needs it
    committed, unless the project ignores it (and runs `wsside types` before tsc)."""
    write(tmp_path, {"package.json": MODULE_PACKAGE, "tsconfig.json": "{}"})
    if ignored:
        write(tmp_path, {".gitignore": "wsside-env.d.ts\n"})
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, timeout=30)
    out = init(tmp_path)
    line = "\n  git add wsside-env.d.ts   # once Vite has written it"
    assert (line in out) is not ignored, out
    if not ignored:  # once committed, init run again says nothing of it
        write(tmp_path, {"wsside-env.d.ts": "export {}\n"})
        subprocess.run(["git", "add", "wsside-env.d.ts"], cwd=tmp_path, check=True, timeout=30)
        assert line not in init(tmp_path)


def test_no_commit_line_outside_git(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": MODULE_PACKAGE, "tsconfig.json": "{}"})
    out = init(tmp_path)
    assert out.endswith("\n  wsside doctor\n"), out
