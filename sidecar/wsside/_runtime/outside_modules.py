"""The project's own modules that handler files import from outside the handlers folder (a
`db.py` beside vite.config, a package of the monorepo installed with `pip install -e`): hot
reload never imports them again (what must outlive a save lives there), so a save of one
changes nothing that serves until the process starts again. Their files are watched too
(`watch.py`), and a save that changes one says so, with how to restart.

Which modules are the project's: those whose file is not in the handlers folder, wsside's own
package, Python's standard library or any installed packages' folder (`site-packages`,
`dist-packages`). What serves is taken to be what was on disk when
this process first saw the module loaded (after the start's loads, and after each batch of
reloads: a new handler file may import one for the first time); process-wide, as
`sys.modules` is, so a restart of the server inside the process (a config change) keeps it.
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import sysconfig
from collections.abc import Collection
from pathlib import Path

from .events import listed, shown

__all__ = ["SHOWN", "changed_note", "imported_from_outside", "restart_hint"]

# The project's module files seen loaded: path -> the digest of what was imported.
_IMPORTED: dict[Path, bytes] = {}
# The digest a note was last written for, per file: one note per save, not per event.
_NOTED: dict[Path, bytes] = {}
# Modules already judged, by name and file: most of `sys.modules` is asked once.
_JUDGED: dict[str, str | None] = {}
# How many saved files one line names.
SHOWN = 3
_INSTALLED_PARTS = {"site-packages", "dist-packages", "node_modules", "__pycache__"}


def _installed_folders() -> tuple[str, ...]:
    """Folders whose modules are Python's or installed (with a trailing separator)."""
    paths = sysconfig.get_paths()
    folders = {
        # Not the prefixes themselves: with the system's Python (`/usr`), a project in
        # `/usr/src/app` (a container's) is under one.
        *(paths.get(key, "") for key in ("stdlib", "platstdlib", "purelib", "platlib")),
        str(Path(__file__).resolve().parents[1]),  # wsside itself, an editable install too
    }
    try:
        folders.update(site.getsitepackages())
        folders.add(site.getusersitepackages())
    except AttributeError:  # an embedded or virtualenv-patched `site` without them
        pass
    folders.discard("")
    return tuple(
        {
            os.path.join(form, "")
            for folder in folders
            for form in (folder, os.path.realpath(folder))
        }
    )


def imported_from_outside(root: Path) -> list[Path]:
    """The project's module files loaded now that are not under the handlers folder `root`
    (resolved); each first seen is recorded as what serves."""
    inside = os.path.join(str(root), "")
    installed: tuple[str, ...] | None = None
    found: list[Path] = []
    for name, module in tuple(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        known = _JUDGED.get(name, "")
        if known == "" or (known is not None and known != file):
            if installed is None:
                installed = _installed_folders()
            _JUDGED[name] = _project_file(file, inside, installed)
        path = _JUDGED[name]
        if path is None:
            continue
        at = Path(path)
        if at not in _IMPORTED:
            _IMPORTED[at] = _digest(at)
        found.append(at)
    return found


def _project_file(file: str, inside: str, installed: tuple[str, ...]) -> str | None:
    """`file` resolved, if it is the project's Python source outside the handlers folder."""
    if not file.endswith(".py") or file.startswith(installed):
        return None  # an extension module, a `.pyc` only: not edited by hand; or installed
    path = os.path.realpath(file)
    if path.startswith(inside) or path.startswith(installed):
        return None
    if _INSTALLED_PARTS.intersection(Path(path).parts):
        return None
    return path


def changed_note(paths: Collection[Path], restart: str) -> str | None:
    """The line for a batch of saves of module files from `imported_from_outside`: those whose
    bytes differ from what serves and from those last noted are named; None when there are
    none (a touch, an editor's extra events, a save back to what serves)."""
    changed: list[str] = []
    for path in sorted(paths):
        known = _IMPORTED.get(path)
        if known is None:
            continue
        now = _digest(path)
        if now == known:
            _NOTED.pop(path, None)  # back as it was imported: a later change is said again
        elif now != _NOTED.get(path):
            _NOTED[path] = now
            changed.append(shown(path))
    if not changed:
        return None
    named = (
        listed(changed)
        if len(changed) <= SHOWN
        else f"{', '.join(changed[:SHOWN])} and {len(changed) - SHOWN} more"
    )
    return (
        f"{named} changed: a module outside the handlers folder is not imported again on "
        f"save, so the handlers keep the code they imported until the process starts again "
        f"({restart})"
    )


def restart_hint(*, under_vite: bool, workers: int) -> str:
    """How to have this process's modules imported anew, for `changed_note`."""
    if under_vite:
        return f"kill {os.getpid()}: Vite starts the sidecar again at once"
    if workers > 1:
        return f"kill -HUP {os.getppid()}: the parent starts new workers, which import it"
    return "stop wsside serve and start it again"


def _digest(path: Path) -> bytes:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return b""
