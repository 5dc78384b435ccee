"""Under Vite, a WebSocket to a path under the prefix that no endpoint serves is most often a
typo in the page's URL (`/api/api/ws/chat`, `/api/ws/caht`); the browser only sees a failed
connection, and the client retries. The first such upgrade of each path is named once in Vite's
terminal, with the endpoint it most likely meant; past `_PATHS_MAX` paths, one line says that
further paths are not named. `ASGIApp` does the same, its mount point as the prefix (a mount
point and patterns that both say `/ws`). (`wsside serve` has its access log.)"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from .._runtime.events import log, shown
from .._runtime.loader import underscored_handlers_note
from ..pattern import Pattern

if TYPE_CHECKING:
    from pathlib import Path

    from .._runtime.registry import Registry

__all__ = ["NotFoundNotes", "closest", "refused_segment"]

# Paths named at most: a scanner trying paths must not flood the terminal.
_PATHS_MAX = 20
_LISTED_MAX = 5


class NotFoundNotes:
    """Called with the path of each upgrade answered 404; logs the first of each path."""

    def __init__(
        self,
        registry: Registry,
        prefixes: tuple[str, ...],
        folder: Path,
        prefix_is: str = "the prefix",
    ) -> None:
        self._registry = registry
        self._prefixes = prefixes
        # What the prefix is called where the upgrade came in: ASGIApp's is its mount point.
        self._prefix_is = prefix_is
        self._folder = folder
        self._named: dict[str, str] = {}  # path: the note last written for it
        self._capped = False  # the line saying that further paths are not named was written

    def __call__(self, path: str) -> None:
        if self._capped:
            return
        if path not in self._named and len(self._named) >= _PATHS_MAX:
            self._capped = True
            log(
                f"{path}: no endpoint there, so the client got 404; {_PATHS_MAX} other paths "
                "were named already, so the next paths that get 404 are not named",
                "warning",
            )
            return
        note = f"{path}: no endpoint there, so the client got 404: {self._hint(path)}"
        note += self._not_loaded()
        # Named again when what it says changed (the files were edited: another cause now).
        if self._named.get(path) != note:
            self._named[path] = note
            log(note, "warning")

    def _not_loaded(self) -> str:
        """The handler files whose endpoints are unknown: they failed before ever loading."""
        files = [shown(path) for path in self._registry.unserved_failures()]
        if not files:
            return ""
        more = ", …" if len(files) > _LISTED_MAX else ""
        it, its = (
            ("it declares", "its error") if len(files) == 1 else ("they declare", "their errors")
        )
        return (
            f" ({', '.join(files[:_LISTED_MAX])}{more} did not load, so what {it} was never "
            f"served: see {its} above)"
        )

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
            # `ws/_chat.py` declaring one is a helper by its name, and never loaded.
            helpers = underscored_handlers_note(self._folder)
            return "no handler file declares an endpoint" + (f" {helpers}" if helpers else "")
        repeated = self._repeats_the_prefix(path)
        if repeated:
            return repeated
        close = closest(path, urls)
        if close is not None:
            return f"did you mean {close}?{refused_segment(close, path)}"
        more = ", …" if len(urls) > _LISTED_MAX else ""
        return "the endpoints are " + ", ".join(urls[:_LISTED_MAX]) + more

    def _repeats_the_prefix(self, path: str) -> str:
        """For a pattern that matches the whole path, prefix included (`Handler("/api/ws/chat")`
        answers at `/api/api/ws/chat`): which one, and the pattern meant."""
        for handler in self._registry.endpoints():
            if handler.disabled or handler.pattern.match(path) is None:
                continue
            for prefix in self._prefixes:
                source = handler.pattern.source
                if prefix and source.startswith(prefix + "/"):
                    return (
                        f"the pattern {source} ({shown(handler.file)}:{handler.line}) starts "
                        f"with {self._prefix_is} {prefix}, so it answers at {prefix}{source}: "
                        f"patterns are below {self._prefix_is}, "
                        f'Handler("{source[len(prefix) :]}")'
                    )
        return ""


def closest(path: str, urls: list[str]) -> str | None:
    """The endpoint URL most like `path`, if any is like enough. A pattern's variables are
    compared as the parts of `path` they stand for: `/api/ws/room/ABC` is closest to
    `/api/ws/room/{room:[a-z]+}`, not to a short `/api/ws/hb` that shares more letters with
    the pattern's text."""
    best, score = None, 0.6  # difflib.get_close_matches' cutoff
    for url in urls:
        ratio = difflib.SequenceMatcher(None, path, _filled(url, path)).ratio()
        if ratio >= score and (best is None or ratio > score):
            best, score = url, ratio
    return best


def _filled(url: str, path: str) -> str:
    """`url` with each `{variable}` segment replaced by `path`'s segment at its place."""
    got = path.split("/")
    return "/".join(
        got[i] if "{" in part and i < len(got) else part for i, part in enumerate(url.split("/"))
    )


def refused_segment(url: str, path: str) -> str:
    """Which part of `path` a pattern with variables (`url`, its prefix included) refuses,
    when the two have as many segments: `/ws/rooms/a.b` against `{room:[\\w-]+}`."""
    wanted, got = url.split("/")[1:], path.split("/")[1:]
    if len(got) == len(wanted) + 1 and got[-1] == "" and Pattern(url).match(path[:-1]):
        return " (without the trailing /)"
    if len(wanted) != len(got) or any("*" in w for w in wanted):
        return ""
    for want, part in zip(wanted, got, strict=True):
        if want != part and Pattern("/" + want).match("/" + part) is None:
            return f" (`{part}` does not match `{want}`)" if "{" in want else ""
    return ""
