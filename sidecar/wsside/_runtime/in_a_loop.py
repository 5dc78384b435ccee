"""Handler files are imported inside a running event loop when served (the sidecar's `start`
loads them): `wsside doctor` and `wsside types` import them the same way, so that a file
imports there as it does when served. A file may ask for the running loop at its top level,
or use a library that refuses to work inside one (Django's ORM raises
`SynchronousOnlyOperation` for a query at a file's top level): either way, what doctor says
of a file is what Vite's terminal says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

__all__ = ["in_a_running_loop"]

_T = TypeVar("_T")


def in_a_running_loop(fn: Callable[[], _T]) -> _T:
    """`fn()`, called inside a running event loop on this thread (a new one, closed after; the
    loop already running, when there is one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return fn()

    async def call() -> _T:
        return fn()

    return asyncio.run(call())
