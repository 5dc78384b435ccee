"""The handler files imported in the Python the sidecar will run, when that is another one
than this doctor's (a wsside installed with pipx, the project's `.venv` for the sidecar).

`Project.handler_imports` asks that Python with `imports_in`, which runs `python -m
wsside.doctor.imports` (`imports.py`) there and reads its answer, or says plainly why it
could not. `same_python` tells whether two interpreter paths are one Python; the checks use
it too.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .imports import Imported

__all__ = ["HandlerImports", "imports_in", "same_python"]


@dataclass
class HandlerImports:
    """The handler files as imported by `python`; `said`: which Python that was, when not
    simply the sidecar's and this doctor's both (empty then)."""

    python: str
    results: list[Imported]
    said: str = ""
    # Why the sidecar's Python could not be asked (it lacks wsside, say), when it could not:
    # said once, in its own row, rather than beside every file.
    unasked: str = ""


def imports_in(
    python: str,
    handlers_dir: Path,
    *,
    files: int,
    timeout: float,
    root: Path,
    vite: bool,
    env: Mapping[str, str],
) -> list[Imported] | str:
    """The handler files of `handlers_dir` (`files` of them) imported by `python`
    (`doctor/imports.py`), or why not: as the sidecar imports them, in the project's folder
    `root` with the plugin's `env` option, and with `vite`, told that it is Vite's project
    (its folder, after the timeout)."""
    vite_root = [str(root)] if vite else []
    try:
        done = subprocess.run(
            [
                python,
                "-m",
                "wsside.doctor.imports",
                str(handlers_dir),
                f"{timeout}",
                *vite_root,
            ],
            capture_output=True,
            text=True,
            timeout=timeout * (files + 1),
            cwd=root,
            env={**os.environ, **env},
        )
    except FileNotFoundError:
        return "it does not exist"
    except PermissionError:
        return "it is not executable"
    except subprocess.TimeoutExpired:
        return "it did not answer in time"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return _why_not(done.stderr)
    try:
        return [Imported.from_json(r) for r in json.loads(lines[-1])["results"]]
    except (ValueError, KeyError, TypeError):
        return f"an answer that is not wsside's: {lines[-1][:80]}"


def _why_not(stderr: str) -> str:
    """The cause of a failed `python -m wsside.doctor.imports`, plainly: Python's own words
    for a missing module name the module spec it was finding, which is this doctor's detail."""
    said = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not said:
        return "no output"
    if any("No module named 'wsside'" in line or "No module named wsside" in line for line in said):
        return "it has no wsside installed"
    if any("No module named wsside.doctor" in line or "'wsside.doctor" in line for line in said):
        return "its wsside is older than this doctor's (it has no wsside.doctor.imports)"
    # A traceback's last line is its error; anything else (a shell's or a shim's message)
    # says what went wrong first.
    return said[-1] if said[0].startswith("Traceback") else said[0]


def same_python(a: str, b: str) -> bool:
    """The same interpreter in the same environment: the same path, or two names for it in
    one folder (`.venv/bin/python`, `.venv/bin/python3`). Not the same file alone: a venv's
    python is a link to the base interpreter, with other packages."""
    a, b = os.path.abspath(a), os.path.abspath(b)
    if a == b:
        return True
    try:
        return os.path.dirname(a) == os.path.dirname(b) and os.path.samefile(a, b)
    except OSError:
        return False
