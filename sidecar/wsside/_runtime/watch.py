"""Which file events matter to hot reload, and keeping the watches that report them alive.

watchdog reports from its own thread. Each event that concerns a handler file, a helper, a
folder under the handlers folder or a config file is named (`Kind`) and passed to the event
loop (`call_soon_threadsafe`); what to do with it is `reload.py`'s.

The handlers folder's parent is watched too (not recursively), for the folder itself: it may
not exist yet, or be deleted and created again (`git stash -u`, a checkout). A folder's watch
dies with the folder, so a new folder of the same name gets a new watch (`rewatch`).

The folders of the project's modules that handler files import from outside the handlers
folder are watched too, not recursively (`watch_outside`), and again when one is deleted and
made again: their saves serve only after a restart, which `reload.py` says
(`outside_modules.py`), and may fix a handler file that could not import one. So are those of
the targets of handler files that are symlinks to files elsewhere: a target's save is its links'.

A config file created where `wsside serve` and the shim would find it before the one in use
(or where none was) is a change of the config file too: `find_config`'s order, the current
folder then the one holding the handlers folder, `wsside.toml` before `pyproject.toml`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Literal

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

from .config import CONFIG_FILE, ConfigError, find_config
from .events import log, logger
from .module_names import is_handler_file

__all__ = ["SCAN_INTERVAL", "FolderWatch", "Kind"]

# What a changed path is to hot reload.
Kind = Literal[
    "config",
    "root gone",
    "folder",
    "helper folder",
    "handler",
    "helper",
    "outside",
    "outside folder",
]

# A config file created where none was, or where it comes before the one in use: read, and
# served if it changes the settings. In the order `find_config` looks for them in a folder.
CONFIG_NAMES = (CONFIG_FILE, "pyproject.toml")
# How often the folders are scanned when the system's file watching cannot be had (inotify's
# limits): a save is seen this much later.
SCAN_INTERVAL = 0.5

_CHANGES = {
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_CLOSED,
    # A touch (inotify's IN_ATTRIB): watchdog 5 and later name it so, 4 calls it "modified".
    # It reads again a file that did not load; one that serves has the same bytes.
    "attrib",
}
# Events after which their source no longer is where it was.
_GONE = {EVENT_TYPE_DELETED, EVENT_TYPE_MOVED}


class FolderWatch:
    """Watches `root` (recursively), its parent, the config file's folder and those where a
    config file would come before it; calls `changed(kind, path, seen_at)` on the loop for
    each path that matters."""

    def __init__(
        self,
        root: Path,
        config_file: Path | None,
        changed: Callable[[Kind, Path, float], None],
        on_save: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.config_file = config_file
        # Where a config file created would be found before the one in use (anywhere `wsside
        # serve` and the shim look when there is none): folder -> names.
        searched = (Path.cwd().resolve(), root.parent)  # as `wsside serve` and the shim look
        self._config_names = _found_before(config_file, tuple(dict.fromkeys(searched)))
        self._changed = changed
        # Called on watchdog's thread with each changed Python file: the loop may be blocked.
        self._on_save = on_save
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: BaseObserver | None = None  # `Observer` is the platform's subclass
        self._handler = _Events(self)
        self._root_watch: ObservedWatch | None = None  # None: the folder is not watched now
        # The folders of the project's modules outside the handlers folder, each with its
        # watch and the folder's identity when it was made (a folder deleted and made again
        # needs a new one). Replaced, never changed in place: watchdog's thread reads it.
        self._outside: dict[Path, tuple[ObservedWatch, tuple[int, int]]] = {}
        # Targets outside the folder of handler files that are symlinks, with their links.
        self._links: Mapping[Path, tuple[Path, ...]] = {}
        # The folders `_watch` watches anyway (not recursively): no watch of their own.
        self._static: frozenset[Path] = frozenset()

    @property
    def watching(self) -> bool:
        return self._observer is not None

    def start(self) -> None:
        """Start watching (on the loop that `changed` is called on)."""
        self._loop = asyncio.get_running_loop()
        try:
            self._observer = self._watch(Observer())
        except OSError as exc:
            self._scan_instead(exc)

    async def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            await asyncio.get_running_loop().run_in_executor(None, observer.join, 2.0)

    def rewatch(self, root_gone: bool) -> None:
        """Drop the watch of a handlers folder that was deleted or moved (it watches nothing,
        or the folder where it went), and watch the handlers folder that is there now."""
        observer = self._observer
        if observer is None:
            return
        if root_gone and self._root_watch is not None:
            observer.unschedule(self._root_watch)
            self._root_watch = None
        if self._root_watch is None and self.root.is_dir():
            try:
                self._root_watch = observer.schedule(self._handler, str(self.root), recursive=True)
            except OSError as exc:
                self._scan_instead(exc)

    def watch_outside(
        self,
        files: Collection[Path],
        made_again: Collection[Path] = (),
        links: Mapping[Path, tuple[Path, ...]] | None = None,
    ) -> None:
        """Watch the folders of `files` too (resolved module files outside the handlers
        folder), and again those deleted and made again since (`made_again`: reported so): a
        Python file saved in one is reported as `outside`, the folder made again as
        `outside folder`. `links`: handler files that are symlinks to files outside the
        folder, by target (replacing those given before): a save of a target is reported as
        one of each of its links."""
        if links is not None:
            self._links = links
        if self._observer is not None:
            folders = {file.parent for file in (*files, *self._links)}
            self._outside = self._watched(self._observer, folders, set(made_again))

    def _watched(
        self, observer: BaseObserver, folders: Collection[Path], made_again: set[Path]
    ) -> dict[Path, tuple[ObservedWatch, tuple[int, int]]]:
        """The watches of `folders`: those made before, unless their folder was made again
        (`made_again`, or its watch has ended, or it is another folder now); new ones for the
        others. A folder that cannot be watched is left out: the line it is for is a courtesy
        (the README says to restart)."""
        watches = dict(self._outside)
        # A deleted folder's watch ends (a new folder may even get the same inode number).
        ended = {emitter.watch for emitter in observer.emitters if not emitter.is_alive()}
        for folder in sorted(folders):
            if folder in self._static or folder.is_relative_to(self.root):
                continue  # watched already
            try:
                info = folder.stat()
            except OSError:
                continue
            made = (info.st_dev, info.st_ino)
            before = watches.get(folder)
            if (
                before is not None
                and before[1] == made
                and folder not in made_again
                and before[0] not in ended
            ):
                continue
            if before is not None:
                try:
                    observer.unschedule(before[0])
                except (KeyError, OSError):  # its emitter ended with the folder
                    pass
            try:
                watches[folder] = (observer.schedule(self._handler, str(folder)), made)
            except OSError:
                watches.pop(folder, None)
        return watches

    def _watch(self, observer: BaseObserver) -> BaseObserver:
        """`observer`, watching what there is to watch now, started."""
        handler = self._handler
        self._root_watch = None
        try:
            if self.root.is_dir():
                self._root_watch = observer.schedule(handler, str(self.root), recursive=True)
            folders = {self.root.parent, *self._config_names}
            config = self.config_file
            if config is not None and not config.parent.is_relative_to(self.root):
                folders.add(config.parent)
            for folder in folders:
                if folder.is_dir():
                    observer.schedule(handler, str(folder), recursive=False)
        except OSError:
            observer.unschedule_all()  # gives back the watches made so far
            raise
        self._static = frozenset(folders)
        outside, self._outside = self._outside, {}
        self._outside = self._watched(observer, outside, set())  # a new observer: new ones
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
            for path in self._links.get(Path(str(raw)), (Path(str(raw)),)) if raw else ():
                self._report(path, event, left, now)

    def _report(self, path: Path, event: FileSystemEvent, left: bool, now: float) -> None:
        """Pass `path` of `event` to the loop, named, if it matters."""
        kind = self._kind(path, event.is_directory, left)
        if kind == "helper folder" and event.event_type == EVENT_TYPE_MODIFIED:
            kind = "folder"  # a file in it changed, and says so itself
        if kind == "outside folder" and event.event_type not in (
            EVENT_TYPE_CREATED,
            EVENT_TYPE_MOVED,
        ):
            return  # not made again: a file in it changed, and says so itself
        if self._on_save is not None and kind in ("handler", "helper"):
            self._on_save(str(path))
        if kind is not None and self._loop is not None and self._observer is not None:
            try:
                self._loop.call_soon_threadsafe(self._changed, kind, path, now)
            except RuntimeError:  # the loop closed while we were stopping
                pass

    def _kind(self, path: Path, is_directory: bool, left: bool = False) -> Kind | None:
        """What `path` is to hot reload; `left`: the event says it is no longer there."""
        if path == self.config_file or (
            path.name in self._config_names.get(path.parent, ()) and _found_first(path)
        ):
            return "config"
        if left and path == self.root:
            return "root gone"
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return None if left else self._outside_kind(path, is_directory)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            return None
        if is_directory:
            helper = any(part.startswith("_") for part in rel.parts)
            return "helper folder" if helper else "folder"
        if rel.suffix != ".py":
            return None  # editor temp and swap files: `.swp`, `~`, `4913`, `.tmp`
        return "handler" if is_handler_file(rel) else "helper"

    def _outside_kind(self, path: Path, is_directory: bool) -> Kind | None:
        """What a path outside the handlers folder that is there now is to hot reload: a
        Python file in a folder watched for the project's modules (one imported, or one a
        handler file could not import), or such a folder made again."""
        outside = self._outside
        if is_directory:
            return "outside folder" if path in outside else None
        if path.suffix != ".py" or path.name.startswith("."):
            return None
        parent = path.parent
        return "outside" if parent in outside or parent == self.root.parent else None


def _found_before(config: Path | None, searched: tuple[Path, ...]) -> dict[Path, tuple[str, ...]]:
    """The config file names that, created in each of the `searched` folders (in the order
    they are searched), would be read instead of `config`, the one in use."""
    if config is None:
        return dict.fromkeys(searched, CONFIG_NAMES)
    if config.parent not in searched or config.name not in CONFIG_NAMES:
        return {}  # given by name (--config, the plugin's `config`): nothing comes before it
    names: dict[Path, tuple[str, ...]] = {}
    for folder in searched:
        if folder == config.parent:
            ahead = CONFIG_NAMES[: CONFIG_NAMES.index(config.name)]
            if ahead:  # wsside.toml beside the pyproject.toml in use
                names[folder] = ahead
            return names
        names[folder] = CONFIG_NAMES
    return names


def _found_first(path: Path) -> bool:
    """`path` is the config file its folder gives (`find_config`): a pyproject.toml only with
    its [tool.wsside], not after a wsside.toml. One that cannot be read counts: reading the
    settings again says what is wrong with it, as a start would."""
    try:
        return find_config(path.parent) == path
    except ConfigError:
        return True


class _Events(FileSystemEventHandler):
    def __init__(self, watch: FolderWatch) -> None:
        self.watch = watch

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.watch.seen(event)
        except Exception:  # noqa: BLE001 - raised out of here it would end watchdog's thread
            logger.exception(
                "wsside: could not handle a file event (%s %s); hot reload goes on",
                event.event_type,
                event.src_path,
            )
