"""Import one handler file and collect the `Handler`s it declares.

The file runs as a module of wsside's own package (its name: `module_names.py`), and what it
imports meanwhile is recorded (`importers.py`), so that a helper's save loads it again. When
the import fails, the previous module stays, and its handlers serve on. When it failed because
a helper it imports did not load, the error is the helper's, at the helper's line, and each
batch of loads reports it once for all the files it kept from loading (`HelperErrors`).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .._message_read import Reader
from .._signatures import Callback, adapt_callback, connection_first_note
from ..handler import Handler, collecting
from ..handler_options import check_option
from ..pattern import Pattern
from ..responses import Response
from .called_module import called_module_hint
from .events import emit, error_event, logger, printable, refused_at_its_line, shown
from .fresh_source import FreshSourceLoader
from .importers import record_globals, recording_imports, replacing_imports_of, without_hook_frames
from .missing_env import missing_env_hint
from .missing_module import (
    Missing,
    missing_module,
    removed_error,
    stdlib_shadow_hint,
    typing_name_hint,
    with_hint,
)
from .module_names import is_handler_file, module_name_for, unreadable
from .option_typos import unknown_options
from .relative_imports import relative_import_advice

__all__ = ["HelperErrors", "LoadResult", "forget_handler_file", "import_handler_file"]


@dataclass
class LoadResult:
    path: Path
    module: ModuleType | None = None
    handlers: list[Handler] = field(default_factory=list)
    error: dict[str, Any] | None = None  # a load_error event, when the import failed
    missing: Missing | None = None  # when it failed for a module not found: what that means
    in_helper: bool = False  # it failed because a module of the folder it imports did not load
    # What loaded but will not work as written (a callback that gets the connection where it
    # expects the message, a Handler subclass that nothing serves): a warning line each.
    notes: list[str] = field(default_factory=list)


# Where `Handler(...)` checks what its line gave it (the options, the pattern, the callbacks,
# the message types of `receives=` and `sends=`).
_OPTION_CHECKS = (
    inspect.getfile(Handler),
    inspect.getfile(Response),
    inspect.getfile(Reader),
    inspect.getfile(check_option),
    inspect.getfile(Pattern),
    inspect.getfile(adapt_callback),
)


class _ImportsHandlerFile(ImportError):
    """The file imported another handler file, whose handlers it thereby declared again:
    wsside loads each handler file once, by itself."""

    def __init__(self, path: Path, imported: Path) -> None:
        super().__init__(
            f"imports the handler file {shown(imported)}, which wsside loads by itself (its "
            "handlers would be declared twice): move what both use into a helper, a file "
            "whose name starts with _, and import that"
        )
        self.importer, self.imported = path, imported

    def event(self) -> dict[str, Any]:
        """A load error at the import's line, without a traceback (nothing was raised there)."""
        name = re.escape(self.imported.stem)
        lines = self.importer.read_text(encoding="utf-8", errors="replace").splitlines()
        statement = re.compile(rf"\s*(from|import)\s.*\b{name}\b")
        line = next((n for n, text in enumerate(lines, 1) if statement.match(text)), 1)
        event = error_event("load_error", self)
        event.update(message=str(self), file=str(self.importer), line=line, column=None)
        event.update(traceback=None)
        return event


def _imported_handler_file(path: Path, root: Path, handlers: list[Handler]) -> Path | None:
    """Another handler file whose handlers were declared while `path` ran (it imported it)."""
    for handler in handlers:
        file = Path(handler.file).resolve()
        if file != path and file.is_relative_to(root) and is_handler_file(file.relative_to(root)):
            return file
    return None


def forget_handler_file(path: Path, root: Path) -> None:
    """Drop the module of a removed handler file from `sys.modules`: each file renamed or
    deleted would otherwise keep its last module, and every object it made, for good."""
    sys.modules.pop(module_name_for(path, root), None)


