"""How reports name a file, and the place a function was written: one spelling for the
declarations (`handler.py`'s errors) and every layer above (`_runtime/events.py` re-exports
`shown`)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["place", "shown"]


def shown(file: str | os.PathLike[str]) -> str:
    """A file as report lines name it: relative to the current folder when inside it."""
    path, here = Path(file), Path.cwd()
    return str(path.relative_to(here) if path.is_relative_to(here) else path)


def place(fn: Callable[..., Any]) -> str:
    """Where a function was defined, `ws/chat.py:12` (its repr when it has no code)."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return repr(fn) if code is None else f"{shown(code.co_filename)}:{code.co_firstlineno}"
