"""Which modules of a handlers folder import which: recorded while handler files load, asked
when a helper is saved.

A helper's new code reaches a handler file only when that file runs again, and only if the
helper, and every module of the folder between the two, is dropped from `sys.modules` first.
So while a handler file loads, `builtins.__import__` is wrapped (`recording_imports`) and each
`import` that a module of the folder runs is noted: even of a module imported already, which
is how a helper that an earlier file imported is seen too. On a save, the handler files to
load again are those that reach the helper through these records (`forget_helpers`).

`loader.py` runs each handler file's import inside `replacing_imports_of` and
`recording_imports`; `reload.py` asks `forget_helpers`, `forget_all_helpers` (a helper
package's folder changed) and `imported_by_name` (a handler file other modules import by
its own name, as they would a helper).
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FunctionType, ModuleType, TracebackType

from .module_names import HANDLERS_PACKAGE, is_handler_file, is_helper_file, module_name_for

__all__ = [
    "forget_all_helpers",
    "forget_helpers",
    "imported_by_name",
    "record_globals",
    "recording_imports",
    "replacing_imports_of",
    "without_hook_frames",
]

# What the modules of handlers folders import, by the importer's name, as seen while handler
# files ran (their own imports and those of the helpers they first imported): what a helper's
# save must load again. Process-wide, as `sys.modules` is.
_IMPORTS: dict[str, set[str]] = {}
# The modules of handlers folders whose imports are all in `_IMPORTS`: those that first ran
# while a handler file loaded, and those whose source was read since (`_read_imports`: first
# imported by a callback or by the app itself).
_TRACKED: set[str] = set()


def _under(file: object, folder: str) -> bool:
    return isinstance(file, str) and file.startswith(folder)


# ---- while a handler file loads ---------------------------------------------------------


@contextmanager
def replacing_imports_of(name: str) -> Iterator[None]:
    """What the module `name` imports inside the block replaces what it imported before;
    when the block raises (the load failed: the last version serves on), both are kept."""
    before = _IMPORTS.pop(name, set())
    try:
        yield
    except BaseException:
        _IMPORTS.setdefault(name, set()).update(before)
        raise


@contextmanager
def recording_imports(root: Path) -> Iterator[None]:
    """Record each `import` that a module under `root` (or a handler file) runs meanwhile.
    `import` statements call `builtins.__import__` even for a module imported already."""
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
    if not (importer.startswith(HANDLERS_PACKAGE + ".") or _under(globals.get("__file__"), folder)):
        return module  # a library's own imports: never a helper's importer
    package = globals.get("__package__")
    try:
        full = importlib.util.resolve_name(
            "." * level + name, package if isinstance(package, str) else None
        )
    except (ImportError, ValueError):
        return module
    _note_import(_IMPORTS.setdefault(importer, set()), full, fromlist or ())
    return module


def _note_import(names: set[str], full: str, fromlist: Iterable[str]) -> None:
    """`from a.b import c` imports `a`, `a.b` and perhaps the module `a.b.c`."""
    parts = full.split(".")
    names.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    names.update(f"{full}.{item}" for item in fromlist if item != "*")


# The hook's frames are the import's, not the user's (`without_hook_frames`).
_RECORDING_CODE = _recording.__code__


def record_globals(module: ModuleType) -> None:
    """What `module` holds of other modules (a module, or a function or class of one), as
    imports: `importlib.import_module` goes round `__import__`."""
    names = _IMPORTS.setdefault(module.__name__, set())
    for value in tuple(vars(module).values()):
        if isinstance(value, ModuleType):
            names.add(value.__name__)
        elif isinstance(value, (type, FunctionType)) and isinstance(value.__module__, str):
            names.add(value.__module__)


def without_hook_frames(exc: BaseException) -> None:
    """Takes the frames of `recording_imports`'s hook out of the tracebacks of `exc` and of
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


# ---- when files of the folder are saved -------------------------------------------------


