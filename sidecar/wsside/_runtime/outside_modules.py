"""The project's own modules that handler files import from outside the handlers folder (a
`db.py` beside vite.config, a package of the monorepo installed with `pip install -e`): hot
reload never imports them again (what must outlive a save lives there), so a save of one
changes nothing that serves until the process starts again. Their files are watched too
(`watch.py`), and a save that changes one says so, with how to restart.

Which modules are the project's: those whose file is not in the handlers folder, wsside's own
package, Python's standard library or any installed packages' folder (`site-packages`,
`dist-packages`). They are looked for after the start's loads, after each batch of reloads
(a new handler file may import one) and when a Python file is saved in a folder watched for
them (a callback may have imported one since).

What serves is known from the module's cached bytecode, whose header holds its source's time
and size when it was compiled: if the file still has them, its bytes now are what serves; if
not, it changed since (its first save is said; a save back to what serves is not known as
such). Without one (no `__pycache__` written), what was on disk when the module was first
seen is taken to serve. Process-wide, as `sys.modules` is: a restart of the server inside the
process (a config change) keeps what it knows.

A handler file that failed to load because of such a module (its traceback passes through
the file, or the module was not found by that name) is read again when the file is saved:
`failed_for`.
"""

from __future__ import annotations

import os
import re
import site
import sys
import sysconfig
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .events import listed, shown
from .module_names import HANDLERS_PACKAGE, file_digest

__all__ = ["SHOWN", "changed_note", "failed_for", "imported_from_outside", "restart_hint"]

# The project's module files seen loaded: path -> the digest of what was imported (None: not
# known, and the file changed since).
_IMPORTED: dict[Path, bytes | None] = {}
# The digest a note was last written for, per file: one note per save, not per event.
_NOTED: dict[Path, bytes] = {}
# The files a note has named: a later one is short.
_SAID: set[Path] = set()
# Modules already judged, by name and file: most of `sys.modules` is asked once.
_JUDGED: dict[str, str | None] = {}
# How many saved files one line names (more: "and N more").
SHOWN = 4
_NOT_FOUND = re.compile(r"^ModuleNotFoundError: No module named '([\w.]+)'")
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
        if not isinstance(file, str) or name.startswith(HANDLERS_PACKAGE + "."):
            continue  # a handler file, a symlink to one elsewhere too: reloaded on save
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
            _IMPORTED[at] = _imported_digest(at, module)
        found.append(at)
    return found


def _imported_digest(path: Path, module: object) -> bytes | None:
    """The digest of what `module` (loaded from `path`) was imported from: the file's bytes
    now, unless its cached bytecode says the source has changed since (None)."""
    cached = getattr(getattr(module, "__spec__", None), "cached", None)
    if not isinstance(cached, str):
        return file_digest(path)
    try:
        with open(cached, "rb") as pyc:
            header = pyc.read(16)
        now = path.stat()
    except OSError:
        return file_digest(path)
    # PEP 552: flags 0 is a timestamp-based pyc: source mtime and size, 32 bits each.
    if len(header) < 16 or int.from_bytes(header[4:8], "little") != 0:
        return file_digest(path)
    mtime, size = int.from_bytes(header[8:12], "little"), int.from_bytes(header[12:16], "little")
    if (int(now.st_mtime) & 0xFFFFFFFF, now.st_size & 0xFFFFFFFF) == (mtime, size):
        return file_digest(path)
    return None


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
    """The line for a batch of saves of Python files in the folders watched for these
    modules: those of `imported_from_outside` whose bytes differ from what serves and from
    those last noted are named; None when there are none (a touch, an editor's extra events, a
    save back to what serves, a file no handler imported)."""
    changed: list[Path] = []
    for path in sorted(paths):
        if path not in _IMPORTED:
            continue
        known, now = _IMPORTED[path], file_digest(path)
        if now == known:
            _NOTED.pop(path, None)  # back as it was imported: a later change is said again
        elif now != _NOTED.get(path):
            _NOTED[path] = now
            changed.append(path)
    if not changed:
        return None
    names = [shown(path) for path in changed]
    if len(names) > SHOWN:
        names = [*names[: SHOWN - 1], f"{len(names) - SHOWN + 1} more"]
    again = all(path in _SAID for path in changed)
    _SAID.update(changed)
    if again:
        return f"{listed(names)} changed again: restart to serve it ({restart})"
    return (
        f"{listed(names)} changed: modules outside the handlers folder are not imported again "
        f"on save, so the handlers keep the code they imported until the process starts "
        f"again ({restart})"
    )


def failed_for(error: dict[str, Any], saved: Collection[Path]) -> bool:
    """Whether a handler file's load `error` may have come from one of the `saved` files: its
    traceback passes through one, or the module not found is one of them by its name."""
    traceback = str(error.get("traceback", ""))
    if any(str(path) in traceback for path in saved):
        return True
    missing = _NOT_FOUND.search(str(error.get("message", "")))
    if missing is None:
        return False
    tail = missing.group(1).replace(".", "/")
    return any(path.as_posix().endswith((f"/{tail}.py", f"/{tail}/__init__.py")) for path in saved)


def restart_hint(*, under_vite: bool, workers: int) -> str:
    """How to have this process's modules imported anew, for `changed_note`."""
    if under_vite:
        return f"kill {os.getpid()}: Vite starts the sidecar again at once"
    if workers > 1:
        return f"kill -HUP {os.getppid()}: the parent starts new workers, which import it"
    return "stop wsside serve and start it again"
