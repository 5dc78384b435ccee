"""Handler files and their helpers run the bytes on disk, at every import.

Python's own loader reuses a `__pycache__` file when the source's size and modification time
(in whole seconds) match the ones it recorded. Two saves of the same length within a second
(an edit that changes one character, a `git checkout` between branches that differ so) would
then reload the first save's code while the terminal says `reloaded`. So the handlers folder
gets a loader that compiles the source every time, and writes no `__pycache__` there: a
handler file is small, and compiling it costs far less than the import it is part of. The
source it compiled is what tracebacks quote for that code, whatever the file holds later.
"""

from __future__ import annotations

import linecache
import sys
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
)
from importlib.util import decode_source
from pathlib import Path
from types import CodeType

__all__ = ["FreshSourceLoader", "import_fresh_from"]


class FreshSourceLoader(SourceFileLoader):
    """A source loader that neither reads nor writes `__pycache__`, and has tracebacks quote
    the source its code came from."""

    def get_code(self, fullname: str) -> CodeType:
        data = self.get_data(self.path)
        code = self.source_to_code(data, self.path)
        # A traceback quotes its lines from `linecache`, which reads the file as it is on disk
        # then: after a save, the new text at the old code's line numbers (the error of a
        # callback interrupted by that save would show the line the save put there). An
        # entry without a modification time is never checked against the file: it stays the
        # code's own source until the next import of this file replaces it.
        lines = decode_source(data).splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        linecache.cache[self.path] = (len(data), None, lines, self.path)
        return code


_ROOTS: list[Path] = []  # folders (and their subfolders) whose modules load fresh


def _finder_for(entry: str) -> FileFinder:
    """The path hook: a finder with the fresh loader for a registered folder or one inside
    it (a helper package's); ImportError hands every other entry to the next hook."""
    path = Path(entry)
    if not any(path == root or path.is_relative_to(root) for root in _ROOTS):
        raise ImportError("not a handlers folder")
    return FileFinder(
        entry, (ExtensionFileLoader, EXTENSION_SUFFIXES), (FreshSourceLoader, SOURCE_SUFFIXES)
    )


def import_fresh_from(root: Path) -> None:
    """Modules found under `root` (on `sys.path`, or a package's folder there) load fresh."""
    if root not in _ROOTS:
        _ROOTS.append(root)
    if _finder_for not in sys.path_hooks:
        sys.path_hooks.insert(0, _finder_for)
    # Finders made before, by the default hook, would go on reading `__pycache__`.
    for entry in list(sys.path_importer_cache):
        path = Path(entry) if entry else None
        if path is not None and (path == root or path.is_relative_to(root)):
            del sys.path_importer_cache[entry]
