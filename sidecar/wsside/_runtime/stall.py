"""Stall watchdog: notices handler code that blocks the event loop, and says where.

The loop runs a cheap tick every `STALL_TICK` seconds. A thread checks that the tick keeps
coming; when it is more than `STALL_THRESHOLD` late, the thread samples the loop thread's
stack (`sys._current_frames()`), the only moment the blocking frame can be seen, and logs a
warning at once (so a loop blocked for good is still reported). When the loop runs again, a
`stall` event goes out from the loop thread, so event subscribers never run on another thread:

    {"type": "stall", "seconds", "file", "line", "function", "message", "traceback"}

`file` and `line` are those of the innermost frame inside the handlers folder (the user's
code that blocks), else of the innermost frame; the warning and `message` name the file as
every report line does (`ws/chat.py:19`, relative to the current folder when inside it), the
event's `file` stays the frame's own. `seconds` is exact to within one tick.

A process stopped (SIGSTOP, a debugger attached from outside) or starved of CPU runs neither
the loop nor the watchdog: when the watchdog itself wakes late and the loop thread's CPU clock
(where the platform has one) says it did not run meanwhile, the pause is nobody's stall, and
lateness counts again from the watchdog's wake. (A callback holding the GIL in a long C call
also keeps the watchdog from waking, but its thread runs all along: that one is reported.)

While wsside itself holds the loop (a reload: reading the changed files and importing each,
one per turn of the loop, marked by `own_work.py`'s `OwnWork.running` until the next tick), a
stall with no handler code on the stack is wsside's, not the user's: no warning and no `stall`
event (nothing in the handler files blocks, and the `reloaded` lines say how long each file
took), but one debug line per batch. Handler code on the stack (a handler file's top level
that sleeps, or imports something slow) is named as anywhere else; until it shows, the loop
is sampled again at each tick of the watchdog, so wsside's part of a load never hides the
user's.

With hot reload, a save is the way out of a callback that never returns (`while True:`): the
reload waits for the loop, so `interrupt` raises `HandlerInterrupted` inside the blocking
handler code (the callback then fails like any other: the overlay shows where, the client gets
the error frame) and the saved file loads.
"""

from __future__ import annotations

import asyncio
import ctypes
import inspect
import linecache
import os
import re
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from ..interrupted import HandlerInterrupted
from .events import PACKAGE, emit, is_wsside, logger, shown
from .own_work import drop_ended, own_work_on

__all__ = ["STALL_THRESHOLD", "StallWatchdog"]

STALL_THRESHOLD = 0.5
STALL_TICK = 0.1


