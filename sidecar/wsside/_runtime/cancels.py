"""Whose a CancelledError out of a callback is.

wsside cancels a connection's callback task when a callback outstays its connection
(`CALLBACK_GRACE`) or a stop's time runs out, and the server or asyncio cancels every task
at its end; that CancelledError ends the task, as cancellation should. Any other comes from
what the callback awaited (a shared future, a cached fetch that something else cancelled):
it is that callback's error, given the error policy like any exception, and the
connection's next callbacks run as usual.

Only Python 3.11 and later can tell the two apart (`Task.cancelling`). On 3.10 every
CancelledError is taken as the task's own cancellation: a callback's own ends its
connection's callbacks, as it did before wsside told them apart.
"""

from __future__ import annotations

import asyncio
import sys

__all__ = ["cancelled_here"]


def cancelled_here() -> bool:
    """Whether the running task is being cancelled, rather than user code in it raising the
    CancelledError of something else it awaited (then false). Outside a task (a callback run
    inline, in `data_received`), nothing is being cancelled."""
    task = asyncio.current_task()
    if sys.version_info >= (3, 11):
        return task is not None and task.cancelling() > 0
    return task is not None  # cannot be told: a real cancellation must never be swallowed
