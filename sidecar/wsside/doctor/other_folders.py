"""What lies in other folders than the doctor was pointed at: handler files outside the
handlers folder (a project that keeps them in `handlers/` or `server/ws/` while wsside looks
in `ws/`), and the Vite projects below a folder that is none (a monorepo's root, whose app is
`packages/web/`).

Read as text, never imported: a file found here is not known to be safe to run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .._runtime.config import find_vite_config
from .._runtime.module_names import is_handler_file
from .vite_config import find_framework_config

__all__ = ["folders_with_handlers", "is_vite_project", "vite_projects_below"]

# Folders no one keeps handler files in, and whose size would make the search slow.
_SKIP = {"node_modules", "__pycache__", "dist", "build", "site-packages", "public"}
_DEPTH = 2  # `handlers/`, `server/ws/`
_PROJECT_DEPTH = 3  # `web/`, `packages/web/`, `apps/site/frontend/`
_LARGEST = 1_000_000  # bytes: larger .py files are data, not handlers


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


def vite_projects_below(root: Path) -> list[Path]:
    """Folders under `root` (three levels down at most) holding a Vite project: a vite.config,
    an Astro or Nuxt config, or a package.json that depends on vite (the templates of `npm
    create vite` without a vite.config)."""
    return [folder for folder in _folders(root, _PROJECT_DEPTH) if is_vite_project(folder)]


def is_vite_project(folder: Path) -> bool:
    """Whether `folder` holds a Vite project (see `vite_projects_below`)."""
    if find_vite_config(folder) or find_framework_config(folder):
        return True
    try:
        package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(package, dict):
        return False
    return any(
        isinstance(package.get(key), dict) and "vite" in package[key]
        for key in ("dependencies", "devDependencies")
    )


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
    try:
        if not is_handler_file(Path(file.name)) or file.stat().st_size > _LARGEST:
            return False
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "wsside" in text and "Handler(" in text
