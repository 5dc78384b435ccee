"""Which thread may write to a connection: the one that made it, an event loop's (asyncio
transports are not thread-safe). `Connection`'s writes and `Handler.broadcast` check it, and
raise `off_loop_error` on any other thread, one running an event loop of its own included.
"""

from __future__ import annotations

import asyncio
import threading
from _thread import RLock
from collections.abc import Callable
from typing import TypeAlias

__all__ = ["ThreadMark", "is_this_thread", "may_write", "off_loop_error", "this_thread"]

# A thread's mark: an RLock that thread holds for its whole life, so that
# `is_this_thread(mark)` is True on that thread alone.
ThreadMark: TypeAlias = RLock

# The cheapest check found of the thread that runs, about 180 instructions a call under
# callgrind on Python 3.11 (a bool returned by a call CPython specializes), where comparing
# `threading.get_ident()` with a kept ident costs 490 (an int made and compared per call) and
# `asyncio._get_running_loop()` 350 plus a getpid system call. `conn.send` pays it per
# message. (An undocumented method that threading.Condition uses; typeshed leaves it out.)
is_this_thread: Callable[[ThreadMark], bool] = getattr(RLock, "_is_owned")  # noqa: B009 - not typed
_marks = threading.local()


def this_thread() -> ThreadMark:
    """This thread's mark: made, and acquired for good, on its first call here."""
    mark: ThreadMark | None = getattr(_marks, "mark", None)
    if mark is None:
        mark = _marks.mark = RLock()
        mark.acquire()  # never released
    return mark


def may_write(writer: ThreadMark | None) -> bool:
    """Whether this thread may write to connections that `writer` writes to: that thread
    alone while there are any (a thread running a loop of its own may not either), else (None)
    any thread with a running event loop."""
    if writer is not None:
        return is_this_thread(writer)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def off_loop_error(subject: str, method: str, call: str) -> RuntimeError:
    """The error for `subject.method()` (one that writes to sockets) called on another thread
    than the event loop's; `call` is what to hand over, e.g. "conn.send, data"."""
    return RuntimeError(
        f"{subject}.{method}() outside the event loop's thread: call it from async code, or "
        f"hand it over: from a thread of your own, loop.call_soon_threadsafe({call}) (loop = "
        "asyncio.get_running_loop(), kept from async code such as the callback that starts the "
        "thread; keyword arguments through functools.partial); from a worker thread of anyio "
        f"(a FastAPI `def` route), anyio.from_thread.run_sync({call}); from Django's (a sync "
        "view), make the view `async def`, or asgiref's async_to_sync of an async function "
        "that calls it"
    )
