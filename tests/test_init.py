"""`wsside init`: what it writes, when it edits vite.config, and that doctor passes after it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from doctor_projects import (VENV_PYTHON, env_for, link_modules, one, run_doctor, vite_modules,
                             write)
from wsside.cli.init import IMPORT_LINE, add_plugin

__all__ = ["vite_modules"]  # the session fixture, imported for pytest


def init(root: Path) -> str:
    done = subprocess.run([VENV_PYTHON, "-m", "wsside", "init", "--root", str(root)],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_empty_folder_gets_everything(tmp_path: Path) -> None:
    out = init(tmp_path)
    assert "wrote wsside.toml" in out and "wrote ws/echo.py" in out
    assert "wrote vite.config.js with the plugin" in out
    assert "npm install -D vite-plugin-wsside" in out
    config = (tmp_path / "vite.config.js").read_text()
    assert IMPORT_LINE in config and "plugins: [wsside()]" in config
    assert 'prefix = "/api"' in (tmp_path / "wsside.toml").read_text()


def test_simple_config_is_edited_with_a_backup(tmp_path: Path) -> None:
    original = ("import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n"
                "\nexport default defineConfig({\n  plugins: [react()],\n})\n")
    write(tmp_path, {"vite.config.ts": original})
    out = init(tmp_path)
    assert "added wsside() to vite.config.ts (original kept as vite.config.ts.bak)" in out
    assert (tmp_path / "vite.config.ts.bak").read_text() == original
    assert (tmp_path / "vite.config.ts").read_text() == (
        "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n"
        f"{IMPORT_LINE}\n\nexport default defineConfig({{\n  plugins: [wsside(), react()],\n}})\n")


def test_config_without_plugins_gets_the_key() -> None:
    edited = add_plugin("import { defineConfig } from 'vite'\n\nexport default defineConfig({\n"
                        "  server: { port: 3000 },\n})\n")
    assert edited == (f"import {{ defineConfig }} from 'vite'\n{IMPORT_LINE}\n\n"
                      "export default defineConfig({\n  plugins: [wsside()],\n"
                      "  server: { port: 3000 },\n})\n")


def test_complex_config_is_left_alone_with_instructions(tmp_path: Path) -> None:
    original = ("import {\n  defineConfig,\n} from 'vite'\n\n"
                "export default defineConfig(({ mode }) => ({\n"
                "  plugins: mode === 'x' ? [] : [],\n}))\n")
    write(tmp_path, {"vite.config.js": original})
    out = init(tmp_path)
    assert f"add to vite.config.js:\n    {IMPORT_LINE}" in out
    assert "plugins: [wsside()]," in out
    assert (tmp_path / "vite.config.js").read_text() == original
    assert not (tmp_path / "vite.config.js.bak").exists()


def test_second_run_keeps_everything(tmp_path: Path) -> None:
    init(tmp_path)
    (tmp_path / "ws" / "echo.py").write_text("# mine\n")
    out = init(tmp_path)
    assert "kept the existing wsside config" in out and "kept ws/echo.py" in out
    assert "vite.config.js already uses the plugin" in out
    assert (tmp_path / "ws" / "echo.py").read_text() == "# mine\n"


def test_pyproject_table_counts_as_config(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.wsside]\nprefix = "/ws"\n'})
    assert "kept the existing wsside config" in init(tmp_path)
    assert not (tmp_path / "wsside.toml").exists()


def test_doctor_passes_right_after_init_and_npm_install(tmp_path: Path,
                                                        vite_modules: Path) -> None:
    init(tmp_path)
    link_modules(tmp_path, vite_modules)
    code, report = run_doctor(tmp_path, env=env_for())
    assert code == 0, [c for c in report["checks"] if c["status"] != "pass"]
    # Without a running dev server the live probe is the only thing left unchecked.
    assert [c["name"] for c in report["checks"] if c["status"] != "pass"] == ["dev server"]
    assert one(report, "handler ws/echo.py")["message"] == "imports: /echo"
