"""Under Vite, a WebSocket to a path under the prefix that no endpoint serves is most often a
typo in the page's URL (`/api/api/ws/chat`, `/api/ws/caht`); the browser only sees a failed
connection, and the client retries. The first such upgrade of each path is named once in Vite's
terminal, with the endpoint it most likely meant (one a slip away: `closest_endpoint.py`), the
handler file that did not load and could be the endpoint, or a file outside the handlers folder
that declares it (`src/ws/chat.py` beside `ws/`, which nothing loads); past `_PATHS_MAX` paths,
one line says that further paths are not named. `ASGIApp` does the same, its mount point as the
prefix (a mount point and patterns that both say `/ws`), and so does `wsside serve`, besides
its access log."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .._runtime.events import listed, log, shown
from .._runtime.misnamed_handlers import underscored_handlers_note
from .._runtime.stray_handlers import handler_files_outside
from ..pattern import Pattern
from .closest_endpoint import closest, refused_segment

if TYPE_CHECKING:
    from .._runtime.registry import Registry
    from ..handler import Handler

__all__ = ["NotFoundNotes"]

# Paths named at most: a scanner trying paths must not flood the terminal.
_PATHS_MAX = 20
_LISTED_MAX = 5
# Bytes of a handler file that did not load read for the patterns it declares.
_HEAD = 256 * 1024
# `Handler("/ws/chat")`, `Handler(pattern=r'/ws/{room}')`: the string literal.
_HANDLER_CALL = re.compile(
    r"""\bHandler\s*\(\s*(?:pattern\s*=\s*)?([rRuU]?(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))"""
)
# A file as last seen: its modification time (ns) and size; None when it could not be seen.
_Seen = tuple[int, int] | None


class NotFoundNotes:
    """Called with the path of each upgrade answered 404; logs the first of each path."""

    def __init__(
        self,
        registry: Registry,
        prefixes: tuple[str, ...],
        folder: Path,
        prefix_is: str = "the prefix",
        root: Path | None = None,
    ) -> None:
        self._registry = registry
        self._prefixes = prefixes
        # What the prefix is called where the upgrade came in: ASGIApp's is its mount point.
        self._prefix_is = prefix_is
        self._folder = folder
        # Where handler files outside the folder are looked for (the project: vite.config's
        # folder), once, at the first 404 that needs it; None: not looked for.
        self._root = root
        self._strays: list[Path] | None = None
        # path: the note last written for it, and what it was made from (`_made_from`; None
        # when the handlers folder's files said it, which this does not follow).
        self._named: dict[str, tuple[str, object]] = {}
        self._capped = False  # the line saying that further paths are not named was written
        # The endpoints at the last 404, and a count bumped whenever they are others since.
        self._endpoints: list[Handler] = []
        self._generation = 0
        # A handler file that did not load: as it was seen, and the patterns its text declares.
        self._declares: dict[Path, tuple[_Seen, list[Pattern]]] = {}

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
        # A client retrying a wrong URL: the note is made again only when what it is made
        # from changed (the endpoints, or a file that did not load: which, and its text).
        made_from = self._made_from()
        named = self._named.get(path)
        if named is not None and named[1] is not None and named[1] == made_from:
            return
        could_be = self._not_loaded_there(path) or self._outside_there(path)
        if not could_be and not self._urls():
            made_from = None  # the folder's files say it (`_hint`)
        note = f"{path}: no endpoint there, so the client got 404: " + (
            could_be or self._hint(path) + self._not_loaded()
        )
        # Named again when what it says changed (the files were edited: another cause now).
        if named is None or named[0] != note:
            log(note, "warning")
        self._named[path] = (note, made_from)

    def _made_from(self) -> object:
        """What a note is made from, to compare: the endpoints' generation, and each handler
        file that did not load as seen now (whose text `_declared` reads)."""
        endpoints = self._registry.endpoints()
        if endpoints != self._endpoints:  # Handler has no __eq__: the same objects
            self._endpoints = endpoints
            self._generation += 1
        seen = {file: _seen(file) for file in self._registry.unserved_failures()}
        for file in [f for f in self._declares if f not in seen]:
            del self._declares[file]
        return (self._generation, tuple(seen.items()))

    def _urls(self) -> list[str]:
        return [
            prefix + handler.pattern.source
            for handler in self._registry.endpoints()
            if not handler.disabled
            for prefix in self._prefixes
        ]

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

    def _not_loaded_there(self, path: str) -> str:
        """The handler files that did not load and could serve `path`: one whose text
        declares a pattern that matches it (`Handler("/ws/chat/{room}")`, read as text: it
        never imported), else one named as its last segment (`ws/metrics.py` for
        `/api/ws/metrics`); '' when none could."""
        failed = self._registry.unserved_failures()
        declaring = [(file, url) for file in failed for url in self._declared(file, path)]
        if declaring:
            named = [f"{shown(file)} declares {url}" for file, url in declaring]
            if len(named) == 1:
                return f"{named[0]}, which matches it, but did not load: see its error above"
            return (
                f"{listed(named[:_LISTED_MAX])}, which match it, but did not load: see "
                "their errors above"
            )
        last = path.rstrip("/").rsplit("/", 1)[-1].lower()
        by_name = [shown(file) for file in failed if file.stem.lower() == last]
        if not by_name:
            return ""
        if len(by_name) == 1:
            return (
                f"{by_name[0]} did not load (its name is the path's last segment), so what it "
                "declares was never served: see its error above"
            )
        return (
            f"{listed(by_name[:_LISTED_MAX])} did not load (their names are the path's last "
            "segment), so what they declare was never served: see their errors above"
        )

    def _outside_there(self, path: str) -> str:
        """The handler files outside the handlers folder whose text declares a pattern that
        matches `path` (`src/ws/chat.py` while wsside loads `ws/`); '' when none does."""
        if self._root is None:
            return ""
        if self._strays is None:
            self._strays = handler_files_outside(self._root, self._folder)
        declaring = [(file, url) for file in self._strays for url in self._declared(file, path)]
        if not declaring:
            return ""
        named = listed([f"{shown(file)} declares {url}" for file, url in declaring][:_LISTED_MAX])
        folder = f"{shown(self._folder)}/"
        if len(declaring) == 1:
            other = shown(self._stray_folder(declaring[0][0]))
            return (
                f"{named}, which matches it, but it lies outside the handlers folder {folder}, "
                f"the only one loaded: move it into {folder}"
                + (
                    ""
                    if other == "."
                    else f", or use wsside({{ handlers: '{other}' }}) in vite.config"
                )
            )
        return (
            f"{named}, which match it, but they lie outside the handlers folder {folder}, "
            f"the only one loaded: move them into {folder}"
        )

    def _stray_folder(self, file: Path) -> Path:
        """The folder to name as `handlers` for the stray `file`: the one that holds every
        stray handler file when that is below the project (`ws/games/game.py` beside
        `ws/chat.py` is `ws`: naming `ws/games` would leave `ws/chat.py` out); else its own,
        or the one above it while that one holds stray handler files too."""
        assert self._strays is not None and self._root is not None
        holding = {stray.parent for stray in self._strays}
        common = Path(os.path.commonpath(holding))
        if common != self._root and common.is_relative_to(self._root):
            return common
        folder = file.parent
        while folder.parent in holding and folder.parent != self._root:
            folder = folder.parent
        return folder

    def _declared(self, file: Path, path: str) -> list[str]:
        """The URLs of the patterns `file`'s text declares (`Handler("...")` with a string
        literal) that match `path`."""
        found = []
        for pattern in self._declared_in(file):
            for prefix in self._prefixes:
                below = path[len(prefix) :] if path.startswith(prefix + "/") else None
                if below is not None and pattern.match(below) is not None:
                    found.append(prefix + pattern.source)
                    break
        return found

    def _declared_in(self, file: Path) -> list[Pattern]:
        """The patterns `file`'s text declares, read again only when the file changed."""
        seen = _seen(file)
        known = self._declares.get(file)
        if known is not None and seen is not None and known[0] == seen:
            return known[1]
        try:
            with file.open("rb") as f:
                text = f.read(_HEAD).decode("utf-8", errors="replace")
        except OSError:
            return []
        patterns = []
        for literal in _HANDLER_CALL.findall(text):
            try:
                source = ast.literal_eval(literal)
                patterns.append(Pattern(source))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
        self._declares[file] = (seen, patterns)
        return patterns

    def _hint(self, path: str) -> str:
        urls = self._urls()
        if not urls:
            if not self._folder.is_dir():  # said at start too, with the setting that chose it
                return f"no handlers folder at {self._folder.resolve()}"
            # `ws/_chat.py` declaring one is a helper by its name, and never loaded.
            helpers = underscored_handlers_note(self._folder)
            return "no handler file declares an endpoint" + (f" {helpers}" if helpers else "")
        repeated = self._repeats_the_prefix(path) or self._unmounted(path)
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

    def _unmounted(self, path: str) -> str:
        """Under ASGI with no mount point (an ASGI function of the user's own sends every
        WebSocket scope to the ASGIApp, as a Django asgi.py does): a pattern that matches the
        end of the path (`/api` before `/ws/chat`), and the `root_path` that says so."""
        if self._prefixes != ("",) or self._prefix_is != "the mount point":
            return ""
        cuts = [i for i, char in enumerate(path) if char == "/" and i > 0]
        for handler in self._registry.endpoints():
            for cut in cuts:
                head, tail = path[:cut], path[cut:]
                if not handler.disabled and handler.pattern.match(tail) is not None:
                    return (
                        f"the pattern {handler.pattern.source} ({shown(handler.file)}:"
                        f"{handler.line}) matches it after {head}, and ASGIApp matches the path "
                        "below its mount point (scope['root_path']), which is empty here: "
                        f"mount it at {head}, or, from an ASGI function of your own (Django's "
                        f"asgi.py), pass it {{**scope, 'root_path': '{head}'}}"
                    )
        return ""


def _seen(file: Path) -> _Seen:
    try:
        stat = file.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