def import_handler_file(path: Path, root: Path, gone: frozenset[Path] = frozenset()) -> LoadResult:
    """Execute `path` as a fresh module; the previous module of the same file is untouched
    when the import fails, so the old version can keep serving. `gone`: modules of the
    folder removed while serving; an import that misses one is that module's error."""
    name = module_name_for(path, root)
    result = LoadResult(path)
    problem = unreadable(path)
    if problem is not None:  # one line: the import machinery's traceback would add nothing
        result.error = {"type": "load_error", "message": problem, "file": str(path)}
        result.error.update(line=None, column=None, traceback=None)
        return result
    collected: list[Handler] = []
    previous = sys.modules.get(name)
    made: ModuleType | None = None  # the module, once made: what its top level bound so far
    try:
        with replacing_imports_of(name):
            # Compiled from the file as it is now, never from `__pycache__` (fresh_source.py).
            spec = importlib.util.spec_from_file_location(
                name, path, loader=FreshSourceLoader(name, str(path))
            )
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = made = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            # Said first, so that a file whose import ends the process (`os._exit`, a C
            # extension that crashes or exits) is named by whoever watches the process.
            emit({"type": "importing", "file": str(path)})
            with collecting() as collected, recording_imports(root.resolve()):
                spec.loader.exec_module(module)
            record_globals(module)
            imported = _imported_handler_file(path.resolve(), root.resolve(), collected)
            if imported is not None:
                raise _ImportsHandlerFile(path, imported)
    except BaseException as exc:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        without_hook_frames(exc)
        if isinstance(exc, _ImportsHandlerFile):
            result.error = exc.event()
            return result
        if isinstance(exc, ModuleNotFoundError) and (removed := removed_error(exc, gone, root)):
            result.error, result.in_helper = removed, True  # said once for all its importers
            return result
        if (relative := relative_import_advice(exc, path, root)) is not None:
            # `from ._shared import x`: the package it names is wsside's, which no user wrote.
            exc = ImportError(relative).with_traceback(exc.__traceback__)
        elif (shadowed := stdlib_shadow_hint(exc, root)) is not None:
            exc = with_hint(exc, shadowed)
        elif isinstance(exc, ModuleNotFoundError):
            result.missing = missing_module(exc, path, root)
            if result.missing is not None:
                # In the message, so that the traceback's last line (all `wsside serve`
                # prints) says it too.
                exc = ModuleNotFoundError(
                    f"{exc}: {result.missing.hint}", name=exc.name, path=exc.path
                ).with_traceback(exc.__traceback__)
        elif type(exc) is ImportError and (hint := typing_name_hint(exc)) is not None:
            exc = ImportError(f"{exc}: {hint}", name=exc.name).with_traceback(exc.__traceback__)
        elif made is not None and (called := called_module_hint(exc, made)) is not None:
            exc = TypeError(f"{exc}: {called}").with_traceback(exc.__traceback__)
        elif isinstance(exc, KeyError) and (unset := missing_env_hint(exc)) is not None:
            exc = with_hint(exc, unset)
        result.error = error_event("load_error", exc, files=(str(path),))
        if result.error["file"] is None:
            result.error["file"], result.error["line"] = str(path), 1
        refusers: tuple[str, ...] = _OPTION_CHECKS
        if isinstance(exc, TypeError) and result.error["line"] is not None:
            # Every misspelt option of the call at once, each with its likely meaning.
            typos = unknown_options(exc, Path(result.error["file"]), result.error["line"])
            if typos is not None:
                exc = TypeError(typos).with_traceback(exc.__traceback__)
                result.error = error_event("load_error", exc, files=(str(path),))
                refusers = (*refusers, str(path))  # Python refused the call at its line
        # wsside refused a message type or an option of the user's Handler(...) line: the line
        # and message say all (`--log-level debug` keeps the traceback, and wsside's frames).
        if not logger.isEnabledFor(logging.DEBUG) and refused_at_its_line(exc, str(path), refusers):
            result.error["traceback"] = None
        _blame_helper(result, exc, root)
        return result
    result.module = module
    result.handlers = collected
    result.notes = [*_callback_notes(collected), *_subclass_notes(path, module, collected)]
    return result


def _callback_notes(handlers: list[Handler]) -> list[str]:
    """A note for each callback, or rule function, of `handlers` that takes one parameter
    named as the message (`def message(data)`): it gets the connection there."""
    notes = []
    for handler in handlers:
        given: list[tuple[str, Callback | None]] = list(handler.callbacks.items())
        for rule in handler.responses:
            if callable(rule.match):
                given.append(("Response(match=...)", rule.match))
            if callable(rule.response):
                given.append(("Response(response=...)", rule.response))
        notes += [note for name, fn in given if (note := connection_first_note(name, fn))]
    return notes


