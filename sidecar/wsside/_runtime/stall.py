"""Stall watchdog: notices handler code that blocks the event loop, and says where.

The loop runs a cheap tick every `STALL_TICK` seconds. A thread checks that the tick keeps
coming; when it is more than `STALL_THRESHOLD` late, the thread samples the loop thread's
stack (`sys._current_frames()`), the only moment the blocking frame can be seen, and logs a
warning at once (so a loop blocked for good is still reported). When the loop runs again, a
`stall` event goes out from the loop thread, so event subscribers never run on another thread:

    {"type": "stall", "seconds", "file", "line", "function", "message", "traceback"}

`file` and `line` are those of the innermost frame inside the handlers folder (the user's
code that blocks), else of the innermost frame. `seconds` is exact to within one tick.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from .events import emit, logger

__all__ = ["STALL_THRESHOLD", "StallWatchdog"]

STALL_THRESHOLD = 0.5
STALL_TICK = 0.1


class StallWatchdog:
    def __init__(self, root: Path, threshold: float = STALL_THRESHOLD) -> None:
        self.threshold = threshold
        self._root = os.path.realpath(root) + os.sep
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last = 0.0  # when the loop last ran the tick (time.monotonic)
        self._pending: dict[str, Any] | None = None  # the stall under way, sampled
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching the running loop (call from the loop's thread)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
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
        if stall is not None:
            seconds = round(now - since, 2)
            stall["seconds"] = seconds
            stall["message"] = (
                f"The event loop was blocked for {seconds} s "
                f"in {stall['function']} ({stall['file']}:{stall['line']})"
            )
            emit(stall)
        assert self._loop is not None
        self._handle = self._loop.call_later(STALL_TICK, self._tick)

    # ---- watchdog thread ---------------------------------------------------------------

    def _watch(self) -> None:
        sampled = 0.0  # the tick time whose stall was already sampled
        while not self._stop.wait(STALL_TICK):
            with self._lock:
                since = self._last
                if since == sampled or time.monotonic() - since <= self.threshold:
                    continue
                frame = sys._current_frames().get(self._loop_thread)
                if frame is None:
                    continue
                sampled = since
                self._pending = stall = self._describe(frame)
                del frame  # a frame keeps its locals alive
            logger.warning(
                "wsside: the event loop is blocked (over %s s) in %s (%s:%s); "
                "use await, or run blocking work in a thread",
                self.threshold,
                stall["function"],
                stall["file"],
                stall["line"],
            )

    def _describe(self, frame: FrameType) -> dict[str, Any]:
        spot = frame
        f: FrameType | None = frame
        while f is not None:
            if os.path.realpath(f.f_code.co_filename).startswith(self._root):
                spot = f
                break
            f = f.f_back
        return {
            "type": "stall",
            "file": spot.f_code.co_filename,
            "line": spot.f_lineno,
            "function": spot.f_code.co_name,
            "traceback": "".join(traceback.format_stack(frame)),
        }
