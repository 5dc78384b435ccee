"""Python side: this interpreter and its packages, and the interpreter the shim would spawn."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .. import __version__
from .._install import pip_install, venv_config, wsside_requirement
from .._project.interpreter import rules, venv_option_above
from .checks_process import running_sidecars
from .model import Check, failed, passed, warned
from .project import Project
from .sidecar_imports import same_python

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
            pip_install(sys.executable, " ".join(missing)),
        )
    return passed("packages", ", ".join(found))


# Run by the candidate interpreter (any Python, 2.7 too): its version, then the wsside it sees.
_PROBE = "import sys; print(sys.version.split()[0]); import wsside; print(wsside.__version__)"
# The oldest Python wsside installs on: pyproject.toml's requires-python (tests/test_versions.py).
PYTHON_FLOOR = (3, 10)


def check_interpreter(project: Project) -> Check:
    """The interpreter the shim would spawn (same rules, `_project/interpreter.py`) can import the
    same wsside as this one."""
    path, rule = project.sidecar_python
    chosen = f"{path} ({_chosen_by(rule)})"
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
    if done.returncode != 0 and py == "?":
        # No version printed: the command itself did not run a Python (a pyenv shim of a
        # version not selected exits 127 with `pyenv: python3.10: command not found` first).
        return _unusable(
            project,
            path,
            f"{chosen} does not run: {_first_line(done.stderr)}",
            f"point {fix_where} at a Python that runs and has wsside installed, such as "
            f"{sys.executable}",
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1].strip()
        venv = _stale_venv(path, py) or _broken_venv(project.root, rule)
        if venv is not None:
            why, folder = venv
            return _unusable(
                project, path, f"{chosen} cannot import wsside: {last}; {why}", _remake(folder)
            )
        above = venv_option_above(project.root)
        fix = (
            f"set `python: '{above}'` in wsside() of vite.config (this doctor's virtualenv, "
            "which has wsside; the plugin looks beside vite.config), as Vite's message says"
            if above is not None and rule not in ("option", "WSSIDE_PYTHON")
            else f"`{pip_install(path, wsside_requirement())}`, or point {fix_where} at "
            f"{sys.executable}"
        )
        return _unusable(project, path, f"{chosen} cannot import wsside: {last}", fix)
    theirs = ([*done.stdout.split(), "?", "?"])[1]
    broken = _broken_venv(project.root, rule)
    if broken is not None:
        # It runs the sidecar, but the handlers' imports of what was installed there fail.
        why, folder = broken
        return warned(
            "interpreter",
            f"{chosen}: Python {py}, wsside {theirs}, which does not see the packages "
            f"installed in {Path(folder).name}: {why}",
            _remake(folder),
        )
    running = _running_sidecar_python(project)
    if running is not None and not same_python(running[1], path):
        vite, python = running
        return warned(
            "interpreter",
            f"{chosen}: Python {py}, wsside {theirs}, and the handler files were checked with "
            f"it; but the Vite running now (pid {vite}) runs its sidecar with {python}: its "
            "environment chooses another interpreter than this one, and what it imports may "
            "differ",
            f"check that one with WSSIDE_PYTHON={shlex.quote(python)} wsside doctor; to have "
            "every terminal agree, set the `python` option of wsside() in vite.config",
        )
    if theirs != __version__:
        own_doctor = f"{shlex.quote(path)} -m wsside doctor"
        if _release(theirs) > _release(__version__):  # installing this one would downgrade it
            fix = f"run that interpreter's own doctor, which is newer: `{own_doctor}`"
        else:
            fix = f"`{pip_install(path, '-U ' + wsside_requirement())}` (or run `{own_doctor}`)"
        return warned(
            "interpreter",
            f"{chosen}: Python {py} with wsside {theirs}, but this doctor is wsside {__version__}",
            fix,
        )
    return passed("interpreter", f"{chosen}: Python {py}, wsside {theirs}")


_VENV_PYTHON = "Scripts/python.exe" if sys.platform == "win32" else "bin/python"


def _stale_venv(python: str, running: str) -> tuple[str, str] | None:
    """(why, its folder) when `python` is of a virtualenv whose pyvenv.cfg says it was made
    with another major.minor than the Python it runs now (`running`: the base Python it links
    to was upgraded), so its packages sit in another lib/pythonX.Y; else None. As the
    shim's `staleVenv` says it."""
    if os.sep not in python and "/" not in python:
        return None
    found = venv_config(python)
    if found is None:
        return None
    folder, values = found
    key = next((k for k in ("version", "version_info") if k in values), None)
    if key is None:
        return None
    made = ".".join(values[key].split(".")[:2])
    now = ".".join(running.split(".")[:2])
    if not made.replace(".", "").isdigit() or made == now:
        return None
    return (
        f"its virtualenv, {folder}, was made with Python {made} (its pyvenv.cfg says "
        f"{key} = {values[key]}), but its interpreter now runs Python {now}, so the "
        f"packages installed for {made} are not seen",
        str(folder),
    )


