"""Whose a CancelledError out of a callback is.

wsside cancels a connection's callback task when a callback outstays its connection
(`CALLBACK_GRACE`) or a stop's time runs out; that CancelledError ends the task, as
cancellation should. Any other comes from what the callback awaited (a shared future, a
cached fetch that something else cancelled): it is that callback's error, given the error
policy like any exception, and the connection's next callbacks run as usual.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from typing import Any

__all__ = ["cancel", "cancelled_here"]

# Before Python 3.11 a task cannot say whether it is being cancelled (`Task.cancelling`):
# the tasks wsside cancelled are kept here instead.
_cancelled: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a connection's callback task, so that the CancelledError that follows ends it."""
    if sys.version_info < (3, 11):
        _cancelled.add(task)
    task.cancel()


def cancelled_here() -> bool:
    """Whether the running task is being cancelled, rather than user code in it raising the
    CancelledError of something else it awaited (then false). Outside a task (a callback run
    inline, in `data_received`), nothing is being cancelled."""
    task = asyncio.current_task()
    if task is None:
        return False
    if sys.version_info >= (3, 11):
        return task.cancelling() > 0
    return task in _cancelled
