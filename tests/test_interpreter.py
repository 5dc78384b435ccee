"""The interpreter rules: one data file shared with the shim, applied in order."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from wsside._project.interpreter import resolve_interpreter

REPO = Path(__file__).resolve().parent.parent


def test_rules_file_is_the_shims() -> None:
    shipped = REPO / "sidecar" / "wsside" / "interpreter-rules.json"
    assert shipped.is_symlink()  # one file to edit; packaging copies it (test_packaging.py)
    assert shipped.resolve() == (REPO / "node_shim" / "interpreter-rules.json").resolve()


def _python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_order_option_env_dotvenv_venv_virtualenv_python3(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    active = _python(tmp_path / "active" / "bin" / "python")
    env = {
        "WSSIDE_PYTHON": "/opt/py/bin/python",
        "VIRTUAL_ENV": str(active.parent.parent),
        "PATH": os.defpath,
    }
    assert resolve_interpreter(project, "tools/python", env) == (
        str(project / "tools/python"),
        "option",
    )
    assert resolve_interpreter(project, None, env) == ("/opt/py/bin/python", "WSSIDE_PYTHON")
    del env["WSSIDE_PYTHON"]
    assert resolve_interpreter(project, None, env) == (str(active), "VIRTUAL_ENV")
    plain = _python(project / "venv" / "bin" / "python")
    assert resolve_interpreter(project, None, env) == (str(plain), "venv")
    dotted = _python(project / ".venv" / "bin" / "python")
    assert resolve_interpreter(project, None, env) == (str(dotted), ".venv")
    dotted.unlink()
    plain.unlink()
    del env["VIRTUAL_ENV"]
    path, rule = resolve_interpreter(project, None, env)
    assert rule == "python3" and os.path.basename(path) == "python3"


def test_bare_command_names_stay_commands(tmp_path: Path) -> None:
    assert resolve_interpreter(tmp_path, "python3.12", {}) == ("python3.12", "option")


def test_windows_layout(tmp_path: Path) -> None:
    exe = _python(tmp_path / ".venv" / "Scripts" / "python.exe")
    assert resolve_interpreter(tmp_path, None, {}, windows=True) == (str(exe), ".venv")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
@pytest.mark.parametrize(
    "option", ["../../.venv/bin/python", "./tools/../bin/python", "bin//python"]
)
def test_a_relative_path_is_the_one_the_shim_spawns(tmp_path: Path, option: str) -> None:
    """A monorepo's `python: '../../.venv/bin/python'`: `wsside doctor` names the interpreter
    as the shim resolves it (node_shim/lib/interpreter.js, asked through node), not as
    `packages/web/../../.venv/bin/python`."""
    project = tmp_path / "packages" / "web"
    project.mkdir(parents=True)
    shim = REPO / "node_shim" / "lib" / "interpreter.js"
    script = (
        f"import {{ resolveInterpreter }} from {json.dumps(shim.as_uri())}\n"
        "console.log(resolveInterpreter(process.argv[1], process.argv[2], {}, false).python)"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, str(project), option],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    python, rule = resolve_interpreter(project, option, {})
    assert (python, rule) == (done.stdout.strip(), "option")
    assert ".." not in Path(python).parts and "//" not in python
