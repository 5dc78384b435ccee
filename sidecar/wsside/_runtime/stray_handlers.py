"""Handler files outside the handlers folder: a project that keeps them in `src/ws/` or
beside vite.config while wsside looks in `ws/`, where nothing loads them. `wsside doctor`
names them, and so does the note of a WebSocket that got 404 under Vite.

Read as text, never imported: a file found here is not known to be safe to run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .module_names import is_handler_file, is_test_file

__all__ = ["SKIPPED_FOLDERS", "declares_handler", "handler_files_outside", "kept_elsewhere"]

# Folders no one keeps handler files in, and whose size would make a search slow.
SKIPPED_FOLDERS = frozenset(
    {"node_modules", "__pycache__", "dist", "build", "site-packages", "public"}
)
_LARGEST = 1_000_000  # bytes: larger .py files are data, not handlers
# The whole-project search stays fast in a large repository: this deep, this many folders
# and .py files read, and the head of each file only (imports come first).
_DEPTH = 6
_FOLDERS = 2000
_FILES = 500
_HEAD = 64 * 1024
# Tests of handlers declare them too; they are not meant to be served.
_NOT_SEARCHED = SKIPPED_FOLDERS | {"tests", "test", "venv"}
_IMPORT = re.compile(r"^\s*(?:from\s+wsside(?:\.\w+)*\s+import\b|import\s+wsside\b)", re.M)
_CALL = re.compile(r"\bHandler\s*\(")


def handler_files_outside(root: Path, folder: Path) -> list[Path]:
    """The .py files under `root` that declare a wsside Handler (import from wsside, call
    Handler) but lie outside the handlers `folder`, where the sidecar never loads them. The
    search skips what holds no handlers (node_modules, virtual environments, build output,
    hidden folders, tests) and is bounded in depth, folders and files read."""
    folder = folder.resolve()
    found: list[Path] = []
    folders = files = 0
    for here, dirs, names in os.walk(root):
        current = Path(here)
        folders += 1
        depth = len(current.relative_to(root).parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if depth < _DEPTH
            and not d.startswith((".", "_"))
            and d not in _NOT_SEARCHED
            and not (current / d).is_symlink()
            and not (current / d / "pyvenv.cfg").exists()
            and (current / d).resolve() != folder
        )
        for name in sorted(names):
            if not name.endswith(".py") or is_test_file(Path(name)):
                continue
            if files >= _FILES:
                return found
            files += 1
            if declares_handler(current / name):
                found.append(current / name)
        if folders >= _FOLDERS:
            break
    return found


def declares_handler(file: Path) -> bool:
    """`file` imports from wsside and calls Handler, as read from its head."""
    try:
        if not is_handler_file(Path(file.name)) or file.stat().st_size > _LARGEST:
            return False
        with file.open("rb") as f:
            text = f.read(_HEAD).decode("utf-8", errors="replace")
    except OSError:
        return False
    return _IMPORT.search(text) is not None and _CALL.search(text) is not None


def kept_elsewhere(folder: Path) -> str:
    """For a default handlers `folder` that does not exist: where the project's handler files
    are instead (Vite's `root: 'src'` beside `src/ws/`), as the words to add to that message
    with the option to set; '' when there are none."""
    root = folder.resolve().parent
    strays = handler_files_outside(root, folder)
    if not strays:
        return ""
    holding = Path(os.path.commonpath([stray.parent for stray in strays]))
    where = holding.relative_to(root).as_posix() if holding.is_relative_to(root) else None
    if where in (None, "."):
        return ""
    first = strays[0].relative_to(root).as_posix()
    declare = "declares" if len(strays) == 1 else f"and {len(strays) - 1} more declare"
    return f", while {first} {declare} a Handler: use wsside({{ handlers: '{where}' }})"
