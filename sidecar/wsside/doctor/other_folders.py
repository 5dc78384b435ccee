"""What lies in other folders than the doctor was pointed at: folders of handler files other
than the handlers folder (a project that keeps them in `handlers/` or `server/ws/` while
wsside looks in `ws/`; single files anywhere: `_runtime/stray_handlers.py`), and the Vite
projects below a folder that is none (a monorepo's root, whose app is `packages/web/`).

Read as text, never imported: a file found here is not known to be safe to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .._project.vite_files import find_vite_config
from .._runtime.stray_handlers import SKIPPED_FOLDERS, declares_handler
from .vite_config import find_framework_config
from .vite_package import depends_on

__all__ = [
    "folders_with_handlers",
    "is_vite_project",
    "vite_projects_below",
]

_DEPTH = 2  # `handlers/`, `server/ws/`
_PROJECT_DEPTH = 3  # `web/`, `packages/web/`, `apps/site/frontend/`


def folders_with_handlers(root: Path, but: Path) -> list[tuple[Path, list[str]]]:
    """Folders under `root` (two levels down at most, `but` aside) holding files that declare
    a wsside Handler, each with those files' names; the most files first."""
    found = []
    for folder in _folders(root, _DEPTH):
        if folder.resolve() == but.resolve():
            continue
        names = sorted(f.name for f in folder.glob("*.py") if declares_handler(f))
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
            and child.name not in SKIPPED_FOLDERS
            and not (child / "pyvenv.cfg").exists()  # a virtual environment
        ):
            yield child
            yield from _folders(child, depth - 1)
