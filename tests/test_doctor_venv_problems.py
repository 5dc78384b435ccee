"""`wsside doctor` and a .venv beside vite.config that cannot give the sidecar wsside although
it was made for it: its interpreter is a broken link (the base Python was removed), or its base
Python moved to another minor version (its packages are in the old lib/pythonX.Y). The
interpreter row says which, and the fix makes it again, as Vite's report does
(tests/shim/venv_problems.test.js). A uv virtualenv's fix: tests/test_missing_module_uv.py.
Real virtual environments, a real doctor."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from doctor_projects import SIMPLE_VITE_CONFIG, VENV_PYTHON, env_for, one, run_doctor, write

CHAT = "from wsside import Handler\nchat = Handler('/ws/chat')\n"


def project(root: Path) -> Path:
    return write(root, {"vite.config.js": SIMPLE_VITE_CONFIG, "ws/chat.py": CHAT})


def plugin_env(**extra: str) -> dict[str, str]:
    """A terminal with no WSSIDE_PYTHON and no active virtualenv: the rules choose."""
    env = env_for()
    del env["WSSIDE_PYTHON"]
    return {**env, **extra}


def test_a_venv_whose_interpreter_link_is_broken_is_named_with_the_way_to_make_it_again(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "app")
    folder = root / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)
    # Its base Python removed: python -> python3.12 -> a path that is gone.
    gone = tmp_path / "removed" / "python3.12"
    for link in (folder / "bin").glob("python*"):
        link.unlink()
    (folder / "bin" / "python3.12").symlink_to(gone)
    (folder / "bin" / "python").symlink_to("python3.12")
    # python3 on PATH, which the rules fall back to, lacks wsside.
    shims = tmp_path / "shims"
    python3 = write(shims, {"python3": f'#!/bin/sh\nexec "{VENV_PYTHON}" -S "$@"\n'}) / "python3"
    python3.chmod(python3.stat().st_mode | stat.S_IXUSR)
    env = plugin_env(PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
    code, report = run_doctor(root, "--no-live", env=env)
    check = one(report, "interpreter")
    assert code == 1 and check["status"] == "fail", check
    assert check["message"] == (
        f"{python3} (python3 on PATH) cannot import wsside: ModuleNotFoundError: No module named "
        "'wsside'; the .venv beside vite.config is there, but its interpreter is gone: "
        f".venv/bin/python links to {gone}, which does not exist, so the plugin passed it by"
    ), check
    prefix = "make it again, then install wsside and the packages it had: `"
    assert check["fix"].startswith(prefix) and check["fix"].endswith("`"), check
    make, install = check["fix"][len(prefix) : -1].split(" && ")
    assert shlex.split(make) == ["python3", "-m", "venv", "--clear", str(folder)]
    assert shlex.split(install)[:4] == [str(folder / "bin" / "python"), "-m", "pip", "install"]


def test_a_broken_venv_is_not_named_when_wsside_python_chose_another(tmp_path: Path) -> None:
    """WSSIDE_PYTHON passed the .venv by, not its broken link: the usual row."""
    root = project(tmp_path / "app")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(tmp_path / "removed" / "python3.12")
    without = write(tmp_path / "shims", {"py": f'#!/bin/sh\nexec "{VENV_PYTHON}" -S "$@"\n'})
    python = without / "py"
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    _, report = run_doctor(root, "--no-live", env=plugin_env(WSSIDE_PYTHON=str(python)))
    check = one(report, "interpreter")
    assert check["status"] == "fail", check
    assert "interpreter is gone" not in check["message"] and "--clear" not in check["fix"], check


def _other_python(than: tuple[int, int]) -> str | None:
    """A real Python 3.10 or later of another minor version than `than`: its executable."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    names = [f"python3.{minor}" for minor in (13, 12, 11, 10, 14)]
    candidates = [shutil.which(name) for name in names]
    if pyenv.is_dir():
        candidates += [str(p / "bin" / "python3") for p in sorted(pyenv.iterdir())]
    for python in filter(None, candidates):
        try:
            done = subprocess.run(
                [python, "-c", "import sys; print(sys.executable); print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        lines = done.stdout.split("\n")
        if done.returncode == 0 and len(lines) > 1:
            version = tuple(int(part) for part in lines[1].strip("()").split(", "))
            if version != than and version >= (3, 10) and version[0] == 3:
                return lines[0]
    return None


OTHER = _other_python(sys.version_info[:2])


@pytest.mark.skipif(OTHER is None, reason="no second Python 3.10 or later here")
def test_a_venv_whose_base_python_moved_to_another_minor_version_is_said_so(
    tmp_path: Path,
) -> None:
    assert OTHER is not None
    root = project(tmp_path / "app")
    folder = root / ".venv"
    # Made from a `python3` link, as a system's is, that points at this Python's base ...
    links = tmp_path / "links"
    links.mkdir()
    (links / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    subprocess.run(
        [links / "python3", "-m", "venv", "--without-pip", folder], check=True, timeout=60
    )
    python = folder / "bin" / "python"
    # ... with wsside in its site-packages (this Python's, through a .pth file) ...
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    mine = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "wsside-test.pth").write_text(
        f"import site; site.addsitedir({mine!r})\n", encoding="utf-8"
    )
    subprocess.run([python, "-c", "import wsside"], check=True, timeout=30)
    # ... then the link repointed, as an upgrade of the system's Python does.
    (links / "python3").unlink()
    (links / "python3").symlink_to(OTHER)
    now = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    made = ".".join(map(str, sys.version_info[:2]))
    full = ".".join(map(str, sys.version_info[:3]))
    code, report = run_doctor(root, "--no-live", env=plugin_env())
    check = one(report, "interpreter")
    assert code == 1 and check["status"] == "fail", check
    assert check["message"] == (
        f"{python} (the .venv beside vite.config) cannot import wsside: ModuleNotFoundError: "
        f"No module named 'wsside'; its virtualenv, {folder}, was made with Python {made} (its "
        f"pyvenv.cfg says version = {full}), but its interpreter now runs Python {now}, so the "
        f"packages installed for {made} are not seen"
    ), check
    assert check["fix"].startswith(
        "make it again, then install wsside and the packages it had: "
        f"`python3 -m venv --clear {folder} && {python} -m pip install "
    ), check
