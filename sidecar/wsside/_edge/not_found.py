"""Under Vite, a WebSocket to a path under the prefix that no endpoint serves is most often a
typo in the page's URL (`/api/api/ws/chat`, `/api/ws/caht`); the browser only sees a failed
connection, and the client retries. The first such upgrade of each path is named once in Vite's
terminal, with the endpoint it most likely meant; past `_PATHS_MAX` paths, one line says that
further paths are not named. (`wsside serve` has its access log.)"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from .._runtime.events import log

if TYPE_CHECKING:
    from pathlib import Path

    from .._runtime.registry import Registry

__all__ = ["NotFoundNotes"]

# Paths named at most: a scanner trying paths must not flood the terminal.
_PATHS_MAX = 20
_LISTED_MAX = 5


class NotFoundNotes:
    """Called with the path of each upgrade answered 404; logs the first of each path."""

    def __init__(self, registry: Registry, prefixes: tuple[str, ...], folder: Path) -> None:
        self._registry = registry
        self._prefixes = prefixes
        self._folder = folder
        self._named: set[str] = set()
        self._capped = False  # the line saying that further paths are not named was written

    def __call__(self, path: str) -> None:
        if path in self._named or self._capped:
            return
        if len(self._named) >= _PATHS_MAX:
            self._capped = True
            log(
                f"{path}: no endpoint there, so the client got 404; {_PATHS_MAX} other paths "
                "were named already, so the next paths that get 404 are not named",
                "warning",
            )
            return
        self._named.add(path)
        log(f"{path}: no endpoint there, so the client got 404: {self._hint(path)}", "warning")

    def _hint(self, path: str) -> str:
        urls = [
            prefix + handler.pattern.source
            for handler in self._registry.endpoints()
            if not handler.disabled
            for prefix in self._prefixes
        ]
        if not urls:
            if not self._folder.is_dir():  # said at start too, with the setting that chose it
                return f"no handlers folder at {self._folder.resolve()}"
            return "no handler file declares an endpoint"
        close = difflib.get_close_matches(path, urls, n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]}?"
        more = ", …" if len(urls) > _LISTED_MAX else ""
        return "the endpoints are " + ", ".join(urls[:_LISTED_MAX]) + more