def forget_helpers(saved: Collection[Path], root: Path, served: Iterable[Path]) -> set[Path]:
    """The handler files among `served` that import a module of `saved` (resolved paths),
    directly or through other modules of the folder `root`: they must load again. The saved
    modules and the modules of the folder that import them are dropped from `sys.modules`
    (all but the served handler files), so that those files' next `import` runs the new code."""
    names = {path.name for path in saved}
    changed = [
        name
        for name, module in tuple(sys.modules.items())
        if (file := getattr(module, "__file__", None))
        and Path(file).name in names  # most modules, at the cost of no system call
        and Path(file).resolve() in saved
    ]
    affected = _importers_of(changed, root)
    by_name = {module_name_for(path, root): path for path in served}
    _forget(name for name in affected if name not in by_name and name in sys.modules)
    return {by_name[name] for name in affected if name in by_name}


def forget_all_helpers(root: Path) -> None:
    """Drop the imported helpers of `root`, and its handler files imported by name, so the
    handler files' next `import` runs their new code (a helper package's folder changed)."""
    for name, module in tuple(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if not path.is_relative_to(root):
            continue
        rel = path.relative_to(root)
        if is_helper_file(rel) or (is_handler_file(rel) and _by_name(name, path, root)):
            _forget((name,))


def imported_by_name(path: Path, root: Path) -> bool:
    """`path`, a handler file of `root`, is also in `sys.modules` under a name of its own
    (`from common import X`): like a helper's, its change reaches its importers only when
    they run again."""
    for name, module in tuple(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or Path(file).name != path.name:
            continue  # most modules, at the cost of no system call
        if Path(file).resolve() == path and _by_name(name, path, root):
            return True
    return False


def _by_name(name: str, path: Path, root: Path) -> bool:
    """Module `name` of `path`, a handler file, is not wsside's own load of it."""
    return name != module_name_for(path, root)


def _importers_of(names: Iterable[str], root: Path) -> set[str]:
    """`names` and the modules loaded from `root` (helpers, handler files) that import one
    of them, directly or through other modules. A module of `root` that first ran outside a
    handler file's load has its imports read from its source; one whose source cannot be
    read is taken to import them all."""
    folder = str(root.resolve()) + os.sep
    found = set(names)
    unknown = set()
    for name, module in tuple(sys.modules.items()):
        if (
            found
            and name not in _TRACKED
            and not name.startswith(HANDLERS_PACKAGE + ".")
            and _under(getattr(module, "__file__", None), folder)
            and not _read_imports(name, module)
        ):
            unknown.add(name)
    importers: dict[str, set[str]] = {}
    for importer, imported in _IMPORTS.items():
        for name in imported:
            importers.setdefault(name, set()).add(importer)
    todo = list(found | unknown)
    found.update(todo)
    while todo:
        for importer in importers.get(todo.pop(), ()):
            if importer not in found:
                found.add(importer)
                todo.append(importer)
    return found


def _read_imports(name: str, module: ModuleType) -> bool:
    """Record what module `name`, first imported outside a handler file's load (in a
    callback, say), imports, as its source's `import` statements say (those inside functions
    too) and its globals hold; then it is tracked as if it had run while a file loaded.
    False when its source cannot be read: its imports are not known."""
    file = getattr(module, "__file__", None)
    try:
        tree = ast.parse(Path(str(file)).read_bytes(), str(file))
    except (OSError, SyntaxError, ValueError):
        return False
    package = getattr(module, "__package__", None)
    names = _IMPORTS.setdefault(name, set())
    for node in ast.walk(tree):
        statement: list[tuple[str, list[str]]] = []
        if isinstance(node, ast.Import):
            statement = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            items = [alias.name for alias in node.names]
            statement = [("." * node.level + (node.module or ""), items)]
        for imported, fromlist in statement:
            try:
                full = importlib.util.resolve_name(imported, package)
            except (ImportError, ValueError):  # beyond the top-level package: fails when run
                continue
            _note_import(names, full, fromlist)
    record_globals(module)
    _TRACKED.add(name)
    return True


def _forget(names: Iterable[str]) -> None:
    """Drop modules from `sys.modules` (the next `import` runs their code again), and what
    was known of their imports (their next run says it again).

    A submodule is also an attribute of its package (`_lib.db`), which `from _lib import db`
    reads before it looks in `sys.modules`: it goes too, or that import keeps the old module."""
    for name in names:
        module = sys.modules.pop(name, None)
        _IMPORTS.pop(name, None)
        _TRACKED.discard(name)
        parent, _, child = name.rpartition(".")
        package = sys.modules.get(parent) if parent else None
        if module is not None and getattr(package, child, None) is module:
            delattr(package, child)
