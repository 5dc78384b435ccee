"""Run a coroutine inline until it first suspends, the way Python 3.12's eager tasks do.

Most handler callbacks finish without ever waiting (a reply is queued at once), so running
them inline saves creating a task per message. Only a callback that really suspends is moved
to a task, which then continues it from where it stopped.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from types import FrameType
from typing import Any

__all__ = ["awaiting_frames", "run_eager"]


def run_eager(coro: Coroutine[Any, Any, Any]) -> _Resume | None:
    """Step `coro`; None if it finished, else an awaitable that finishes it."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return _Resume(coro, yielded)


class _Resume:
    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        # Hand each yielded future to the task awaiting us, and its outcome back to the coroutine.
        coro, value = self._coro, self._first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - cancellation must reach the coroutine
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def awaiting_frames(obj: Any) -> list[FrameType]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first
    (including coroutines continued through `_Resume`)."""
    frames: list[FrameType] = []
    while obj is not None:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        if frame.f_code is _Resume.__await__.__code__:
            obj = frame.f_locals.get("coro")
        else:
            obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
    return frames
