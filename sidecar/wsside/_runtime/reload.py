"""Hot reload: apply each save of a handler file, a helper or the config file once.

`watch.py` names each file event that matters and passes it to the loop. An editor's save is
several events (temp file, rename, modify, close), so changes are collected here until the
folder has been quiet for `QUIET` seconds, then each file is judged by what is on disk now,
not by the events: it exists, it was deleted, or its content is what already serves (then
nothing happens). A new handlers folder of the same name gets a new watch, and every file in
it is read.

The loop is wsside's while it reads the changed files and imports each one: the stall
watchdog is told (`own_work.OwnWork`), so that the time this takes is not reported as a handler
blocking the loop.

Here: when to apply, and which files. Elsewhere: which file events matter (`watch.py`), which
handler files a saved helper reaches, and which modules leave `sys.modules` for it
(`importers.py`); loading one file (`Registry.load_file`, importing through `loader.py`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path

from .events import log, shown
from .importers import forget_all_helpers, forget_helpers, imported_by_name
from .installed import note_another_install
from .module_names import file_digest, handler_files, in_folder
from .outside_modules import changed_note, failed_for, imported_from_outside
from .own_work import OwnWork
from .registry import Registry
from .watch import FolderWatch, Kind

__all__ = ["QUIET", "Reloader"]

# Quiet time that ends a save, and the longest a stream of events may hold a reload back.
QUIET = 0.03
MAX_HOLD = 0.5


class Reloader:
    """Watches `registry.root` and `config_file`; reloads, adds and removes handler files.

    A change to a helper (`_name.py`) reloads the handler files that import it, directly or
    through other helpers (and those that failed to load, which may have failed for it); the
    `reloaded` event of a file that imports it names it (`because`).
    A change to the config file calls `on_config_change` (the runner decides what to do).
    A helper's load error is said once per batch, for all the handler files it failed.
    A save of a module imported from outside the handlers folder is said, with `restart`:
    how to restart the process, which alone serves it.
    """

    def __init__(
        self,
        registry: Registry,
        config_file: Path | None,
        on_config_change: Callable[[], None],
        on_save: Callable[[str], None] | None = None,
        restart: str = "restart the process",
    ) -> None:
        self.registry = registry
        self._restart = restart
        self.root = registry.root.resolve()
        config = config_file.resolve() if config_file else None
        self._watch = FolderWatch(self.root, config, self._note, on_save)
        self.on_config_change = on_config_change
        self._loop: asyncio.AbstractEventLoop | None = None
        self._digests: dict[Path, bytes] = {}
        # What changed since the last flush, each with when it was first seen (perf_counter).
        self._files: dict[Path, float] = {}
        # A folder changed: every file is read again (those whose bytes changed load).
        self._everything: float | None = None
        # Helpers (and handler files imported by name) saved, each with when first seen.
        self._helpers: dict[Path, float] = {}
        self._helper_folder = False  # a helper package's folder changed: all helpers are new
        self._config = False
        # Python files saved outside the handlers folder (`watch.py` says which matter), each
        # with when first seen; a folder of the project's modules made again.
        self._outside: dict[Path, float] = {}
        self._outside_folders: set[Path] = set()
        self._first: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._root_gone = False  # the watched folder was deleted or moved since the last flush
        # Files to apply, one per turn of the loop (a checkout's hundred files never hold
        # the open connections for longer than one import): path -> (since, force, the saved
        # helpers it imports).
        self._pending: dict[Path, tuple[float, bool, tuple[Path, ...]]] = {}
        self._config_pending = False
        self._step_handle: asyncio.Handle | None = None
        # What a stall of the loop during `_flush` and `_step` is: wsside's own work.
        self._own = OwnWork()
        registry.on_waiting_load = self._loaded_by_registry

    @property
    def busy(self) -> bool:
        """Files of a batch are still to be applied (one per turn of the loop)."""
        return bool(self._pending)

    def start(self) -> None:
        """Start watching (call on the loop, before the first load so no save is missed)."""
        self._loop = asyncio.get_running_loop()
        for path in handler_files(self.root):
            self._digests[in_folder(path)] = file_digest(path)
        self._watch.start()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._step_handle is not None:
            self._step_handle.cancel()
        self._pending.clear()
        self.registry.release_helper_errors()
        await self._watch.stop()

    def watch_imports(self) -> None:
        """Watch the modules the handler files have imported from outside the handlers
        folder so far (call after loads)."""
        self._watch.watch_outside(imported_from_outside(self.root), links=self._links())

    def _note(self, kind: Kind, path: Path, seen_at: float) -> None:
        if not self._watch.watching:
            return
        if kind == "handler":
            self._files.setdefault(path, seen_at)
            # Also a module that handler files import by its name (`from common import X`)?
            # Like a helper's, its change reaches them only when they run again.
            # Or one that kept others from loading (`from common import X`, common.py broken).
            if imported_by_name(path, self.root) or self.registry.failed_others(path):
                kind = "helper"
        if kind == "config":
            self._config = True
        elif kind == "outside":
            self._outside.setdefault(path, seen_at)
        elif kind == "outside folder":
            self._outside_folders.add(path)
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
        with self._own.running("reading the changed handler files"):
            self._read_changes()

    def _read_changes(self) -> None:
        self._timer = self._first = None
        note_another_install()  # `pip install -U wsside` meanwhile: this process keeps its own
        # Watch the handlers folder that is there now, before its files are read.
        gone, self._root_gone = self._root_gone, False
        self._watch.rewatch(gone)
        files, self._files = self._files, {}
        everything, self._everything = self._everything, None
        helpers, self._helpers = self._helpers, {}
        config, self._config = self._config, False
        helper_folder, self._helper_folder = self._helper_folder, False
        outside, self._outside = self._outside, {}
        outside_folders, self._outside_folders = self._outside_folders, set()
        # A file that did not load is read again when saved, even as it was: what it imports
        # may have been installed since (`pip install`, then save).
        forced = {path for path in files if path in self.registry.errors}
        if outside or outside_folders:
            self._outside_saved(outside, outside_folders, files, forced)
        because: dict[Path, list[Path]] = {}  # the saved helpers each file imports
        if everything is not None:
            known = {*handler_files(self.root), *self.registry.files, *self.registry.errors}
            for path in known:
                files[in_folder(path)] = min(files.get(in_folder(path), everything), everything)
        # Helpers not there now were removed (or renamed): an import that misses one says so.
        removed = {helper for helper in helpers if not helper.exists()}
        self.registry.gone = self.registry.gone.difference(helpers) | removed
        if helper_folder:
            forget_all_helpers(self.root)
            forced |= set(files)
        elif helpers:
            since = min(helpers.values())
            # Those that import them, and those that failed to load (perhaps for them).
            because = self._importers(helpers)
            for path in because.keys() | set(self.registry.errors):
                files[path] = min(files.get(path, since), since)
                forced.add(path)
        # Removals first, so a file renamed to another name does not clash with itself.
        for path in sorted(files, key=lambda p: (p.is_file(), p.as_posix())):
            if path not in forced and path not in self._pending and self._unchanged(path):
                continue  # a touch, or the folder's own event: only what changed is a batch
            since, force, named = self._pending.get(path, (files[path], False, ()))
            named += tuple(helper for helper in because.get(path, ()) if helper not in named)
            self._pending[path] = (min(since, files[path]), force or path in forced, named)
        self._config_pending = self._config_pending or config
        if self._step_handle is None:
            self._step()

    def _outside_saved(
        self,
        saved: dict[Path, float],
        folders: set[Path],
        files: dict[Path, float],
        forced: set[Path],
    ) -> None:
        """Python files outside the handlers folder were saved (or a folder of the project's
        modules made again, whose files may have changed meanwhile): say which of them serve
        only after a restart, and read again the handler files that failed to load for one
        of them (added to `files` and `forced`)."""
        # One imported by a callback since, a folder made again: watched from now on.
        known = imported_from_outside(self.root)
        self._watch.watch_outside(known, folders, self._links())
        if folders:  # their files may have changed while they were gone
            now = time.perf_counter()
            saved = {path: now for path in known if path.parent in folders} | saved
        note = changed_note(saved, self._restart)
        if note is not None:
            log(note, "warning")
        for path, error in self.registry.errors.items():
            if failed_for(error, saved):
                since = min(saved.values())
                files[path] = min(files.get(path, since), since)
                forced.add(path)

    def _links(self) -> dict[Path, tuple[Path, ...]]:
        """The handler files that are symlinks to files outside the folder, by target: an
        edit of the target is a save of each link."""
        links: dict[Path, tuple[Path, ...]] = {}
        for link in sorted({*self.registry.files, *self.registry.errors}):
            if link.is_symlink():
                target = Path(os.path.realpath(link))
                if not target.is_relative_to(self.root):
                    links[target] = (*links.get(target, ()), link)
        return links

    def _importers(self, helpers: Collection[Path]) -> dict[Path, list[Path]]:
        """The handler files that import a saved helper of `helpers`, directly or through
        other modules of the folder, each with the saved helpers it imports, for its
        `reloaded` line (a handler file imported by name and saved is its own importer, and
        names none for itself). What imports them leaves `sys.modules` (`forget_helpers`).

        One helper at a time, to know which file imports which. The files found are those
        one call for them all finds, but each call forgets what it found: a file that reaches
        a saved helper only through another saved helper is named for the first one found.
        Files that failed to load are asked as well as those serving (they load again anyway);
        one whose error is in a saved helper imports it.
        """
        found: dict[Path, list[Path]] = {}
        known = [*self.registry.files, *self.registry.errors]
        for helper in sorted(helpers):
            for path in forget_helpers((helper,), self.root, known):
                named = found.setdefault(path, [])
                if path != helper:
                    named.append(helper)
        for path, error in self.registry.errors.items():
            if not error.get("file"):
                continue
            at = in_folder(Path(error["file"]))
            if at in helpers and at != path and at not in found.get(path, ()):
                found.setdefault(path, []).append(at)
        return found

    def _step(self) -> None:
        """Apply the next pending file; the rest on the loop's next turns, so that open
        connections are served between two imports. The config file's change comes last."""
        self._step_handle = None
        if self._pending:
            # A helper that fails its importers is said once, at the batch's end.
            self.registry.hold_helper_errors()
            path = next(iter(self._pending))
            since, force, because = self._pending.pop(path)
            with self._own.running(f"reloading {shown(path)}"):
                self._apply(path, since, force, because)
        if self._pending:
            assert self._loop is not None
            self._step_handle = self._loop.call_soon(self._step)
            return
        self._own.done()
        self.registry.release_helper_errors()
        self.watch_imports()
        if self._config_pending:
            self._config_pending = False
            self.on_config_change()

    def _loaded_by_registry(self, path: Path) -> float | None:
        """The registry loads `path` now, refused before for a pattern that is free now: it
        reads what is on disk, so a pending load of the file would import the same bytes
        again. Returns when that save was seen, for the `reloaded` event's `ms`."""
        if not (path.is_file() or path.is_symlink()):
            return None  # removed meanwhile: its pending removal clears the load's error
        since, _, _ = self._pending.pop(path, (None, False, ()))
        self._digests[path] = file_digest(path)
        return since

    def _unchanged(self, path: Path) -> bool:
        """`path` holds the bytes that already serve."""
        known = self._digests.get(path)
        return known is not None and path.is_file() and file_digest(path) == known

    def _apply(self, path: Path, since: float, force: bool, because: tuple[Path, ...]) -> None:
        # A symlink that leads nowhere is loaded too, which says so in one line.
        if path.is_file() or path.is_symlink():
            digest = file_digest(path)
            if digest == self._digests.get(path) and not force:
                return  # the same bytes already serve: a touch, or a late event of one save
            # Not there before: created since the start (or again after its removal).
            added = path not in self._digests
            self._digests[path] = digest
            self.registry.load_file(path, since=since, added=added, because=because)
        else:
            self._digests.pop(path, None)
            self.registry.remove_file(path)
