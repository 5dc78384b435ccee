"""`wsside doctor` and a .venv beside vite.config whose interpreter link is broken (the base
Python was removed), passed by for a python3 on PATH that has wsside: the sidecar runs, without
the .venv's packages. The interpreter row warns, naming the .venv and how to make it again, as
Vite's terminal does at start (tests/shim/broken-venv-fallback.test.js). Real doctor."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from doctor_projects import SIMPLE_VITE_CONFIG, VENV_PYTHON, env_for, one, run_doctor, write

CHAT = "from wsside import Handler\nchat = Handler('/ws/chat')\n"


def broken_venv_project(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, str]]:
    """A project whose .venv/bin/python links to a Python that is gone, the missing path, the
    python3 on PATH (the tests' Python, which has wsside) and the environment to run in."""
    root = write(tmp_path / "app", {"vite.config.js": SIMPLE_VITE_CONFIG, "ws/chat.py": CHAT})
    bin_folder = root / ".venv" / "bin"
    bin_folder.mkdir(parents=True)
    gone = tmp_path / "removed" / "python3.12"
    (bin_folder / "python3.12").symlink_to(gone)
    (bin_folder / "python").symlink_to("python3.12")
    shims = tmp_path / "shims"
    python3 = write(shims, {"python3": f'#!/bin/sh\nexec "{VENV_PYTHON}" "$@"\n'}) / "python3"
    python3.chmod(python3.stat().st_mode | stat.S_IXUSR)
    env = env_for()
    del env["WSSIDE_PYTHON"]
    env["PATH"] = f"{shims}{os.pathsep}{os.environ['PATH']}"
    return root, gone, python3, env


def test_a_broken_venv_passed_by_for_python3_with_wsside_is_a_warning(tmp_path: Path) -> None:
    root, gone, python3, env = broken_venv_project(tmp_path)
    _, report = run_doctor(root, "--no-live", env=env)
    check = one(report, "interpreter")
    assert check["status"] == "warn", check
    assert check["message"].startswith(f"{python3} (python3 on PATH): Python "), check
    assert check["message"].endswith(
        ", which does not see the packages installed in .venv: the .venv beside vite.config is "
        f"there, but its interpreter is gone: .venv/bin/python links to {gone}, which does not "
        "exist, so the plugin passed it by"
    ), check
    prefix = "make it again, then install wsside and the packages it had: `"
    assert check["fix"].startswith(prefix) and check["fix"].endswith("`"), check
    make, install = check["fix"][len(prefix) : -1].split(" && ")
    folder = root / ".venv"
    assert shlex.split(make) == ["python3", "-m", "venv", "--clear", str(folder)]
    assert shlex.split(install)[:4] == [str(folder / "bin" / "python"), "-m", "pip", "install"]


def test_a_broken_venv_is_not_named_when_wsside_python_chose_the_interpreter(
    tmp_path: Path,
) -> None:
    root, _, python3, env = broken_venv_project(tmp_path)
    _, report = run_doctor(root, "--no-live", env={**env, "WSSIDE_PYTHON": str(python3)})
    check = one(report, "interpreter")
    assert check["status"] == "pass", check
    assert "interpreter is gone" not in check["message"], check