def _subclass_notes(path: Path, module: ModuleType, handlers: list[Handler]) -> list[str]:
    """A note for each class of the file that subclasses Handler and that no Handler the file
    declares is an instance of (`class Chat(Handler): pattern = ...` serves nothing)."""
    notes = []
    for value in list(vars(module).values()):
        if not (
            isinstance(value, type)
            and issubclass(value, Handler)
            and value is not Handler
            and value.__module__ == module.__name__
            and not any(isinstance(handler, value) for handler in handlers)
        ):
            continue
        name = value.__name__
        bases = ", ".join(base.__name__ for base in value.__bases__)
        text = path.read_text(encoding="utf-8", errors="replace")
        found = re.search(rf"^[ \t]*class[ \t]+{re.escape(name)}\b", text, re.MULTILINE)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        variable = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
        pattern = getattr(value, "pattern", None)
        if not (isinstance(pattern, str) and pattern.startswith("/")):
            pattern = f"/ws/{variable}"
        notes.append(
            f"{shown(path)}:{line}: class {name}({bases}) is not served: wsside serves Handler "
            f'objects, {variable} = Handler("{pattern}") with @{variable}.on_message functions '
            '(README "Handler API")'
        )
    return notes


def _blame_helper(result: LoadResult, exc: BaseException, root: Path) -> None:
    """When `exc` is another module of the folder `root` failing to load (a syntax error in
    it, or its top level raising), not the handler file itself, the error is that helper's:
    at the helper's line, the same whichever handler file imported it."""
    assert result.error is not None
    folder = str(root.resolve()) + os.sep
    mine = os.path.realpath(result.path)

    def helper(file: str | None) -> bool:
        if not file or os.path.realpath(file) == mine:
            return False
        return os.path.abspath(file).startswith(folder) or os.path.realpath(file).startswith(folder)

    if isinstance(exc, SyntaxError):
        if not helper(exc.filename):
            return
        # Its own spot says all: the frames of whichever handler file imported it first, and
        # of the import machinery, would name one importer of several.
        text = "".join(traceback.format_exception_only(type(exc), exc))
        result.error.update(file=exc.filename, line=exc.lineno, column=exc.offset)
        result.error["traceback"] = printable(text)
        result.in_helper = True
        return
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "<module>" and helper(code.co_filename):
            # The innermost module whose top level raised: the helper that did not load.
            result.error.update(file=code.co_filename, line=tb.tb_lineno, column=None)
            result.in_helper = True
        tb = tb.tb_next


class HelperErrors:
    """A helper's load error, reported once for every handler file it kept from loading.

    While a batch of handler files loads (the start, or a reload's batch: `hold`), the load
    errors of helpers are held, one per error (its file, line and message), each listing in
    `sources` the handler files that failed with it; `release` gives them at the batch's end.
    A handler file's own load error is held too: a handler file that others import by name
    (`from common import X`) is a helper to them, and its own error, the one report, lists in
    `sources` the handler files it kept from loading.
    """

    def __init__(self) -> None:
        self._held: dict[tuple[Any, ...], dict[str, Any]] | None = None
        self._own: dict[str, dict[str, Any]] = {}  # by the real path of the file at fault

    def hold(self) -> bool:
        """Hold the helper errors from now on; False when they are held already (whoever
        started holding them releases them)."""
        if self._held is not None:
            return False
        self._held = {}
        return True

    def add(self, event: dict[str, Any], in_helper: bool) -> bool:
        """Hold `event`, a load error with its `source` (`in_helper`: the error is a helper's,
        else it is held when it is the source's own); False when it is not held (the caller
        reports it now)."""
        if self._held is None:
            return False
        if not in_helper:
            own = event["file"] is not None and _same_file(event["file"], event["source"])
            if own:
                self._own[os.path.realpath(event["source"])] = event
            return own
        key = (event["file"], event["line"], event["column"], event["message"])
        held = self._held.setdefault(key, {**event, "sources": []})
        held["sources"].append(event["source"])
        return True

    def drop(self, source: str) -> None:
        """The handler file `source` loads again, or is gone: no held error names it."""
        if self._held is None:
            return
        self._own.pop(os.path.realpath(source), None)
        for key, event in tuple(self._held.items()):
            if source in event["sources"]:
                event["sources"].remove(source)
                if not event["sources"]:
                    del self._held[key]
                else:
                    event["source"] = event["sources"][0]

    def release(self) -> list[dict[str, Any]]:
        """The errors held, each once (a handler file's own error with the files it kept from
        loading, in place of its error as their helper's); holding ends."""
        held, self._held = self._held, None
        own, self._own = self._own, {}
        helpers: list[dict[str, Any]] = []
        for event in (held or {}).values():
            mine = own.get(os.path.realpath(event["file"]))
            if mine is None:
                helpers.append(event)
            else:
                mine.setdefault("sources", [mine["source"]]).extend(event["sources"])
        return [*own.values(), *helpers]


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
