"""The interpreter rules: one data file shared with the shim, applied in order."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from wsside._edge.interpreter import resolve_interpreter

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


def test_a_monorepo_s_dotvenv_at_the_repository_root_is_found(tmp_path: Path) -> None:
    """vite.config in `packages/web`, the venv at the git repository's root (uv's and
    Poetry's place in a workspace): found after VIRTUAL_ENV, before python3; a folder above
    the repository, or a project that is the repository's root, is not searched."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    project = tmp_path / "repo" / "packages" / "web"
    project.mkdir(parents=True)
    above = _python(tmp_path / ".venv" / "bin" / "python")  # outside the repository
    env = {"PATH": os.defpath}
    assert resolve_interpreter(project, None, env)[1] == "python3"
    venv = _python(tmp_path / "repo" / ".venv" / "bin" / "python")
    assert resolve_interpreter(project, None, env) == (str(venv), "repository .venv")
    active = _python(tmp_path / "active" / "bin" / "python")
    env["VIRTUAL_ENV"] = str(active.parent.parent)
    assert resolve_interpreter(project, None, env) == (str(active), "VIRTUAL_ENV")
    del env["VIRTUAL_ENV"]
    # a worktree's .git is a file; the nearest one is the repository
    (project / ".git").write_text("gitdir: /elsewhere\n")
    assert resolve_interpreter(project, None, env)[1] == "python3"
    assert above.is_file()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_shim_finds_the_same_repository_dotvenv(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    project = tmp_path / "packages" / "web"
    project.mkdir(parents=True)
    venv = _python(tmp_path / ".venv" / "bin" / "python")
    shim = REPO / "node_shim" / "lib" / "interpreter.js"
    script = (
        f"import {{ resolveInterpreter }} from {json.dumps(shim.as_uri())}\n"
        "const r = resolveInterpreter(process.argv[1], undefined, {}, false)\n"
        "console.log(JSON.stringify([r.python, r.rule, r.chosenBy]))"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, str(project)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    python, rule, chosen_by = json.loads(done.stdout)
    assert (
        (python, rule) == resolve_interpreter(project, None, {}) == (str(venv), "repository .venv")
    )
    assert chosen_by == ".venv at the root of the git repository vite.config is in"
