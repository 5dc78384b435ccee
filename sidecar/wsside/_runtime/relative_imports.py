"""What to say of a relative import in a handler file. A handler file is no package's module
(wsside loads each one by itself, under a name of its own: `module_names.py`), so `from
._rules import SIZE` cannot work there; the load error gives the import to write for that
line instead (`from games._rules import SIZE`: the handlers folder is on sys.path), or, when
the module it names is a handler file (`from .board import Board`), the helper to move what
both use into (`games/_board.py`): a handler file imported by another is refused.
"""

from __future__ import annotations

import ast
import linecache
import os
import sys
from pathlib import Path

from .events import shown
from .module_names import HANDLERS_PACKAGE, in_folder, is_handler_file

__all__ = ["relative_import_advice"]

# A relative import whose statement cannot be read (the file changed since it ran).
_NO_RELATIVE = (
    "a relative import in a handler file: import helpers by their name instead "
    "(`import _shared`, `from _lib.db import query`): the handlers folder is on sys.path"
)


def relative_import_advice(exc: BaseException, path: Path, root: Path) -> str | None:
    """When `exc` was raised by a relative import of the handler file `path` (a handler file
    is no package's module: `from ._rules import SIZE` cannot work), what to say: the import
    to write for that line, `from games._rules import SIZE`, read from the file at the line
    the traceback gives. None when `exc` is not that."""
    if not isinstance(exc, ImportError):
        return None
    # What a relative import raises there: a module of wsside's package not found (`from
    # ._rules import SIZE`), or Python's own word (`from .. import x` above the top). Any
    # other error is not the relative import's, even when one is on the line that raised
    # (`import nosuchmod; from .p import q`).
    wsside_s = isinstance(exc, ModuleNotFoundError) and HANDLERS_PACKAGE in str(exc.name).split(".")
    if not wsside_s and not str(exc).startswith("attempted relative import"):
        return None
    # When the statement cannot be read: a module of wsside's package was not found.
    fallback = _NO_RELATIVE if wsside_s else None
    mine, line = os.path.realpath(path), None
    tb = exc.__traceback__
    while tb is not None:
        if os.path.realpath(tb.tb_frame.f_code.co_filename) == mine:
            line = tb.tb_lineno  # the innermost frame of the file: the statement that raised
        tb = tb.tb_next
    if line is None:
        return fallback
    source = "".join(linecache.getlines(str(path)))  # the source that ran (fresh_source.py)
    try:
        tree = ast.parse(source or path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return fallback
    statement = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.level > 0
            and node.lineno <= line <= (node.end_lineno or node.lineno)
        ),
        None,
    )
    if statement is None:
        return fallback
    start = "a relative import in a handler file: "
    root = root.resolve()
    folders = in_folder(path).relative_to(root).parts[:-1]
    if statement.level - 1 > len(folders):
        return (
            f"{start}`{ast.unparse(statement)}` goes above the handlers folder "
            f"({shown(root)}), which cannot be reached that way: import what is in the "
            "handlers folder by its name (the folder is on sys.path)"
        )
    package = folders[: len(folders) - (statement.level - 1)]
    named = [*package, *([statement.module] if statement.module else [])]
    if not named and any(alias.name == "*" for alias in statement.names):
        return fallback  # `from . import *` at the top: nothing to write in its place
    odd = next((part for part in package if not part.isidentifier()), None)
    if odd is not None:
        folder = root.joinpath(*package[: package.index(odd) + 1])
        return (
            f"{start}`{ast.unparse(statement)}` imports from {shown(folder)}/, whose name "
            "Python cannot import (not an identifier): rename the folder, then import from "
            "it by name (the handlers folder is on sys.path)"
        )
    handler_file = _handler_file_imported(statement, package, root)
    if handler_file is not None:
        return handler_file
    written: ast.stmt = (
        ast.ImportFrom(module=".".join(named), names=statement.names, level=0)
        if named
        else ast.Import(names=statement.names)
    )
    message = (
        f"{start}write `{ast.unparse(written)}` instead (the handlers folder is on sys.path; "
        "wsside loads each handler file by itself, not as a module of a package)"
    )
    if folders and _imported_as_package(folders, path, root):
        folder = root.joinpath(*folders)
        message += (
            f". Other files import {shown(folder)}/ as a package by name, but wsside loads "
            f"every .py file not starting with _ as a handler file too ({shown(path)} "
            f"included): a folder of helpers is best named "
            f"{shown(folder.with_name('_' + folder.name))}/"
        )
    return message


def _handler_file_imported(
    statement: ast.ImportFrom, package: tuple[str, ...], root: Path
) -> str | None:
    """When the relative import `statement` (of a file in the folder `package`, relative to
    `root`) names a handler file, the module `from .board import Board` or a name `from .
    import board`: what to say, that the file is loaded by wsside by itself, and the helper
    to move what both use into (`games/_board.py`); None when it names none. The import by
    name would be refused too (`imports the handler file ...`)."""
    written: ast.stmt
    if statement.module:
        parts = [*package, *statement.module.split(".")]
        target = _handler_file(root, parts)
        if target is None:
            return None
        helper = [*parts[:-1], "_" + parts[-1]]
        written = ast.ImportFrom(module=".".join(helper), names=statement.names, level=0)
    else:
        targets = [
            (alias, _handler_file(root, [*package, alias.name])) for alias in statement.names
        ]
        files = [file for _, file in targets if file is not None]
        if not files:
            return None
        target = files[0]
        names = [
            ast.alias("_" + alias.name, alias.asname or alias.name) if file is not None else alias
            for alias, file in targets
        ]
        written = (
            ast.ImportFrom(module=".".join(package), names=names, level=0)
            if package
            else ast.Import(names=names)
        )
        helper = [*package, "_" + target.stem]
    return (
        f"a relative import in a handler file: `{ast.unparse(statement)}` imports "
        f"{shown(target)}, a handler file, which wsside loads by itself (its handlers would "
        "be declared twice): move what both use into a helper, a file whose name starts "
        f"with _ ({shown(root.joinpath(*helper[:-1], helper[-1] + '.py'))}), and write "
        f"`{ast.unparse(written)}`"
    )


def _handler_file(root: Path, parts: list[str]) -> Path | None:
    """The handler file the module `parts` (relative to `root`) is, if it is one: a file
    `a/b.py`, not a package's folder `a/b/`."""
    file = root.joinpath(*parts[:-1], parts[-1] + ".py")
    relative = file.relative_to(root)
    return file if is_handler_file(relative) and file.is_file() else None


def _imported_as_package(folders: tuple[str, ...], path: Path, root: Path) -> bool:
    """Another module of the folder `root` imports the folder of `path` (`folders`, relative
    to `root`) as a package by name (`common` of `import common.fmt`): imported already, or
    named by an import of another file's text."""
    if not all(part.isidentifier() for part in folders):
        return False
    name = ".".join(folders)
    folder = str(root.joinpath(*folders))
    module = sys.modules.get(name)
    if module is not None and folder in list(getattr(module, "__path__", None) or ()):
        return True
    mine = os.path.realpath(path)
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if os.path.realpath(file) == mine:
            continue
        try:
            tree = ast.parse(file.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported = [node.module]
            else:
                continue
            if any(each == name or each.startswith(name + ".") for each in imported):
                return True
    return False
