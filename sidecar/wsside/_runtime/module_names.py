"""What a Python file of a handlers folder is to wsside, and the name it is loaded under.

A handler file is loaded by wsside, once, under a name of its own package
(`wsside_handlers.chat`), so that it never clashes with a module of the app. A helper
(`_shared.py`, `_lib/db.py`) is imported by the handler files themselves, by its bare name
(the handlers folder is on `sys.path`: `helper_path.py`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HANDLERS_PACKAGE", "is_handler_file", "is_helper_file", "module_name_for"]

HANDLERS_PACKAGE = "wsside_handlers"  # what handler files' module names start with


def is_handler_file(relative: Path) -> bool:
    """A `.py` path (relative to the handlers folder) is a handler file unless a part of it
    starts with `_` (helpers, `__pycache__`) or `.` (hidden)."""
    return relative.suffix == ".py" and not any(
        part.startswith(("_", ".")) for part in relative.parts
    )


def is_helper_file(relative: Path) -> bool:
    """A `.py` path (relative to the handlers folder) that is not a handler file, nor hidden
    (a part starts with `.`), nor in `__pycache__`."""
    return (
        relative.suffix == ".py"
        and not is_handler_file(relative)
        and not any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
    )


def module_name_for(path: Path, root: Path) -> str:
    """The module name wsside loads the handler file `path` of the folder `root` under."""
    rel = path.resolve().relative_to(root.resolve()).with_suffix("")
    return f"{HANDLERS_PACKAGE}." + ".".join(rel.parts)
