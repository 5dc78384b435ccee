"""The table of endpoints: which handler file declares which pattern, and routing.

Loading is per file. A file that fails to import keeps its previous handlers serving; a file
whose new version is good has its handlers swapped in place (same hub: open connections,
rooms and metadata stay). A pattern that disappears keeps its connections for a grace, served
by its old code but routed no more (`orphans.py`): a file renamed, or saved in two steps,
declares it again a moment later, and its connections go on with the new code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..handler import Handler
from ..pattern import PatternIndex
from .background import STOP_WAIT, BackgroundTasks, detach_when_ended
from .events import emit, log, shown
from .helper_path import use_helpers_of
from .hub import Hub
from .loader import HelperErrors, forget_handler_file, import_handler_file
from .missing_module import removed_hint
from .module_names import handler_files, in_folder
from .namespaces import collision_notes
from .orphans import Orphans
from .pattern_owners import duplicate_error, find_duplicate, serving
from .shadowed import ShadowNotes
from .slow_imports import named_if_slow
from .symlinked_folders import note_symlinked_folders
from .unserved_patterns import UnservedPatterns

if TYPE_CHECKING:
    from .backplane import Backplane

__all__ = ["Registry"]

# Where `Registry.add_handlers` files handlers declared in code: it sorts before any real path
# and names no file.
_IN_CODE = Path("")


class Registry:
    def __init__(
        self,
        root: Path,
        defaults: Mapping[str, Any] | None = None,
        check_sends: bool = False,
    ) -> None:
        self.root = root
        # Set before the first load by whoever runs a backplane (made after the registry, as
        # it needs `deliver`); each hub publishes its broadcasts through it.
        self.backplane: Backplane | None = None
        # Debug mode: outgoing messages are checked against their handler's `sends`.
        self.check_sends = check_sends
        self.background = BackgroundTasks()
        # The config file's [defaults]: handler options for every handler that leaves them unset.
        self.defaults: Mapping[str, Any] = defaults or {}
        self.files: dict[Path, list[Handler]] = {}
        self.errors: dict[Path, dict[str, Any]] = {}
        # A helper's load error, said once per batch of loads for all the files it failed.
        self._helper_errors = HelperErrors()
        # Modules of the folder removed while serving (`reload.py` keeps them): an import that
        # misses one is that module's error, said once for all the files it fails.
        self.gone: frozenset[Path] = frozenset()
        # Files refused for a pattern another file serves, by that pattern: each loads again
        # once its pattern is free (the other file removed, or its pattern changed).
        self._waiting: dict[Path, str] = {}
        self._loading_waiting = False
        # Told of each waiting file `_load_waiting` loads: gives when its save was seen.
        self.on_waiting_load: Callable[[Path], float | None] = lambda path: None
        self.hubs: dict[str, Hub] = {}
        # Hubs of patterns no longer declared, in their grace.
        self._orphans = Orphans()
        # Every declaration in routing order, with the hub of its pattern (a disabled one
        # beside an enabled one of its pattern: that one's hub, never matched through it).
        self._table: list[tuple[Handler, Hub]] = []
        # `_table` by leading literal segments; made again on the first match after a change
        # (not at each file of a start-up or a checkout).
        self._index: PatternIndex[tuple[Handler, Hub]] | None = None
        # Broadcasts from the backplane to a pattern no hub has are named once per pattern,
        # once the handlers have loaded (the backplane subscribes before they do).
        self._unserved = UnservedPatterns()
        self._loaded = False
        # Shadowed patterns, said at start and whenever the endpoints make a new one: once a
        # batch of loads is applied (a checkout's files in between could shadow each other).
        self._shadows = ShadowNotes()
        self._in_batch = False

    # ---- routing ------------------------------------------------------------------------

    def match(self, path: str) -> tuple[Hub, dict[str, str]] | None:
        """The first enabled endpoint (files in sorted order, then declaration order)."""
        index = self._index
        if index is None:
            index = self._index = PatternIndex((entry[0].pattern, entry) for entry in self._table)
        for _, _, (handler, hub) in index.candidates(path):
            if handler.disabled:
                continue
            params = handler.pattern.match(path)
            if params is not None:
                return hub, params
        return None

    def endpoints(self) -> list[Handler]:
        """The declarations served now, in routing order (disabled ones included)."""
        return [handler for handler, _ in self._table]

    def unserved_failures(self) -> list[Path]:
        """Handler files that did not load and serve no earlier version: what they declare,
        and so the types of their endpoints, is not known."""
        return [path for path in self.errors if path not in self.files]

    def describe(self, prefix: str = "") -> list[dict[str, Any]]:
        return [
            {
                "pattern": h.pattern.source,
                "path": prefix + h.pattern.source,
                "file": h.file,
                "line": h.line,
                "disabled": h.disabled,
                "has_variables": h.pattern.has_variables,
            }
            for h, _ in self._table
        ]

    # ---- loading ------------------------------------------------------------------------

    def load_all(self) -> None:
        use_helpers_of(self.root)
        note_symlinked_folders(self.root)
        holding = self.hold_helper_errors()
        try:
            for path in handler_files(self.root):
                with named_if_slow(path):
                    self.load_file(path, initial=True)
        finally:
            if holding:
                self.release_helper_errors()
        self._loaded = True
        self._note_shadowed()

    def failed_others(self, path: Path) -> bool:
        """Other handler files did not load for an error in `path` (a file they import)."""
        return any(
            source != path and error["file"] is not None and in_folder(Path(error["file"])) == path
            for source, error in self.errors.items()
        )

    def hold_helper_errors(self) -> bool:
        """From now on, a helper's load error is said once, by `release_helper_errors`, for
        all the handler files it fails meanwhile (a batch of loads); False if held already."""
        self._in_batch = True
        return self._helper_errors.hold()

    def release_helper_errors(self) -> None:
        """The end of a batch of loads: the helpers' errors held, then the shadowed
        patterns it made."""
        self._in_batch = False
        for event in self._helper_errors.release():
            if event.pop("removed", False):  # worded for all the files it failed, now known
                event["message"] = removed_hint(event["file"], event["sources"])
            emit(event)
        if self._loaded:
            self._note_shadowed()

    def _note_shadowed(self) -> None:
        """A warning for each pattern shadowed now that was not at the last call: every
        connection to its paths goes to the earlier one (the words of `wsside doctor`)."""
        if self._in_batch:
            return
        for shadowing in self._shadows.new(self.endpoints()):
            log(
                f"{shadowing.message(_at)}, so it never gets a connection: {shadowing.fix()}",
                "warning",
            )

    def load_file(
        self,
        path: Path,
        initial: bool = False,
        since: float | None = None,
        added: bool = False,
        because: Sequence[Path] = (),
    ) -> bool:
        """(Re)load one file; True when its new version is now serving.

        The event's `ms` counts from `since` (a `time.perf_counter()` value, e.g. when the
        watcher saw the save) when given, else from the start of the import; `added`: the
        file was created while serving (its `reloaded` event says `new`, as it does for a
        file that had never loaded: one that failed at start and is fixed); `because`: the
        saved helpers it imports, which made it load again (its `reloaded` event names them:
        their module-level state starts afresh too).
        """
        path = in_folder(path)
        started = time.perf_counter() if since is None else since
        self._helper_errors.drop(str(path))
        result = import_handler_file(path, self.root, self.gone)
        self._waiting.pop(path, None)
        if result.error is None:
            duplicate = find_duplicate(self.files, result.path, result.handlers)
            if duplicate is not None:
                result.error = duplicate_error(duplicate)
                if duplicate.first.file != duplicate.handler.file:  # another file has it
                    self._waiting[path] = duplicate.handler.pattern.source
        if result.error is not None:
            # `file` is where the error is (maybe a helper this file imports); `source` is the
            # handler file that did not load, the one whose next load or removal clears it.
            result.error["source"] = str(path)
            if result.in_helper:  # the handler files it kept from loading
                result.error["sources"] = [str(path)]
            self.errors[path] = result.error
            if not self._helper_errors.add(result.error, result.in_helper):
                emit(result.error)
            return False
        self.errors.pop(path, None)
        for handler in result.handlers:
            handler._apply_defaults(self.defaults)
            for note in handler._load_notes():
                log(f"{shown(handler.file)}:{handler.line}: {note}", "warning")
        for note in result.notes:
            log(note, "warning")
        served_before = path in self.files
        self._swap(path, result.handlers)
        for note in collision_notes(self.endpoints(), result.handlers):
            log(note, "warning")
        event = {
            "type": "loaded" if initial else "reloaded",
            "file": str(path),
            "patterns": [h.pattern.source for h in result.handlers],
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if added or not (initial or served_before):
            event["new"] = True
        if because:
            event["because"] = [str(helper) for helper in because]
        emit(event)
        self._load_waiting()
        self._note_shadowed()
        return True

    def add_handlers(self, handlers: list[Handler]) -> None:
        """Serve `handlers`, declared in code rather than loaded from the handlers folder,
        first given first. Raises ValueError naming both declarations of a duplicate pattern."""
        duplicate = find_duplicate(self.files, _IN_CODE, handlers)
        if duplicate is not None:  # a plain ValueError: the subclass is the registry's own
            raise ValueError(str(duplicate)) from None
        self._swap(_IN_CODE, handlers)
        self._loaded = True
        self._note_shadowed()

    def start_background(self) -> None:
        """Start the background tasks of every handler that has none running (handlers
        loaded outside an event loop have none yet)."""
        for pattern, hub in self.hubs.items():
            if not self.background.running(pattern):
                self.background.start(hub.handler)

    def remove_file(self, path: Path) -> None:
        path = in_folder(path)
        broken = self.errors.pop(path, None) is not None
        self._helper_errors.drop(str(path))
        self._waiting.pop(path, None)
        forget_handler_file(path, self.root)
        if path in self.files:
            self._swap(path, [])
            del self.files[path]
            emit({"type": "removed", "file": str(path)})
            self._load_waiting()
            self._note_shadowed()
        elif broken:  # it never loaded: its load error goes with it
            emit({"type": "removed", "file": str(path)})

    def _load_waiting(self) -> None:
        """Load the files refused for a duplicate pattern that no other file serves now
        (until none is left to load: one that loads may free a pattern in turn). Called again
        from within the loop (by `load_file`), it leaves the work to the loop."""
        if self._loading_waiting:
            return
        self._loading_waiting = True
        try:
            while ready := [
                p for p, pattern in self._waiting.items() if not self._enabled(pattern)
            ]:
                for path in ready:
                    self._waiting.pop(path, None)
                    self.load_file(path, since=self.on_waiting_load(path))
        finally:
            self._loading_waiting = False

    def _enabled(self, pattern: str) -> bool:
        """Whether an enabled declaration serves `pattern` (another one would be a duplicate)."""
        hub = self.hubs.get(pattern)
        return hub is not None and not hub.handler.disabled

    def _swap(self, path: Path, handlers: list[Handler]) -> None:
        old = self.files.get(path, [])
        self.files[path] = handlers
        declared = [
            h for p in sorted(self.files, key=lambda p: p.as_posix()) for h in self.files[p]
        ]
        chosen = serving(declared)
        for h in old:
            hub = None if h.pattern.source in chosen else self.hubs.pop(h.pattern.source, None)
            if hub is not None:
                self.background.stop(h.pattern.source)
                self._orphans.set_aside(hub)
        for pattern, h in chosen.items():
            hub = self.hubs.get(pattern)
            if hub is not None and hub.handler is h:
                continue  # served as it was (a disabled twin's file changed, another file)
            stopped = self.background.stop(pattern)
            hub = hub or self._orphans.adopt(pattern)
            if hub is None:
                hub = Hub(h, self.backplane, self.check_sends)
            else:
                detach_when_ended(hub.handler, stopped)
                hub.handler = h
            self.hubs[pattern] = hub
            h._serve_with(hub)
            self.background.start(h)
        self._table = [(h, self.hubs[h.pattern.source]) for h in declared]
        self._index = None

    def deliver(
        self, pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
    ) -> None:
        """A broadcast from another process (through the backplane): write it to this
        process's matching connections (those of a pattern in its grace too). A pattern with
        no hub, serving or in its grace, is named once (`UnservedPatterns`); a reloaded
        file's pattern never lacks one (`_swap` keeps its hub, on the thread that delivers)."""
        hub = self.hubs.get(pattern)
        if hub is None:
            hub = self._orphans.get(pattern)
            if hub is None:
                if self._loaded:
                    self._unserved.note(pattern, self.hubs)
                return
        hub.deliver(opcode, payload, rooms)

    async def close(self, timeout: float = STOP_WAIT) -> None:
        """Stop the background tasks, waiting up to `timeout` seconds for their clean-up
        (`finally`) to run; connections of patterns in their grace close now."""
        self._orphans.close()
        await self.background.close(timeout)


def _at(handler: Handler) -> str:
    return f"{shown(handler.file)}:{handler.line}"
