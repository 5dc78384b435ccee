"""`wsside doctor` and the interpreters around a project: a command that runs no Python (a
pyenv shim of a version not selected), a sidecar's Python that lacks wsside, a running Vite
whose sidecar runs another Python than the one checked, and a doctor whose own Python lacks
what a handler imports. Real processes, real virtual environments, a real Vite."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from doctor_projects import (
    SIMPLE_VITE_CONFIG,
    VENV_PYTHON,
    env_for,
    free_port,
    link_modules,
    one,
    run_doctor,
    start_vite,
    vite_modules,
    write,
)
from test_doctor import python_with_this_wsside

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

CHAT = "from wsside import Handler\nchat = Handler('/ws/chat')\n"

# What a pyenv shim prints when its command exists only in a version not selected.
PYENV_SHIM = """\
#!/bin/sh
echo "pyenv: python3.10: command not found" >&2
echo "" >&2
echo "The \\`python3.10' command exists in these Python versions:" >&2
echo "  3.10.14" >&2
echo "" >&2
echo "Note: See 'pyenv help global' for tips on allowing both" >&2
echo "      Python versions to be found at the same time." >&2
exit 127
"""


def project(root: Path, **files: str) -> Path:
    return write(root, {"vite.config.js": SIMPLE_VITE_CONFIG, "ws/chat.py": CHAT, **files})


def test_a_command_that_runs_no_python_is_named_by_its_first_line(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    shim = write(shims, {"python3.10": PYENV_SHIM}) / "python3.10"  # on PATH, by name
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    root = project(tmp_path / "app")
    env = env_for(WSSIDE_PYTHON="python3.10", PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
    code, report = run_doctor(root, "--no-live", env=env)
    check = one(report, "interpreter")
    assert code == 1 and check["status"] == "fail", check
    assert check["message"] == (
        "python3.10 (the WSSIDE_PYTHON variable) does not run: pyenv: python3.10: command not found"
    )
    assert "pip install" not in check["fix"]
    assert check["fix"] == (
        "point the WSSIDE_PYTHON variable at a Python that runs and has wsside installed, "
        f"such as {VENV_PYTHON}"
    )
    # The handler files were imported here instead, and why is the shim's first line too.
    assert one(report, "handler imports")["message"].endswith(
        "the sidecar will run python3.10, which could not be asked: "
        "pyenv: python3.10: command not found"
    )


def test_the_interpreter_found_on_path_is_said_so_in_plain_words(tmp_path: Path) -> None:
    """No option, variable or virtualenv names one: the plugin runs `python3` from PATH, and
    the row says so (not the rule's name from interpreter-rules.json)."""
    shims = tmp_path / "shims"
    python3 = write(shims, {"python3": f'#!/bin/sh\nexec "{VENV_PYTHON}" "$@"\n'}) / "python3"
    python3.chmod(python3.stat().st_mode | stat.S_IXUSR)
    root = project(tmp_path / "app")
    env = env_for(PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
    del env["WSSIDE_PYTHON"]
    _, report = run_doctor(root, "--no-live", env=env)
    check = one(report, "interpreter")
    assert check["status"] == "pass", check
    assert check["message"].startswith(f"{python3} (python3 on PATH): Python "), check


@pytest.mark.slow
def test_a_running_sidecar_on_another_python_than_the_one_checked_is_named(
    tmp_path: Path, vite_modules: Path
) -> None:
    """Vite started with WSSIDE_PYTHON naming another venv, while the project's .venv (which
    the doctor's environment chooses) works: the handler imports in .venv, not in the
    running sidecar's Python, and the doctor says which one it checked and names the other."""
    root = project(tmp_path / "app", **{"ws/chat.py": "import only_in_dot_venv\n" + CHAT})
    link_modules(root, vite_modules)
    mine = python_with_this_wsside(root / ".venv", only_in_dot_venv="")
    other = python_with_this_wsside(tmp_path / "other")
    for vite in start_vite(root, free_port(), env_for(WSSIDE_PYTHON=str(other))):
        env = env_for()
        del env["WSSIDE_PYTHON"]
        _, report = run_doctor(root, env=env)
        check = one(report, "interpreter")
        assert check["status"] == "warn", check
        assert check["message"].startswith(f"{mine} (the .venv beside vite.config): Python ")
        assert check["message"].endswith(
            f"and the handler files were checked with it; but the Vite running now (pid "
            f"{vite.pid}) runs its sidecar with {other}: its environment chooses another "
            "interpreter than this one, and what it imports may differ"
        ), check
        assert check["fix"].startswith(f"check that one with WSSIDE_PYTHON={other} wsside doctor")
        chat = one(report, "handler ws/chat.py")
        assert chat["message"] == (
            f"imports: /ws/chat (imported with {mine}; the Vite running now (pid {vite.pid}) "
            f"runs its sidecar with {other}: see the interpreter check)"
        ), chat


@pytest.mark.slow
def test_a_handler_only_the_sidecar_s_python_imports_says_what_was_not_checked(
    tmp_path: Path, vite_modules: Path
) -> None:
    """The doctor runs on another Python than the project's .venv (pipx-style) and lacks a
    module a handler imports: the file imports where the sidecar runs, and the patterns row
    says that its patterns were not checked here and that its endpoint was not probed, rather
    than `0 pattern(s)` and no probe rows at all."""
    root = project(tmp_path / "app", **{"ws/chat.py": "import only_in_dot_venv\n" + CHAT})
    link_modules(root, vite_modules)
    mine = python_with_this_wsside(root / ".venv", only_in_dot_venv="")
    env = env_for()
    del env["WSSIDE_PYTHON"]
    for _ in start_vite(root, free_port(), env):
        _, report = run_doctor(root, env=env)
        chat = one(report, "handler ws/chat.py")
        assert chat["status"] == "pass", chat
        patterns = one(report, "patterns")
        assert patterns["status"] == "warn", patterns
        assert patterns["message"] == (
            f"ws/chat.py imports with {mine}, the Python the sidecar will run, but not in this "
            f"doctor's Python, {VENV_PYTHON} (ModuleNotFoundError: No module named "
            "'only_in_dot_venv'): its patterns were not checked for duplicates or shadowing, "
            "and the live probes skipped its endpoints"
        )
        assert (
            patterns["fix"] == f"run the doctor of the sidecar's Python: `{mine} -m wsside doctor`"
        )
        assert one(report, "dev server")["status"] == "pass"
        assert not [c for c in report["checks"] if c["name"].startswith("live")]
