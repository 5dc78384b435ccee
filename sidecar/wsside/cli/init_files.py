"""The files `wsside init` reads and writes: each checked first, written last.

Steps only read and check; their writes wait until every step has checked the files it will
read and write, so a project with a file init cannot use (a folder where a file goes, a file
that is not UTF-8 or is read-only) is left as it was, and one line names that file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .._runtime.config import not_utf8
from .._runtime.events import shown

__all__ = [
    "CannotInit",
    "Outcome",
    "append_lines",
    "check_editable",
    "check_new",
    "in_the_way",
    "read_text",
    "write_new",
]


class CannotInit(Exception):
    """A file `init` must read or write cannot be used: the message names it, says what is
    wrong and what to do, in one line."""


@dataclass
class Outcome:
    """What `init` did, and what is left for the user (each entry may span several lines).
    `writes` are the steps' writes, in order, made once every step has checked its files;
    `backups` the copies they will make of files they edit (kept out of git)."""

    done: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    writes: list[Callable[[], None]] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)


def write_new(path: Path, text: str, out: Outcome) -> None:
    """Write `text` to the new file `path` (and its folder) with the other steps' writes."""
    check_new(path)

    def write() -> None:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")

    out.writes.append(write)


def check_new(path: Path) -> None:
    """CannotInit unless `path` can be created: nothing is there, its folder is a folder (or
    is absent, to be created) and the nearest existing one may be written in."""
    if os.path.lexists(path):
        raise CannotInit(in_the_way(path, "file"))
    folder = path.parent
    if os.path.lexists(folder) and not folder.is_dir():
        raise CannotInit(in_the_way(folder, "folder"))
    while not folder.is_dir():
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        raise CannotInit(f"cannot create {shown(path)}: no permission to write in {folder}")


def check_editable(path: Path) -> None:
    """CannotInit unless the existing file `path` may be written."""
    if not os.access(path, os.W_OK):
        raise CannotInit(
            f"cannot write {shown(path)}: permission denied; make it writable, then run "
            "wsside init again"
        )


def in_the_way(path: Path, wanted: str) -> str:
    """Why `path` cannot be used as a `wanted` ("file" or "folder"), and what to do."""
    if path.is_symlink() and not path.exists():
        kind = "a broken link"
    else:
        kind = "a folder" if path.is_dir() else "a file" if path.is_file() else "a special file"
    return f"{shown(path)} is {kind}, not a {wanted}: move it away, then run wsside init again"


def read_text(path: Path) -> str:
    """The text of `path`, or CannotInit naming it and what keeps it from being read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem, _ = not_utf8(exc)
        raise CannotInit(
            f"cannot read {shown(path)}: {problem}, then run wsside init again"
        ) from None
    except OSError as exc:
        raise CannotInit(f"cannot read {shown(path)}: {exc.strerror}") from None


def append_lines(path: Path, text: str, lines: list[str], out: Outcome) -> None:
    """Check `path` (an ignore file whose text is `text`, "" when there is none) for writing,
    and queue `lines` added at its end, in the line ends it uses."""
    exists = os.path.lexists(path)
    if exists:
        check_editable(path)
    else:
        check_new(path)
    # read_text reads \r\n as \n: the bytes say which line ends the file uses
    newline = "\r\n" if exists and b"\r\n" in path.read_bytes() else "\n"
    lead = "" if not text or text.endswith("\n") else newline
    added = lead + newline.join(lines) + newline

    def write() -> None:
        with path.open("a", encoding="utf-8", newline="") as f:
            f.write(added)

    out.writes.append(write)
