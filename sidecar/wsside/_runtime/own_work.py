"""wsside's own work on the event loop: a reload reads the changed files and imports each, one
per turn of the loop. `reload.py` marks it (`OwnWork.running`), and the stall watchdog
(`stall.py`) reads the mark of its loop's thread, so that a stall with no handler code on the
stack is not blamed on the user's code."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["OwnWork", "drop_ended", "own_work_on"]


class OwnWork:
    """A batch of wsside's own work on the event loop, done in stretches (a reload's files,
    one per turn of the loop): a stall with no handler code on the stack, between the tick
    before a stretch (`running`) and the tick after it, is not blamed on the user's code. Its
    debug line is said once per batch (`done` starts the next)."""

    def __init__(self) -> None:
        self.said = False

    @contextmanager
    def running(self, what: str) -> Iterator[None]:
        """Mark the calling thread (the loop's) as doing `what` (`reloading ws/chat.py`)
        until the block ends, and as having done it until the watchdog's next tick."""
        thread = threading.get_ident()
        outer = _OWN_WORK.get(thread)
        _OWN_WORK[thread] = _Stretch(self, what)
        try:
            yield
        finally:
            # Ended: the watchdog may sample the loop only once it has left the stretch.
            if outer is not None and not outer.ended:
                _OWN_WORK[thread] = outer
            else:
                _OWN_WORK[thread] = _Stretch(self, what, ended=True)

    def done(self) -> None:
        """The batch is over: the next one may say its stall."""
        self.said = False


@dataclass(frozen=True)
class _Stretch:
    own: OwnWork
    what: str
    ended: bool = False


# The stretch of own work on each thread (an event loop's) under way, or ended since the
# loop's last tick (`drop_ended`): read by its watchdog.
_OWN_WORK: dict[int, _Stretch] = {}


def own_work_on(thread: int) -> _Stretch | None:
    """The stretch of own work on `thread` under way, or ended since its loop's last tick."""
    return _OWN_WORK.get(thread)


def drop_ended(thread: int) -> None:
    """`thread`'s loop has run its tick (`StallWatchdog._tick`): a stretch that ended before
    it is over."""
    stretch = _OWN_WORK.get(thread)
    if stretch is not None and stretch.ended:
        del _OWN_WORK[thread]
