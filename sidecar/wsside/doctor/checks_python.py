"""Python side: this interpreter and its packages, and the interpreter the shim would spawn."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psutil

from .. import __version__
from .._edge.interpreter import venv_option_above
from .checks_process import find_sidecars
from .model import Check, failed, passed, warned
from .project import Project

__all__ = ["check_interpreter", "check_packages", "check_python"]

_REQUIRED = ("aiohttp", "watchdog", "psutil", "typer")


def check_python(project: Project) -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return passed("python", f"Python {version} ({sys.executable})")


def check_packages(project: Project) -> Check:
    found, missing = [f"wsside {__version__}"], []
    for name in _REQUIRED:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return failed(
            "packages",
            "missing: " + ", ".join(missing),
            f"{shlex.quote(sys.executable)} -m pip install " + " ".join(missing),
        )
    return passed("packages", ", ".join(found))


# Run by the candidate interpreter (any Python, 2.7 too): its version, then the wsside it sees.
_PROBE = "import sys; print(sys.version.split()[0]); import wsside; print(wsside.__version__)"
# The oldest Python wsside installs on: pyproject.toml's requires-python (tests/test_versions.py).
PYTHON_FLOOR = (3, 10)


def check_interpreter(project: Project) -> Check:
    """The interpreter the shim would spawn (same rules, `_edge/interpreter.py`) can import the
    same wsside as this one."""
    path, rule = project.sidecar_python
    chosen = f"{path} (rule {rule})"
    fix_where = {
        "option": "the `python` option of wsside() in vite.config",
        "WSSIDE_PYTHON": "the WSSIDE_PYTHON variable",
    }.get(rule, "WSSIDE_PYTHON or the plugin's `python` option")
    try:
        done = subprocess.run(
            [path, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=project.timeout,
            cwd=project.root,
        )
    except FileNotFoundError:
        return _unusable(
            project,
            path,
            f"{chosen} does not exist",
            f"point {fix_where} at a Python that has wsside installed",
        )
    except PermissionError:
        return _unusable(
            project,
            path,
            f"{chosen} is not executable",
            f"point {fix_where} at a Python that has wsside installed",
        )
    except subprocess.TimeoutExpired:
        return failed(
            "interpreter",
            f"{chosen} did not answer within {project.timeout:g} s",
            f"check that `{shlex.quote(path)} -c 'import wsside'` works",
        )
    py = (done.stdout.split() or ["?"])[0]
    if _older_than_floor(py):
        floor = ".".join(map(str, PYTHON_FLOOR))
        return _unusable(
            project,
            path,
            f"{chosen} is Python {py}, and wsside needs Python {floor} or later",
            f"point {fix_where} at a Python {floor} or later that has wsside installed, "
            f"such as {sys.executable}",
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        above = venv_option_above(project.root)
        fix = (
            f"set `python: '{above}'` in wsside() of vite.config (this doctor's virtualenv, "
            "which has wsside; the plugin looks beside vite.config), as Vite's message says"
            if above is not None and rule not in ("option", "WSSIDE_PYTHON")
            else f"`{shlex.quote(path)} -m pip install {_this_wsside()}`, or point {fix_where} "
            f"at {sys.executable}"
        )
        return _unusable(project, path, f"{chosen} cannot import wsside: {last}", fix)
    theirs = ([*done.stdout.split(), "?", "?"])[1]
    if theirs != __version__:
        return warned(
            "interpreter",
            f"{chosen}: Python {py} with wsside {theirs}, but this doctor is wsside {__version__}",
            f"`{shlex.quote(path)} -m pip install -U {_this_wsside()}` (or run that "
            "interpreter's `wsside doctor`)",
        )
    return passed("interpreter", f"{chosen}: Python {py}, wsside {theirs}")


def _older_than_floor(version: str) -> bool:
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < PYTHON_FLOOR


def _unusable(project: Project, path: str, problem: str, fix: str) -> Check:
    """The interpreter this environment would give the plugin cannot run the sidecar: a
    failure, unless a Vite of this project runs now with a sidecar on another interpreter
    (its environment chose differently: WSSIDE_PYTHON set in that terminal only, say)."""
    running = _running_sidecar_python(project)
    if running is None or running[1] == path:
        return failed("interpreter", problem, fix)
    vite, python = running
    return warned(
        "interpreter",
        f"{problem}; the Vite running now (pid {vite}) runs its sidecar with {python}: "
        "its environment chooses another interpreter than this one",
        f"check that one with WSSIDE_PYTHON={shlex.quote(python)} wsside doctor; to have every "
        "terminal agree, set the `python` option of wsside() in vite.config",
    )


def _running_sidecar_python(project: Project) -> tuple[int, str] | None:
    """(Vite's pid, the interpreter as spawned) of a sidecar serving this project now."""
    root = project.root.resolve()
    for sidecar in find_sidecars():
        if sidecar.parent is None or sidecar.cwd is None or Path(sidecar.cwd).resolve() != root:
            continue
        try:
            # As the shim spawned it: exe() would resolve a venv's symlink to the base Python.
            return sidecar.parent, psutil.Process(sidecar.pid).cmdline()[0]
        except (psutil.Error, IndexError):
            continue
    return None


def _this_wsside() -> str:
    """What pip installs to get the wsside this doctor runs: its source folder when it came
    from one (`pip install -e /path/to/wsside`, as before a release is published), else the
    release of the same version."""
    try:
        origin = json.loads(metadata.distribution("wsside").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        origin = {}
    url = origin.get("url", "") if isinstance(origin, dict) else ""
    info = origin.get("dir_info") if isinstance(origin, dict) else None
    if isinstance(url, str) and url.startswith("file://") and isinstance(info, dict):
        folder = shlex.quote(unquote(urlsplit(url).path))
        return f"-e {folder}" if info.get("editable") is True else folder
    return f"wsside=={__version__}"
