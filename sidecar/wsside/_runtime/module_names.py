"""What a Python file of a handlers folder is to wsside, and the name it is loaded under.

A handler file is loaded by wsside, once, under a name of its own package
(`wsside_handlers.chat`), so that it never clashes with a module of the app. A helper
(`_shared.py`, `_lib/db.py`) is imported by the handler files themselves, by its bare name
(the handlers folder is on `sys.path`: `helper_path.py`). A test file beside them, named as
pytest names them (`test_chat.py`, `conftest.py`), is not loaded: to wsside it is a helper
that no handler file imports.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .._places import not_a_file

__all__ = [
    "HANDLERS_PACKAGE",
    "file_digest",
    "handler_files",
    "in_folder",
    "is_handler_file",
    "is_helper_file",
    "is_test_file",
    "module_name_for",
    "shown_module_name",
    "unreadable",
]

HANDLERS_PACKAGE = "wsside_handlers"  # what handler files' module names start with


def is_handler_file(relative: Path) -> bool:
    """A `.py` path (relative to the handlers folder) is a handler file unless a part of it
    starts with `_` (helpers, `__pycache__`) or `.` (hidden), or it is named as pytest names
    test files (`is_test_file`)."""
    return (
        relative.suffix == ".py"
        and not any(part.startswith(("_", ".")) for part in relative.parts)
        and not is_test_file(relative)
    )


def is_test_file(relative: Path) -> bool:
    """A `.py` file named as pytest's test files are, `test_*.py`, `*_test.py` or
    `conftest.py`: a test beside its handler file, never loaded by wsside (it imports pytest,
    which production need not have)."""
    name = relative.name
    return relative.suffix == ".py" and (
        name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")
    )


def handler_files(root: Path) -> list[Path]:
    """The handler files under `root`, in load order. `_name.py` files are helpers, not handlers."""
    if not root.is_dir():
        return []
    return sorted(
        (p for p in root.rglob("*.py") if is_handler_file(p.relative_to(root))),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def is_helper_file(relative: Path) -> bool:
    """A `.py` path (relative to the handlers folder) that is not a handler file, nor hidden
    (a part starts with `.`), nor in `__pycache__`."""
    return (
        relative.suffix == ".py"
        and not is_handler_file(relative)
        and not any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
    )


def in_folder(path: Path) -> Path:
    """`path` made absolute with its folders resolved and its own name kept: a handler file
    that is a symlink is known by its place in the handlers folder, not by its target (which
    may be outside the folder, missing, or a loop)."""
    try:
        return path.parent.resolve() / path.name
    except (OSError, RuntimeError):  # a loop among the folders themselves
        return Path(os.path.abspath(path))


def unreadable(path: Path) -> str | None:
    """Why the handler file `path` cannot be read, in words (`a symlink to /x.py, which does
    not exist`), or None when it can."""
    found = not_a_file(path)
    if found is None:
        try:
            with open(path, "rb"):
                return None
        except OSError as exc:  # its permissions, say
            return f"cannot be read: {exc.strerror or exc}"
    if found.kind == "dangling":
        return f"a symlink to {found.target}, which does not exist"
    if found.kind == "loop":
        return f"a symlink loop (through {found.target})"
    if found.kind == "folder":
        return "a folder, not a file (a handler file is a .py file)"
    if found.kind == "special":
        return f"cannot be read: not a regular file ({found.detail})"
    return f"cannot be read: {found.detail}"


def module_name_for(path: Path, root: Path) -> str:
    """The module name wsside loads the handler file `path` of the folder `root` under, one
    per file: `games/chess.py` is `wsside_handlers.games.chess`, and a dot inside a name is
    not a package's (`games/chess.v2.py` is `wsside_handlers.games.chess%2Ev2`, apart from
    `games/chess/v2.py`)."""
    rel = in_folder(path).relative_to(root.resolve()).with_suffix("")
    return f"{HANDLERS_PACKAGE}." + ".".join(_quoted(part) for part in rel.parts)


def _quoted(part: str) -> str:
    """One part of a path as one part of a module name: `%` and `.` percent-encoded."""
    return part.replace("%", "%25").replace(".", "%2E")


def shown_module_name(name: str) -> str:
    """A module name as a user knows it: a handler file's without wsside's package and with
    its file's name as written (`wsside_handlers.games.chess%2Ev2` is `games.chess.v2`); any
    other module's as it is."""
    if not name.startswith(HANDLERS_PACKAGE + "."):
        return name
    below = name.removeprefix(HANDLERS_PACKAGE + ".")
    return re.sub("%(25|2E)", lambda m: "%" if m.group(1) == "25" else ".", below)


def file_digest(path: Path) -> bytes:
    """What `path` holds, as hot reload compares saves (empty when it cannot be read): a save
    that left a file's bytes as they were changes nothing."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return b""
