"""Handler files outside the handlers folder: a project that keeps them in `handlers/` or
`server/ws/` while wsside looks in `ws/`.

Read as text, never imported: a file found here is not known to be safe to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .._runtime.module_names import is_handler_file

__all__ = ["folders_with_handlers"]

# Folders no one keeps handler files in, and whose size would make the search slow.
_SKIP = {"node_modules", "__pycache__", "dist", "build", "site-packages", "public"}
_DEPTH = 2  # `handlers/`, `server/ws/`
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
