"""Where handler files find their helpers: the handlers folder on `sys.path`.

Helpers (`_shared.py`, `_lib/`) are imported by their bare name, as any module. The folder
goes after the process's own entries (so that, in a web app, `import auth` still finds the
app's auth.py and not a handler file of that name) but before the other handlers folders (so
that its helpers win over theirs); a helper that another module of the same name shadows is
named in a warning.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder
from pathlib import Path

from .events import log, shown
from .fresh_source import import_fresh_from

__all__ = ["use_helpers_of"]

_FOLDERS: list[Path] = []  # the handlers folders put on sys.path, latest first


def use_helpers_of(root: Path) -> None:
    """Let the handler files under `root` import their helpers (`import _shared`) from their
    own folder, as they do when loaded: call it before importing them."""
    root = root.resolve()
    import_fresh_from(root)
    folder = str(root)
    if folder not in sys.path:
        others = [sys.path.index(str(f)) for f in _FOLDERS if str(f) in sys.path]
        sys.path.insert(min(others, default=len(sys.path)), folder)
    if root in _FOLDERS:
        _FOLDERS.remove(root)
    _FOLDERS.insert(0, root)
    _forget_other_helpers(root)


def _forget_other_helpers(root: Path) -> None:
    """Helpers are imported by their bare name (`import _shared`): when another handlers
    folder in this process (a second `ASGIApp`, a test) already imported one of the same name,
    this folder's files must get their own, not that one. A module from anywhere else (the
    app's own `_shared`) is left alone, and the helper it shadows named in a warning."""
    if not root.is_dir():
        return
    others = [f for f in _FOLDERS if f != root]
    for helper in root.iterdir():
        if not helper.name.startswith("_") or helper.name.startswith("__"):
            continue
        name = helper.stem if helper.suffix == ".py" else helper.name
        if not name.isidentifier():
            continue
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if module is None:  # would the import find this one?
            spec = PathFinder.find_spec(name)
            file = spec.origin if spec is not None else None
        if file is None or file == "namespace":
            continue
        where = Path(file).resolve()
        if where.is_relative_to(root):
            continue
        from_other_folder = any(where.is_relative_to(f) for f in others)
        if from_other_folder and module is not None:
            del sys.modules[name]
        elif not from_other_folder:
            why = (
                f"the process imported {shown(file)} by that name first"
                if module is not None
                else f"{shown(file)} comes first on sys.path"
            )
            log(
                f"{shown(helper)} is not what `import {name}` gives its handler files: {why}; "
                "give the helper a name of its own",
                "warning",
            )
