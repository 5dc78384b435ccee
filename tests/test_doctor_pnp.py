"""Yarn's Plug'n'Play keeps packages in its cache, with no node_modules: `wsside doctor`, which
reads node_modules, says it cannot check Vite and the plugin there (a warning, with the Yarn
setting that lets it), instead of failing a project that works; `wsside init` takes the
plugin listed in package.json as installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from doctor_projects import env_for, one, run_doctor, write

MANIFEST = """\
{"name": "app", "private": true, "packageManager": "yarn@4.18.1",
 "devDependencies": {"vite": "^8.4.1", "vite-plugin-wsside": "0.1.0"}}
"""
VITE_CONFIG = """\
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

export default defineConfig({ plugins: [wsside()] })
"""
ECHO = 'from wsside import Handler\n\necho = Handler("/echo")\n'
UNREAD = (
    "Yarn Plug'n'Play (.pnp.cjs): packages are in Yarn's cache, not in node_modules, which "
    "doctor reads: not checked"
)


def yarn_project(root: Path) -> Path:
    # What `yarn install` leaves under Plug'n'Play: its map, and no node_modules.
    return write(
        root,
        {
            "package.json": MANIFEST,
            ".pnp.cjs": "// Yarn's resolution map\n",
            "vite.config.js": VITE_CONFIG,
            "ws/echo.py": ECHO,
        },
    )


def test_doctor_says_it_cannot_read_the_packages_instead_of_failing(tmp_path: Path) -> None:
    _, report = run_doctor(yarn_project(tmp_path), "--no-live", env=env_for())
    for name in ("vite", "shim"):
        row = one(report, name)
        assert (row["status"], row["message"]) == ("warn", UNREAD), row
        assert row["fix"].startswith("nodeLinker: node-modules in .yarnrc.yml"), row
    # Without the map, the same project lacks them: the failures stand.
    (tmp_path / ".pnp.cjs").unlink()
    code, report = run_doctor(tmp_path, "--no-live", env=env_for())
    assert code == 1
    assert one(report, "shim")["status"] == one(report, "vite")["status"] == "fail"


def test_init_takes_the_listed_plugin_as_installed(tmp_path: Path) -> None:
    root = yarn_project(tmp_path)
    (root / "ws" / "echo.py").unlink()
    init = [sys.executable, "-m", "wsside", "init"]
    done = subprocess.run(init, cwd=root, capture_output=True, text=True, timeout=60)
    assert "\nNext:\n" in done.stdout and "npm install" not in done.stdout, done.stdout
