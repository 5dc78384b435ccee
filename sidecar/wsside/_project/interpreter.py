"""Which Python interpreter the Vite shim runs the sidecar with.

The rules live in one data file, `node_shim/interpreter-rules.json`, which the shim interprets
in JavaScript and this module interprets for `wsside doctor`: both sides always agree. The
shim needs it before any Python runs, so the npm package holds the file; in the repository the
Python package's `interpreter-rules.json` is a symbolic link to it, which building the sdist
and the wheel turns into a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TypedDict

__all__ = ["Rule", "resolve_interpreter", "rules", "venv_option_above"]


class _Named(TypedDict):
    name: str
    kind: str


class Rule(_Named, total=False):
    """One record of the data file; which keys it has depends on its `kind`."""

    var: str
    path: str
    windows: str
    command: str


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    """The ordered resolution rules, as records of the data file."""
    text = resources.files("wsside").joinpath("interpreter-rules.json").read_text("utf-8")
    return tuple(json.loads(text)["rules"])


def resolve_interpreter(
    project_root: str | os.PathLike[str],
    python_option: str | None = None,
    env: Mapping[str, str] = os.environ,
    *,
    windows: bool = sys.platform == "win32",
) -> tuple[str, str]:
    """`(interpreter, rule name)` the shim would use for a project whose `vite.config` lives
    in `project_root`, given the plugin's `python` option and the environment.

    Relative paths from the option or a variable are taken relative to `project_root`, as
    the shim does. The last rule (a command name) always applies, resolved on PATH when it
    can be found there.
    """
    root = Path(project_root)
    for rule in rules():
        found = _apply(rule, root, python_option, env, windows)
        if found:
            return found, rule["name"]
    raise LookupError("interpreter-rules.json has no rule that always applies")


def _apply(
    rule: Rule, root: Path, option: str | None, env: Mapping[str, str], windows: bool
) -> str | None:
    kind = rule["kind"]
    if kind == "option":
        return _absolute(root, option) if option else None
    if kind == "env":
        value = env.get(rule["var"], "")
        return _absolute(root, value) if value else None
    if kind == "project_file":
        candidate = root / _path(rule, windows)
        return str(candidate) if candidate.is_file() else None
    if kind == "env_dir_file":
        folder = env.get(rule["var"], "")
        if not folder:
            return None
        candidate = Path(folder) / _path(rule, windows)
        return str(candidate) if candidate.is_file() else None
    if kind == "command":
        command: str = rule.get("windows", rule["command"]) if windows else rule["command"]
        return shutil.which(command, path=env.get("PATH")) or command
    raise ValueError(f"interpreter-rules.json: unknown rule kind {kind!r} in {rule['name']!r}")


def _path(rule: Rule, windows: bool) -> str:
    return rule.get("windows", rule["path"]) if windows else rule["path"]


def _absolute(root: Path, value: str) -> str:
    # A bare command name ("python3.12") stays a command; anything with a slash is a path,
    # normalised as the shim's path.resolve does (`app/../../.venv/bin/python` is
    # `.venv/bin/python` of the folder above), so that both name the same file the same way.
    if os.sep not in value and "/" not in value:
        return value
    return os.path.normpath(root / value)


def venv_option_above(root: Path) -> str | None:
    """This Python's virtualenv when it sits in a folder above the project `root` (a monorepo's
    root `.venv`, which no rule finds: they look beside vite.config), as the plugin's `python`
    option relative to `root` (`../../.venv/bin/python`); else None. Also None when the
    virtualenv the rules find beside vite.config is this one: a `.venv` that links to it
    (`.venv -> ../venv`) needs no option, wherever the link leads."""
    if sys.prefix == sys.base_prefix or _beside_is_this_venv(root):
        return None
    venv, project = Path(sys.prefix).resolve(), root.resolve()
    if venv.parent == project:
        return None
    if not project.is_relative_to(venv.parent) or project.is_relative_to(venv):
        return None
    return Path(os.path.relpath(venv / "bin" / "python", project)).as_posix()


def _beside_is_this_venv(root: Path, *, windows: bool = sys.platform == "win32") -> bool:
    """Whether the first virtualenv beside vite.config that the rules find (`.venv`, else
    `venv`) is the folder of this Python's virtualenv, symbolic links followed on both sides
    only to compare: the interpreter reached through `.venv/bin/python` is the one found."""
    for rule in rules():
        if rule["kind"] != "project_file":
            continue
        python = root / _path(rule, windows)
        if python.is_file():
            try:
                return python.parent.parent.samefile(sys.prefix)
            except OSError:
                return False
    return False
