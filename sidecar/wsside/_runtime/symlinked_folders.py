"""Folders of the handlers folder that are symlinks to folders elsewhere: not served.

Handler files are found by `Path.rglob`, and hot reload's watch is recursive; neither goes
into a symlinked folder (following them would need a guard against loops, module names for
files whose real place is outside the folder, and a watch of each target). A monorepo's
shared handlers linked in (`ws/shared -> ../../common/ws`) would then be silently missing:
this says so once, at start.
"""

from __future__ import annotations

import os
from pathlib import Path

from .events import log, shown
from .module_names import is_handler_file

__all__ = ["note_symlinked_folders"]


def note_symlinked_folders(root: Path) -> None:
    """A warning for each symlinked folder under `root` that holds handler files."""
    for folder in _symlinked_folders(root):
        files = (path for path in folder.rglob("*.py") if is_handler_file(path.relative_to(root)))
        first = next(files, None)
        if first is None:
            continue  # static files, say: nothing goes unserved
        log(
            f"{shown(folder)} is a symlink to {os.path.realpath(folder)}, and wsside does not "
            f"look into symlinked folders: its handler files ({shown(first)} and any others) "
            f"are not served. Move them into {shown(root)}, or point `handlers` at that "
            "folder, or link each file rather than the folder",
            "warning",
        )


def _symlinked_folders(root: Path) -> list[Path]:
    """The symlinks to folders under `root`, outside hidden and `_` folders (whose files
    are never handler files)."""
    found = []
    for top, folders, _ in os.walk(root):  # does not go into symlinked folders: no loops
        folders[:] = sorted(name for name in folders if not name.startswith(("_", ".")))
        found += [Path(top, name) for name in folders if os.path.islink(Path(top, name))]
    return found