class StallWatchdog:
    def __init__(
        self, root: Path, threshold: float = STALL_THRESHOLD, interruptible: bool = False
    ) -> None:
        self.threshold = threshold
        # With hot reload a save interrupts a stall (`interrupt`): the warning says so.
        self._how_out = (
            " (or save the handler file to interrupt it at its next line of Python)"
            if interruptible
            else ""
        )
        self._root = os.path.realpath(root) + os.sep
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last = 0.0  # when the loop last ran the tick (time.monotonic)
        # The loop thread's CPU clock; None where the platform has none.
        self._cpu_clock: int | None = None
        self._pending: dict[str, Any] | None = None  # the stall under way, sampled
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None
        self._interrupted = 0.0  # the tick time of the stall last interrupted

    def start(self) -> None:
        """Start watching the running loop (call from the loop's thread)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._cpu_clock = _thread_cpu_clock()
        self._last = time.monotonic()
        self._handle = self._loop.call_later(STALL_TICK, self._tick)
        self._thread = threading.Thread(target=self._watch, name="wsside-stall", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
        if self._thread is not None:
            self._thread.join()

    # ---- loop side ---------------------------------------------------------------------

    def _tick(self) -> None:
        with self._lock:
            now = time.monotonic()
            stall, self._pending = self._pending, None
            since, self._last = self._last, now
            drop_ended(self._loop_thread)
        if stall is not None:
            seconds = round(now - max(since, stall["since"]), 2)
            del stall["since"]
            stall["seconds"] = seconds
            stall["message"] = (
                f"the event loop was blocked for {seconds} s "
                f"in {stall['function']} ({shown(stall['file'])}:{stall['line']})"
            )
            emit(stall)
        assert self._loop is not None
        self._handle = self._loop.call_later(STALL_TICK, self._tick)

    # ---- other threads -----------------------------------------------------------------

    def interrupt(self, saved: str) -> None:
        """`saved` (a file of the handlers folder) changed: if the loop has been blocked for
        over the threshold inside handler code, raise `HandlerInterrupted` there (once per
        stall). Called from the file watcher's thread; cheap when the loop runs."""
        with self._lock:
            since = self._last
            blocked = time.monotonic() - since
            if blocked <= self.threshold or since == self._interrupted:
                return
            frame = sys._current_frames().get(self._loop_thread)
            spot = self._in_handlers(frame)
            del frame
            if spot is None:
                return  # blocked in wsside or a library: an exception there could break it
            self._interrupted = since
            where = f"{spot[2]} ({shown(spot[0])}:{spot[1]})"
            HandlerInterrupted.why = (
                f"interrupted: it had blocked the event loop for {blocked:.1f} s when "
                f"{os.path.basename(saved)} was saved"
            )
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._loop_thread), ctypes.py_object(HandlerInterrupted)
            )
        logger.warning(
            "wsside: %s was saved while %s blocked the event loop: interrupting it "
            "(HandlerInterrupted) so that the new code can load",
            shown(saved),
            where,
        )

    def _in_handlers(self, frame: FrameType | None) -> tuple[str, int, str] | None:
        """File, line and function of the innermost frame of handler code in `frame`'s stack."""
        found = self._handler_frame(frame)
        if found is None:
            return None
        return found.f_code.co_filename, found.f_lineno, found.f_code.co_name

    def _handler_frame(self, frame: FrameType | None) -> FrameType | None:
        """The innermost frame of handler code in `frame`'s stack."""
        while frame is not None:
            if self._is_handler_code(frame):
                return frame
            frame = frame.f_back
        return None

    def _is_handler_code(self, frame: FrameType) -> bool:
        return os.path.realpath(frame.f_code.co_filename).startswith(self._root)

    # ---- watchdog thread ---------------------------------------------------------------

    def _watch(self) -> None:
        sampled = 0.0  # the start of the stall already sampled
        resumed = 0.0  # when the process last ran again after a pause
        awake, cpu = time.monotonic(), self._loop_cpu()
        while not self._stop.wait(STALL_TICK):
            now, cpu_now = time.monotonic(), self._loop_cpu()
            if (
                now - awake > self.threshold
                and cpu is not None
                and cpu_now is not None
                and cpu_now - cpu < 0.1 * (now - awake)
            ):
                resumed = now  # neither thread ran: the process was paused
            awake, cpu = now, cpu_now
            own_note = None
            with self._lock:
                since = max(self._last, resumed)
                if since == sampled or now - since <= self.threshold:
                    continue
                stretch = own_work_on(self._loop_thread)
                frame = sys._current_frames().get(self._loop_thread)
                if frame is None:
                    continue
                if stretch is not None and self._handler_frame(frame) is None:
                    # wsside's own work: not sampled for good, so that handler code that runs
                    # later in this stall (the top level of the file it loads) is named.
                    if not stretch.own.said:
                        stretch.own.said = True
                        code = frame.f_code
                        own_note = (
                            f"{stretch.what} has held the event loop for over "
                            f"{self.threshold} s (in {code.co_name}, "
                            f"{shown(code.co_filename)}:{frame.f_lineno})"
                        )
                    del frame
                else:
                    sampled = since
                    self._pending = stall = self._describe(frame)
                    stall["since"] = since
                    del frame  # a frame keeps its locals alive
                    stretch = None
            if stretch is not None:
                if own_note is not None:
                    logger.debug("wsside: %s: wsside's own work, not handler code", own_note)
                continue
            logger.warning(
                "wsside: the event loop is blocked (over %s s) in %s (%s:%s); %s%s",
                self.threshold,
                stall["function"],
                shown(stall["file"]),
                stall["line"],
                stall["advice"],
                self._how_out,
            )

    def _loop_cpu(self) -> float | None:
        """The loop thread's CPU time so far, in seconds (None without a clock for it)."""
        return time.clock_gettime(self._cpu_clock) if self._cpu_clock is not None else None

    def _describe(self, frame: FrameType) -> dict[str, Any]:
        file, line, function = self._in_handlers(frame) or (
            frame.f_code.co_filename,
            frame.f_lineno,
            frame.f_code.co_name,
        )
        return {
            "type": "stall",
            "file": file,
            "line": line,
            "function": function,
            "advice": self._advice(frame, file, line),
            "traceback": "".join(traceback.format_stack(frame)),
        }

    def _advice(self, frame: FrameType, file: str, line: int) -> str:
        """What to do about a stall whose innermost frame is `frame`, at `file:line`."""
        called = _wsside_call(frame, self._root)
        if called is not None:
            # wsside does the work (for the user's line, or on its own): no call blocks.
            name, there = called
            return (
                f"the time went into wsside's {name}(){' called there' if there else ''}: "
                "many calls in a loop, or one with much work (a broadcast to thousands of "
                "connections, a message of many MB to encode as JSON or to compress), hold "
                "every other connection meanwhile"
            )
        if (imported := self._importing(frame)) is not None:
            # Moved into an async def, a top-level line would not run at import: the import
            # blocks, and only starting the slow part later, or off the loop, frees it.
            return (
                f"importing {shown(imported)} holds every connection until its top level has "
                "run: do slow set-up (a model, a heavy library) lazily, on first use, or in a "
                "@h.background task (blocking work through asyncio.to_thread), or accept the "
                "wait in development"
            )
        source = linecache.getline(file, line)
        first = self._make_async(frame)  # `await` is only allowed in an async def
        if _SLEEP.search(source) and "asyncio.sleep" not in source:
            if first:
                return f"time.sleep() blocks the loop: {first}, then await asyncio.sleep(seconds)"
            return "time.sleep() blocks the loop: await asyncio.sleep(seconds) instead"
        return (
            f"{first + ', then ' if first else ''}await an async version of what blocks, or run "
            "it (blocking calls, long computations) in a thread: await "
            "asyncio.to_thread(function, *args)"
        )

    def _importing(self, frame: FrameType | None) -> str | None:
        """The innermost module of the handlers folder whose top level runs in `frame`'s stack."""
        while frame is not None:
            if frame.f_code.co_name == "<module>" and self._is_handler_code(frame):
                return frame.f_code.co_filename
            frame = frame.f_back
        return None

    def _make_async(self, frame: FrameType) -> str:
        """What makes the handler code that blocks (in `frame`'s stack) able to `await`: ""
        when it can already (an async def)."""
        own = self._handler_frame(frame)
        # A comprehension's or generator expression's own frame: `await` there needs the
        # function around it to be async.
        while (
            own is not None
            and own.f_code.co_name in _COMPREHENSIONS
            and own.f_back is not None
            and self._is_handler_code(own.f_back)
        ):
            own = own.f_back
        if own is None:
            return ""  # no handler code is running: none of the user's to change
        code = own.f_code
        if code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
            return ""
        if not code.co_flags & inspect.CO_NEWLOCALS:  # a class body (an import: `_importing`)
            return "move this line into an async def"
        if code.co_name == "<lambda>":
            return "make the lambda an async def"
        called_by_handler_code = own.f_back is not None and self._is_handler_code(own.f_back)
        return f"make {code.co_name} async def" + (
            " (and await it where it is called)" if called_by_handler_code else ""
        )


_SLEEP = re.compile(r"(?<![\w.])(time\.)?sleep\(")
# Code objects of their own (Python 3.12 inlines the first three into their function).
_COMPREHENSIONS = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})


def _wsside_call(frame: FrameType, handlers: str) -> tuple[str, bool] | None:
    """When the innermost frame is wsside's: the wsside function that handler code called
    (`send`) and True, or where no handler code called it, the innermost function and False.
    None when the innermost frame is not wsside's."""
    if not is_wsside(frame.f_code.co_filename):
        return None
    called = frame.f_code.co_name
    current: FrameType | None = frame
    while current is not None:
        name = os.path.realpath(current.f_code.co_filename)
        if name.startswith(handlers):
            return called, True
        if not name.startswith(PACKAGE):
            break  # wsside run by the event loop or a library, not by handler code
        called = current.f_code.co_name
        current = current.f_back
    return frame.f_code.co_name, False


def _thread_cpu_clock() -> int | None:
    """The calling thread's CPU-time clock, readable from other threads; None where the
    platform has none (macOS)."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):
        return None