def _broken_venv(root: Path, chosen: str) -> tuple[str, str] | None:
    """(why, its folder) for a virtualenv beside vite.config that the rules passed by before
    the `chosen` one because its interpreter is a broken symbolic link (the base Python it was
    made with was removed); else None. As the shim's `brokenVenv` says it."""
    windows = sys.platform == "win32"
    for rule in rules():
        if rule["name"] == chosen:
            return None
        if rule["kind"] != "project_file":
            continue
        relative = rule.get("windows", rule["path"]) if windows else rule["path"]
        file = root / relative
        if not file.is_symlink() or file.exists():
            continue
        target = _missing_end(file)
        return (
            f"the {rule['name']} beside vite.config is there, but its interpreter is gone: "
            f"{relative} links to {target}, which does not exist, so the plugin passed it by",
            str(root / relative.split("/")[0]),
        )
    return None


def _remake(folder: str) -> str:
    """The fix for a virtualenv in `folder` that cannot serve: made again, with wsside."""
    return (
        "make it again, then install wsside and the packages it had: "
        f"`{_default_command()} -m venv --clear {shlex.quote(folder)} && "
        f"{shlex.quote(str(Path(folder) / _VENV_PYTHON))} -m pip install {wsside_requirement()}`"
    )


def _missing_end(link: Path) -> str:
    """Where the symbolic link `link` ends up: the first path of its chain that is missing."""
    current = str(link)
    for _ in range(40):
        try:
            target = os.readlink(current)
        except OSError:
            return current
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
    return current


def _default_command() -> str:
    """The command of the rules' last resort (python3; python on Windows)."""
    rule = next((r for r in rules() if r["kind"] == "command"), None)
    if rule is None:
        return "python3"
    return rule.get("windows", rule["command"]) if sys.platform == "win32" else rule["command"]


def _chosen_by(name: str) -> str:
    """What chose the interpreter, in words, from the name of its rule in
    interpreter-rules.json (as the shim's `chosenBy` says it in Vite's terminal)."""
    rule = next((r for r in rules() if r["name"] == name), None)
    if rule is None:
        return name  # `wsside serve`: no rule of the plugin's
    kind = rule["kind"]
    if kind == "option":
        return "the `python` option in vite.config"
    if kind == "env":
        return f"the {rule['var']} variable"
    if kind == "project_file":
        return f"the {name} beside vite.config"
    if kind == "env_dir_file":
        return f"the active virtualenv, {rule['var']}"
    windows = sys.platform == "win32"
    return f"{rule.get('windows', rule['command']) if windows else rule['command']} on PATH"


def _first_line(stderr: str) -> str:
    """The first non-empty line of a failed command's stderr, which names the cause (the last
    one of a shim's message is often the tail of a sentence)."""
    return next((line.strip() for line in stderr.splitlines() if line.strip()), "no output")


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
    if running is None or same_python(running[1], path):
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
    for sidecar in running_sidecars(project):
        if sidecar.parent is not None and sidecar.python:
            return sidecar.parent, sidecar.python
    return None


def _release(version: str) -> tuple[int, ...]:
    """`0.2.0` as (0, 2, 0), for comparing two releases; what follows the numbers (`rc1`,
    `.dev3`) is left out."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])
