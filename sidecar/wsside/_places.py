"""How reports name a file, the place a function was written, and what keeps a file from
being read: one spelling for the declarations (`handler.py`'s errors) and every layer above
(`_runtime/events.py` re-exports `shown`)."""

from __future__ import annotations

import errno
import inspect
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["NotAFile", "folder_problem", "not_a_file", "place", "shown"]


def shown(file: str | os.PathLike[str]) -> str:
    """A file as report lines name it: relative to the current folder when inside it."""
    path, here = Path(file), Path.cwd()
    return str(path.relative_to(here) if path.is_relative_to(here) else path)


def place(fn: Callable[..., Any]) -> str:
    """Where a function was defined, `ws/chat.py:12` (its repr when it has no code)."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return repr(fn) if code is None else f"{shown(code.co_filename)}:{code.co_firstlineno}"


@dataclass(frozen=True)
class NotAFile:
    """What stands where a file to read was expected: nothing (`missing`), a symlink to
    nothing (`dangling`) or back to itself (`loop`), a `folder`, a `special` file, or what
    cannot be reached for another reason (`error`). `target`: the symlink's target when one
    could not be followed; `detail`: the system's words for why not, or which special file
    it is (a named pipe, a socket, a device)."""

    kind: Literal["missing", "dangling", "loop", "folder", "special", "error"]
    target: str | None = None
    detail: str = ""


def not_a_file(path: Path) -> NotAFile | None:
    """What keeps `path` from being read as a regular file, or None when it is one (or a
    symlink to one); a regular file may still refuse to be opened (its permissions)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if not path.is_symlink():
            return NotAFile("missing" if not os.path.lexists(path) else "error", None, reason)
        target = os.readlink(path)
        if exc.errno == errno.ENOENT:
            return NotAFile("dangling", target, reason)
        if exc.errno == errno.ELOOP:
            return NotAFile("loop", target, reason)
        return NotAFile("error", target, reason)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return NotAFile("folder")
    if stat.S_ISFIFO(mode):
        return NotAFile("special", detail="a named pipe")
    return NotAFile("special", detail="a socket" if stat.S_ISSOCK(mode) else "a device")


def folder_problem(path: Path) -> str | None:
    """What keeps `path` from being used as a folder, or None when it is one."""
    if path.is_dir():
        try:  # listed (read permission), and an entry looked at (search permission)
            with os.scandir(path) as entries:
                for entry in entries:
                    entry.stat(follow_symlinks=False)
                    break
        except OSError as exc:  # its files could not be listed, nor loaded
            return f"cannot be read ({exc.strerror or exc})"
        return None
    return "is a file, not a folder" if path.exists() else "no such folder"
