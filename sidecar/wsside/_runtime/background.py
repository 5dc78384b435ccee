"""Background tasks of handlers (`@h.background`): started when a handler file is loaded,
cancelled when it is reloaded or removed. Each process that loads the file runs them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from .events import report_runtime_error

if TYPE_CHECKING:
    from ..handler import Handler

__all__ = ["STOP_WAIT", "BackgroundTasks"]

# The longest closing waits for cancelled tasks to finish their `finally` (or `except
# CancelledError`) clean-up before the server goes on shutting down (`Sidecar.close` waits
# less when less of its shutdown budget is left).
STOP_WAIT = 5.0


class BackgroundTasks:
    """The running background tasks, by handler pattern."""

    def __init__(self) -> None:
        self._tasks: dict[str, list[asyncio.Task[object]]] = {}

    def start(self, handler: Handler) -> None:
        """Start `handler`'s background functions (outside an event loop: nothing to do)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        tasks = self._tasks.setdefault(handler.pattern.source, [])
        for fn in handler.background_tasks:
            task = loop.create_task(_no_exit(fn(handler)))
            task.add_done_callback(functools.partial(_task_done, handler=handler))
            tasks.append(task)

    def running(self, pattern: str) -> tuple[asyncio.Task[object], ...]:
        return tuple(self._tasks.get(pattern, ()))

    def stop(self, pattern: str) -> list[asyncio.Task[object]]:
        """Cancel `pattern`'s tasks; returns them (they finish at a later turn of the loop)."""
        tasks = self._tasks.pop(pattern, [])
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self, timeout: float = STOP_WAIT) -> None:
        """Cancel every task and wait, up to `timeout` seconds, for them to finish."""
        tasks = [task for pattern in tuple(self._tasks) for task in self.stop(pattern)]
        if tasks and timeout > 0:
            await asyncio.wait(tasks, timeout=timeout)


async def _no_exit(work: Coroutine[Any, Any, object]) -> object:
    """`work`, with sys.exit() in it made an error of the task: a task that raises SystemExit
    stops the event loop, and the whole server with it."""
    try:
        return await work
    except SystemExit as exc:
        # Where sys.exit() was called stays the error's place (its traceback).
        error = RuntimeError(f"a background task called sys.exit({exc.code!r})")
        raise error.with_traceback(exc.__traceback__) from None


def _task_done(task: asyncio.Task[object], handler: Handler) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        report_runtime_error(handler, exc, "background")
