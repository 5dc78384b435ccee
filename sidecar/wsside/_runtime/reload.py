"""Hot reload: watch the handlers folder (and the config file) and apply each save once.

watchdog reports from its own thread; everything that touches the registry runs on the event
loop (`call_soon_threadsafe`). An editor's save is several events (temp file, rename, modify,
close), so changes are collected until the folder has been quiet for `QUIET` seconds, then
each file is judged by what is on disk now, not by the events: it exists, it was deleted, or
its content is what already serves (then nothing happens).

The folder's parent is watched too (not recursively), for the folder itself: it may not exist
yet, or be deleted and created again (`git stash -u`, a checkout). A folder's watch dies with
the folder, so a new folder of the same name gets a new watch, and every file in it is read.

Here: when to apply, and which files. Elsewhere: which handler files a saved helper reaches,
and which modules leave `sys.modules` for it (`importers.py`); loading one file
(`Registry.load_file`, importing through `loader.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from .config import CONFIG_FILE
from .events import log, logger
from .importers import forget_all_helpers, forget_helpers, imported_by_name
from .module_names import is_handler_file
from .registry import Registry, handler_files

__all__ = ["QUIET", "Reloader"]

# A config file created where none was: read, and served if it changes the settings.
CONFIG_NAMES = (CONFIG_FILE, "pyproject.toml")
# Quiet time that ends a save, and the longest a stream of events may hold a reload back.
QUIET = 0.03
MAX_HOLD = 0.5
# How often the folders are scanned when the system's file watching cannot be had (inotify's
# limits): a save is seen this much later.
SCAN_INTERVAL = 0.5

_CHANGES = {
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_CLOSED,
}
# Events after which their source no longer is where it was.
_GONE = {EVENT_TYPE_DELETED, EVENT_TYPE_MOVED}


class Reloader:
    """Watches `registry.root` and `config_file`; reloads, adds and removes handler files.

    A change to a helper (`_name.py`) reloads the handler files that import it, directly or
    through other helpers (and those that failed to load, which may have failed for it).
    A change to the config file calls `on_config_change` (the runner decides what to do).
    """

    def __init__(
        self,
        registry: Registry,
        config_file: Path | None,
        on_config_change: Callable[[], None],
        on_save: Callable[[str], None] | None = None,
    ) -> None:
        self.registry = registry
        self.root = registry.root.resolve()
        self.config_file = config_file.resolve() if config_file else None
        # Without a config file, where one would be found if it were created: the current
        # folder and the one holding the handlers folder (as `wsside serve` and the shim look).
        self._config_folders = (
            {Path.cwd().resolve(), self.root.parent} if self.config_file is None else set()
        )
        self.on_config_change = on_config_change
        # Called on watchdog's thread with each changed Python file: the loop may be blocked.
        self.on_save = on_save
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: BaseObserver | None = None  # `Observer` is the platform's subclass
        self._digests: dict[Path, bytes] = {}
        # What changed since the last flush, each with when it was first seen (perf_counter).
        self._files: dict[Path, float] = {}
        # A folder changed: every file is read again (those whose bytes changed load).
        self._everything: float | None = None
        # Helpers (and handler files imported by name) saved, each with when first seen.
        self._helpers: dict[Path, float] = {}
        self._helper_folder = False  # a helper package's folder changed: all helpers are new
        self._config = False
        self._first: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._watcher = _Watcher(self)
        self._root_watch: ObservedWatch | None = None  # None: the folder is not watched now
        self._root_gone = False  # the watched folder was deleted or moved since the last flush
        # Files to apply, one per turn of the loop (a checkout's hundred files never hold
        # the open connections for longer than one import): path -> (since, force).
        self._pending: dict[Path, tuple[float, bool]] = {}
        self._config_pending = False
        self._step_handle: asyncio.Handle | None = None

    @property
    def busy(self) -> bool:
        """Files of a batch are still to be applied (one per turn of the loop)."""
        return bool(self._pending)

    def start(self) -> None:
        """Start watching (call on the loop, before the first load so no save is missed)."""
        self._loop = asyncio.get_running_loop()
        for path in handler_files(self.root):
            self._digests[path.resolve()] = _digest(path)
        try:
            self._observer = self._watch(Observer())
        except OSError as exc:
            self._scan_instead(exc)

    def _watch(self, observer: BaseObserver) -> BaseObserver:
        """`observer`, watching what there is to watch now, started."""
        watcher = self._watcher
        self._root_watch = None
        try:
            if self.root.is_dir():
                self._root_watch = observer.schedule(watcher, str(self.root), recursive=True)
            folders = {self.root.parent, *self._config_folders}
            config = self.config_file
            if config is not None and not config.parent.is_relative_to(self.root):
                folders.add(config.parent)
            for folder in folders:
                if folder.is_dir():
                    observer.schedule(watcher, str(folder), recursive=False)
        except OSError:
            observer.unschedule_all()  # gives back the watches made so far
            raise
        observer.daemon = True
        observer.start()
        return observer

    def _scan_instead(self, exc: OSError) -> None:
        """The system refused to watch (inotify's limits are per user, and shared with every
        editor, Vite and other tool): scan the folders instead, and say so once."""
        if self._observer is not None:
            self._observer.stop()  # its thread is a daemon; it ends by itself
        self._observer = self._watch(PollingObserver(timeout=SCAN_INTERVAL))
        limits = "fs.inotify.max_user_instances and fs.inotify.max_user_watches"
        log(
            f"hot reload: cannot watch {self.root} ({exc.strerror or exc}): "
            f"scanning it every {SCAN_INTERVAL:g} s instead. Other programs hold this "
            f"user's file watches; closing some, or raising {limits} (sysctl), "
            "gives instant reloads back",
            "warning",
        )

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._step_handle is not None:
            self._step_handle.cancel()
        self._pending.clear()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            await asyncio.get_running_loop().run_in_executor(None, observer.join, 2.0)

    # ---- watchdog's thread --------------------------------------------------------------

    def seen(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES:
            return
        now = time.perf_counter()
        paths = [
            (event.src_path, event.event_type in _GONE),
            (getattr(event, "dest_path", ""), False),
        ]
        for raw, left in paths:
            if not raw:
                continue
            path = Path(str(raw))
            kind = self._kind(path, event.is_directory, left)
            if kind == "helper folder" and event.event_type == EVENT_TYPE_MODIFIED:
                kind = "folder"  # a file in it changed, and says so itself
            if self.on_save is not None and kind in ("handler", "helper"):
                self.on_save(str(path))
            if kind is not None and self._loop is not None and self._observer is not None:
                try:
                    self._loop.call_soon_threadsafe(self._note, kind, path, now)
                except RuntimeError:  # the loop closed while we were stopping
                    return

    def _kind(self, path: Path, is_directory: bool, left: bool = False) -> str | None:
        """What `path` is to the reloader; `left`: the event says it is no longer there."""
        if path == self.config_file or (
            path.name in CONFIG_NAMES and path.parent in self._config_folders
        ):
            return "config"
        if left and path == self.root:
            return "root gone"
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return None
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            return None
        if is_directory:
            helper = any(part.startswith("_") for part in rel.parts)
            return "helper folder" if helper else "folder"
        if rel.suffix != ".py":
            return None  # editor temp and swap files: `.swp`, `~`, `4913`, `.tmp`
        return "handler" if is_handler_file(rel) else "helper"

    # ---- the loop -----------------------------------------------------------------------

    def _note(self, kind: str, path: Path, seen_at: float) -> None:
        if self._observer is None:
            return
        if kind == "handler":
            self._files.setdefault(path, seen_at)
            # Also a module that handler files import by its name (`from common import X`)?
            # Like a helper's, its change reaches them only when they run again.
            kind = "helper" if imported_by_name(path, self.root) else kind
        if kind == "config":
            self._config = True
        elif kind == "helper":
            self._helpers.setdefault(path, seen_at)
        elif kind != "handler":
            self._root_gone = self._root_gone or kind == "root gone"
            self._helper_folder = self._helper_folder or kind == "helper folder"
            self._everything = min(self._everything or seen_at, seen_at)
        now = time.perf_counter()
        if self._first is None:
            self._first = now
        if self._timer is not None:
            self._timer.cancel()
        delay = min(QUIET, self._first + MAX_HOLD - now)
        assert self._loop is not None
        self._timer = self._loop.call_later(max(delay, 0.0), self._flush)

    def _flush(self) -> None:
        self._timer = self._first = None
        self._watch_root()
        files, self._files = self._files, {}
        everything, self._everything = self._everything, None
        helpers, self._helpers = self._helpers, {}
        config, self._config = self._config, False
        helper_folder, self._helper_folder = self._helper_folder, False
        forced: set[Path] = set()
        if everything is not None:
            known = {*handler_files(self.root), *self.registry.files, *self.registry.errors}
            for path in known:
                files[path.resolve()] = min(files.get(path.resolve(), everything), everything)
        if helper_folder:
            forget_all_helpers(self.root)
            forced = set(files)
        elif helpers:
            since = min(helpers.values())
            # Those that import them, and those that failed to load (perhaps for them).
            importers = forget_helpers(helpers, self.root, self.registry.files)
            for path in importers | set(self.registry.errors):
                files[path] = min(files.get(path, since), since)
                forced.add(path)
        # Removals first, so a file renamed to another name does not clash with itself.
        for path in sorted(files, key=lambda p: (p.is_file(), p.as_posix())):
            if path not in forced and path not in self._pending and self._unchanged(path):
                continue  # a touch, or the folder's own event: only what changed is a batch
            since, force = self._pending.get(path, (files[path], False))
            self._pending[path] = (min(since, files[path]), force or path in forced)
        self._config_pending = self._config_pending or config
        if self._step_handle is None:
            self._step()

    def _step(self) -> None:
        """Apply the next pending file; the rest on the loop's next turns, so that open
        connections are served between two imports. The config file's change comes last."""
        self._step_handle = None
        if self._pending:
            path = next(iter(self._pending))
            since, force = self._pending.pop(path)
            self._apply(path, since, force)
        if self._pending:
            assert self._loop is not None
            self._step_handle = self._loop.call_soon(self._step)
        elif self._config_pending:
            self._config_pending = False
            self.on_config_change()

    def _watch_root(self) -> None:
        """Drop the watch of a handlers folder that was deleted or moved (it watches nothing,
        or the folder where it went), and watch the handlers folder that is there now, before
        its files are read."""
        observer, gone, self._root_gone = self._observer, self._root_gone, False
        if observer is None:
            return
        if gone and self._root_watch is not None:
            observer.unschedule(self._root_watch)
            self._root_watch = None
        if self._root_watch is None and self.root.is_dir():
            try:
                self._root_watch = observer.schedule(self._watcher, str(self.root), recursive=True)
            except OSError as exc:
                self._scan_instead(exc)

    def _unchanged(self, path: Path) -> bool:
        """`path` holds the bytes that already serve."""
        known = self._digests.get(path)
        return known is not None and path.is_file() and _digest(path) == known

    def _apply(self, path: Path, since: float, force: bool) -> None:
        if path.is_file():
            digest = _digest(path)
            if digest == self._digests.get(path) and not force:
                return  # the same bytes already serve: a touch, or a late event of one save
            self._digests[path] = digest
            self.registry.load_file(path, since=since)
        else:
            self._digests.pop(path, None)
            self.registry.remove_file(path)


class _Watcher(FileSystemEventHandler):
    def __init__(self, reloader: Reloader) -> None:
        self.reloader = reloader

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.reloader.seen(event)
        except Exception:  # noqa: BLE001 - raised out of here it would end watchdog's thread
            logger.exception(
                "wsside: could not handle a file event (%s %s); hot reload goes on",
                event.event_type,
                event.src_path,
            )


def _digest(path: Path) -> bytes:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return b""
