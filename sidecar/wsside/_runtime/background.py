"""Background tasks of handlers (`@h.background`): started when a handler file is loaded,
cancelled when it is reloaded or removed. Each process that loads the file runs them.

A reload does not start the new version's tasks beside the old ones' clean-up: they start
once the cancelled tasks of the same pattern or file have finished their `finally`, or
`STOP_WAIT` seconds after the cancel (then a warning names each one still running). Only the
tasks wait: the file's connections are served by the new code at once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._places import place
from .events import log, report_runtime_error

if TYPE_CHECKING:
    from .._signatures import Callback
    from ..handler import Handler

__all__ = ["STOP_WAIT", "BackgroundTasks", "detach_when_ended"]

# The longest closing waits for cancelled tasks to finish their `finally` (or `except
# CancelledError`) clean-up before the server goes on shutting down (`Sidecar.close` waits
# less when less of its shutdown budget is left), and the longest the new version's tasks
# wait for the old version's after a reload.
STOP_WAIT = 5.0


@dataclass
class _Run:
    """A task started for `handler`'s background function `fn`. `ends_by`: set when wsside
    cancelled it, the loop time until which a new version's tasks wait for it; `warned`:
    a warning said that it still ran when they started."""

    handler: Handler
    fn: Callback
    ends_by: float | None = None
    warned: bool = False


class BackgroundTasks:
    """The running background tasks, by handler pattern."""

    def __init__(self) -> None:
        self._tasks: dict[str, list[asyncio.Task[object]]] = {}
        # Every task started and not finished, running or cancelled (its clean-up running).
        self._runs: dict[asyncio.Task[object], _Run] = {}
        # Starts that wait for cancelled tasks to finish, by pattern.
        self._starting: dict[str, asyncio.Task[None]] = {}

    def start(self, handler: Handler) -> None:
        """Start `handler`'s background functions (outside an event loop: nothing to do).

        While tasks of its pattern or its file run (a reload cancels them just before), they
        start on a later turn of the loop, once those cancelled have finished (at most
        `STOP_WAIT` seconds after their cancel); a start still waiting is replaced."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        pattern = handler.pattern.source
        self._cancel_start(pattern)
        if any(_related(handler, run.handler) for run in self._runs.values()):
            # Decided on the next turn: the reload that called this cancels the old version's
            # tasks of its other patterns after this call.
            self._starting[pattern] = loop.create_task(
                self._start_after(handler), name=f"wsside: starting {handler!r}'s background"
            )
        else:
            self._start_now(handler)

    def running(self, pattern: str) -> tuple[asyncio.Task[object], ...]:
        return tuple(self._tasks.get(pattern, ()))

    def stop(self, pattern: str) -> list[asyncio.Task[object]]:
        """Cancel `pattern`'s tasks, and its start still waiting; returns the tasks (they
        finish at a later turn of the loop)."""
        self._cancel_start(pattern)
        tasks = self._tasks.pop(pattern, [])
        for task in tasks:
            run = self._runs.get(task)
            if run is not None and run.ends_by is None:
                run.ends_by = task.get_loop().time() + STOP_WAIT
            task.cancel()
        return tasks

    async def close(self, timeout: float = STOP_WAIT) -> None:
        """Cancel every task and wait, up to `timeout` seconds, for them to finish (those a
        reload cancelled before too)."""
        starts = list(self._starting.values())
        for pattern in tuple(self._starting):
            self._cancel_start(pattern)
        for pattern in tuple(self._tasks):
            self.stop(pattern)
        tasks = [task for task in (*self._runs, *starts) if not task.done()]
        self._runs.clear()
        if tasks and timeout > 0:
            await asyncio.wait(tasks, timeout=timeout)

    def _cancel_start(self, pattern: str) -> None:
        waiting = self._starting.pop(pattern, None)
        if waiting is not None:
            waiting.cancel()

    async def _start_after(self, handler: Handler) -> None:
        """Start `handler`'s tasks once the cancelled ones of its pattern or file have
        finished, or have run `STOP_WAIT` seconds since their cancel."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            waiting = {
                task: run.ends_by
                for task, run in self._runs.items()
                if run.ends_by is not None
                and run.ends_by > now
                and not task.done()
                and _related(handler, run.handler)
            }
            if not waiting:
                break
            await asyncio.wait(list(waiting), timeout=min(waiting.values()) - now)
        if self._starting.get(handler.pattern.source) is asyncio.current_task():
            del self._starting[handler.pattern.source]
        self._start_now(handler)

    def _start_now(self, handler: Handler) -> None:
        loop = asyncio.get_running_loop()
        tasks = self._tasks.setdefault(handler.pattern.source, [])
        handler._background_started()
        if not handler.background_tasks:
            return
        for task, run in self._runs.items():
            if (
                run.ends_by is not None
                and not run.warned
                and not task.done()
                and _related(handler, run.handler)
            ):
                run.warned = True  # still running past its wait: the new ones start beside it
                log(_still_running(run), "warning")
        for fn in handler.background_tasks:
            task = loop.create_task(_no_exit(fn(handler)))
            self._runs[task] = _Run(handler, fn)
            task.add_done_callback(functools.partial(self._done, handler=handler))
            tasks.append(task)

    def _done(self, task: asyncio.Task[object], handler: Handler) -> None:
        self._runs.pop(task, None)
        _task_done(task, handler)


def detach_when_ended(old: Handler, tasks: list[asyncio.Task[object]]) -> None:
    """`old`, the version a reload replaced, still pushes to its connections until its
    cancelled background `tasks` have ended (their `finally` included), then to none: a
    producer stops its thread in that `finally`, and what the thread handed the loop before
    then still reaches the connections, as what the `finally` itself sends does. The new
    version's tasks start only once those have ended (`start`), so the two never push at
    once; a push through `old` after that is warned of (`Handler.broadcast`)."""
    left = {task for task in tasks if not task.done()}
    if not left:
        old._serve_with(None)
        return

    def ended(task: asyncio.Task[object]) -> None:
        left.discard(task)
        if not left:
            old._serve_with(None)

    for task in left:
        task.add_done_callback(ended)


def _related(new: Handler, old: Handler) -> bool:
    """`old`'s tasks are an earlier version of `new`'s: the same pattern, or the same file."""
    return new.pattern.source == old.pattern.source or new.file == old.file


def _still_running(run: _Run) -> str:
    name = getattr(run.fn, "__name__", repr(run.fn))
    return (
        f"background task {name} ({place(run.fn)}) of {run.handler!r} is still in its finally "
        f"{STOP_WAIT:g} s after its file's reload cancelled it: the new version's background "
        "tasks start now, so both run at once"
    )


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
