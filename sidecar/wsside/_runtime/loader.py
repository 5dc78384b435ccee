"""Import one handler file and collect the `Handler`s it declares."""

from __future__ import annotations

import builtins
import functools
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType, ModuleType, TracebackType
from typing import Any

from ..handler import Handler, collecting
from .events import error_event, shown
from .missing_module import Missing, missing_module

__all__ = [
    "LoadResult",
    "forget_handler_file",
    "forget_modules",
    "import_handler_file",
    "importers_of",
    "is_handler_file",
    "module_name_for",
]


@dataclass
class LoadResult:
    path: Path
    module: ModuleType | None = None
    handlers: list[Handler] = field(default_factory=list)
    error: dict[str, Any] | None = None  # a load_error event, when the import failed
    missing: Missing | None = None  # when it failed for a module not found: what that means


_PACKAGE = "wsside_handlers"  # what handler files' module names start with
_NO_RELATIVE = (
    "a relative import in a handler file: import helpers by their name instead "
    "(`import _shared`, `from _lib.db import query`): the handlers folder is on sys.path"
)


def is_handler_file(relative: Path) -> bool:
    """A `.py` path (relative to the handlers folder) is a handler file unless a part of it
    starts with `_` (helpers, `__pycache__`) or `.` (hidden)."""
    return relative.suffix == ".py" and not any(
        part.startswith(("_", ".")) for part in relative.parts
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


# What the modules of handlers folders import, by the importer's name, as seen while handler
# files ran (their own imports and those of the helpers they first imported): what a helper's
# save must load again. Process-wide, as `sys.modules` is.
_IMPORTS: dict[str, set[str]] = {}
# The modules of handlers folders that first ran while a handler file loaded: all their
# imports are in `_IMPORTS`. Another one (imported first by the app itself) is taken to import
# every helper.
_TRACKED: set[str] = set()


def _under(file: object, folder: str) -> bool:
    return isinstance(file, str) and file.startswith(folder)


def _without_recording(exc: BaseException) -> None:
    """Takes the frames of `_imports_recorded`'s hook out of the tracebacks of `exc` and of
    the exceptions chained to it: an `import` in the user's file raised, not wsside."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = _skip_hook(current.__traceback__)
        todo += [current.__cause__, current.__context__]


def _skip_hook(tb: TracebackType | None) -> TracebackType | None:
    frames = []
    while tb is not None:
        if tb.tb_frame.f_code is not _RECORDING_CODE:
            frames.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for entry in reversed(frames):
        rebuilt = TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


@contextmanager
def _imports_recorded(root: Path) -> Iterator[None]:
    """Record in `_IMPORTS` each `import` that a module under `root` (or a handler file)
    runs meanwhile. `import` statements call `builtins.__import__` even for a module
    imported already, so a helper that an earlier file imported is seen too."""
    folder = str(root) + os.sep
    real = builtins.__import__
    before = set(sys.modules)
    builtins.__import__ = functools.partial(_recording, real, folder)
    try:
        yield
    finally:
        builtins.__import__ = real
        for name in set(sys.modules) - before:
            if _under(getattr(sys.modules.get(name), "__file__", None), folder):
                _TRACKED.add(name)


def _recording(
    real: Callable[..., ModuleType],
    folder: str,
    name: str,
    globals: Mapping[str, object] | None = None,
    locals: Mapping[str, object] | None = None,
    fromlist: Sequence[str] | None = (),
    level: int = 0,
) -> ModuleType:
    """`builtins.__import__` while handler files load: `real`, and what a module under
    `folder` (or wsside's own load of a handler file) imports, into `_IMPORTS`."""
    module = real(name, globals, locals, fromlist, level)
    importer = globals.get("__name__") if globals else None
    if globals is None or not isinstance(importer, str):
        return module
    if not (importer.startswith(_PACKAGE + ".") or _under(globals.get("__file__"), folder)):
        return module  # a library's own imports: never a helper's importer
    package = globals.get("__package__")
    try:
        full = importlib.util.resolve_name(
            "." * level + name, package if isinstance(package, str) else None
        )
    except (ImportError, ValueError):
        return module
    names = _IMPORTS.setdefault(importer, set())
    parts = full.split(".")
    names.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    names.update(f"{full}.{item}" for item in fromlist or () if item != "*")
    return module


# The hook's frames are the import's, not the user's (`_without_recording`).
_RECORDING_CODE = _recording.__code__


def _record_globals(module: ModuleType) -> None:
    """What `module` holds of other modules (a module, or a function or class of one), as
    imports: `importlib.import_module` goes round `__import__`."""
    names = _IMPORTS.setdefault(module.__name__, set())
    for value in tuple(vars(module).values()):
        if isinstance(value, ModuleType):
            names.add(value.__name__)
        elif isinstance(value, (type, FunctionType)) and isinstance(value.__module__, str):
            names.add(value.__module__)


def importers_of(names: Iterable[str], root: Path) -> set[str]:
    """`names` and the modules loaded from `root` (helpers, handler files) that import one
    of them, directly or through other modules; a module of `root` whose imports are not
    known (it first ran outside a handler file's load) is taken to import them all."""
    folder = str(root.resolve()) + os.sep
    found = set(names)
    importers: dict[str, set[str]] = {}
    for importer, imported in _IMPORTS.items():
        for name in imported:
            importers.setdefault(name, set()).add(importer)
    unknown = {
        name
        for name, module in tuple(sys.modules.items())
        if name not in _TRACKED
        and not name.startswith(_PACKAGE + ".")
        and _under(getattr(module, "__file__", None), folder)
    }
    todo = list(found | (unknown if found else set()))
    found.update(todo)
    while todo:
        for importer in importers.get(todo.pop(), ()):
            if importer not in found:
                found.add(importer)
                todo.append(importer)
    return found


def forget_modules(names: Iterable[str]) -> None:
    """Drop modules from `sys.modules` (the next `import` runs their code again), and what
    was known of their imports (their next run says it again)."""
    for name in names:
        sys.modules.pop(name, None)
        _IMPORTS.pop(name, None)
        _TRACKED.discard(name)


def module_name_for(path: Path, root: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).with_suffix("")
    return f"{_PACKAGE}." + ".".join(rel.parts)


def forget_handler_file(path: Path, root: Path) -> None:
    """Drop the module of a removed handler file from `sys.modules`: each file renamed or
    deleted would otherwise keep its last module, and every object it made, for good."""
    sys.modules.pop(module_name_for(path, root), None)


def import_handler_file(path: Path, root: Path) -> LoadResult:
    """Execute `path` as a fresh module; the previous module of the same file is untouched
    when the import fails, so the old version can keep serving."""
    name = module_name_for(path, root)
    result = LoadResult(path)
    collected: list[Handler] = []
    previous = sys.modules.get(name)
    # This version's imports replace the last one's; when it fails the last one serves on.
    imported_before = _IMPORTS.pop(name, set())
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        with collecting() as collected, _imports_recorded(root.resolve()):
            spec.loader.exec_module(module)
        _record_globals(module)
        imported = _imported_handler_file(path.resolve(), root.resolve(), collected)
        if imported is not None:
            raise _ImportsHandlerFile(path, imported)
    except BaseException as exc:
        _IMPORTS.setdefault(name, set()).update(imported_before)
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        _without_recording(exc)
        if isinstance(exc, _ImportsHandlerFile):
            result.error = exc.event()
            return result
        if isinstance(exc, ModuleNotFoundError) and _PACKAGE in (exc.name or "").split("."):
            # `from ._shared import x`: the package named is wsside's, which no user wrote.
            exc = ImportError(_NO_RELATIVE).with_traceback(exc.__traceback__)
        elif isinstance(exc, ModuleNotFoundError):
            result.missing = missing_module(exc, path, root)
            if result.missing is not None:
                # In the message, so that the traceback's last line (all `wsside serve`
                # prints) says it too.
                exc = ModuleNotFoundError(
                    f"{exc}: {result.missing.hint}", name=exc.name, path=exc.path
                ).with_traceback(exc.__traceback__)
        result.error = error_event("load_error", exc, files=(str(path),))
        if result.error["file"] is None:
            result.error["file"], result.error["line"] = str(path), 1
        return result
    result.module = module
    result.handlers = collected
    return result
