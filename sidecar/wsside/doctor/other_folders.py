"""What lies in other folders than the doctor was pointed at: handler files outside the
handlers folder (a project that keeps them in `handlers/` or `server/ws/` while wsside looks
in `ws/`), and the Vite projects below a folder that is none (a monorepo's root, whose app is
`packages/web/`).

Read as text, never imported: a file found here is not known to be safe to run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from .._runtime.config import find_vite_config
from .._runtime.module_names import is_handler_file, is_test_file
from .vite_config import find_framework_config
from .vite_package import depends_on

__all__ = [
    "folders_with_handlers",
    "handler_files_outside",
    "is_vite_project",
    "vite_projects_below",
]

# Folders no one keeps handler files in, and whose size would make the search slow.
_SKIP = {"node_modules", "__pycache__", "dist", "build", "site-packages", "public"}
_DEPTH = 2  # `handlers/`, `server/ws/`
_PROJECT_DEPTH = 3  # `web/`, `packages/web/`, `apps/site/frontend/`
_LARGEST = 1_000_000  # bytes: larger .py files are data, not handlers
# The whole-project search for strays stays fast in a large repository: this deep, this many
# folders and .py files read, and the head of each file only (imports come first).
_STRAY_DEPTH = 6
_STRAY_FOLDERS = 2000
_STRAY_FILES = 500
_HEAD = 64 * 1024
# Tests of handlers declare them too; they are not meant to be served.
_TESTS = {"tests", "test"}
_NOT_SEARCHED = _SKIP | _TESTS | {"venv"}
_IMPORT = re.compile(r"^\s*(?:from\s+wsside(?:\.\w+)*\s+import\b|import\s+wsside\b)", re.M)
_CALL = re.compile(r"\bHandler\s*\(")


def folders_with_handlers(root: Path, but: Path) -> list[tuple[Path, list[str]]]:
    """Folders under `root` (two levels down at most, `but` aside) holding files that declare
    a wsside Handler, each with those files' names; the most files first."""
    found = []
    for folder in _folders(root, _DEPTH):
        if folder.resolve() == but.resolve():
            continue
        names = sorted(f.name for f in folder.glob("*.py") if _declares_handler(f))
        if names:
            found.append((folder, names))
    return sorted(found, key=lambda pair: (-len(pair[1]), str(pair[0])))


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
            if depth < _STRAY_DEPTH
            and not d.startswith((".", "_"))
            and d not in _NOT_SEARCHED
            and not (current / d).is_symlink()
            and not (current / d / "pyvenv.cfg").exists()
            and (current / d).resolve() != folder
        )
        for name in sorted(names):
            if not name.endswith(".py") or is_test_file(Path(name)):
                continue
            if files >= _STRAY_FILES:
                return found
            files += 1
            if _declares_handler(current / name):
                found.append(current / name)
        if folders >= _STRAY_FOLDERS:
            break
    return found


def vite_projects_below(root: Path) -> list[Path]:
    """Folders under `root` (three levels down at most) holding a Vite project: a vite.config,
    an Astro or Nuxt config, or a package.json that depends on vite (the templates of `npm
    create vite` without a vite.config)."""
    return [folder for folder in _folders(root, _PROJECT_DEPTH) if is_vite_project(folder)]


def is_vite_project(folder: Path) -> bool:
    """Whether `folder` holds a Vite project (see `vite_projects_below`)."""
    if find_vite_config(folder) or find_framework_config(folder):
        return True
    return depends_on(folder, "vite")


def _folders(parent: Path, depth: int) -> Iterator[Path]:
    if depth == 0:
        return
    try:
        children = sorted(parent.iterdir())
    except OSError:
        return
    for child in children:
        if (
            child.is_dir()
            and not child.is_symlink()
            and not child.name.startswith((".", "_"))
            and child.name not in _SKIP
            and not (child / "pyvenv.cfg").exists()  # a virtual environment
        ):
            yield child
            yield from _folders(child, depth - 1)


def _declares_handler(file: Path) -> bool:
    """`file` imports from wsside and calls Handler, as read from its head."""
    try:
        if not is_handler_file(Path(file.name)) or file.stat().st_size > _LARGEST:
            return False
        with file.open("rb") as f:
            text = f.read(_HEAD).decode("utf-8", errors="replace")
    except OSError:
        return False
    return _IMPORT.search(text) is not None and _CALL.search(text) is not None
