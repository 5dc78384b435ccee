"""Warnings that others can make in any number, summarised (as the Node shim's
`lib/repeats.js` does for its lines): a forged message on the backplane, an upgrade refused
for its Origin. The first few distinct lines are written, the rest counted."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

__all__ = ["REPEAT_WINDOW", "Repeats", "flush_all"]

# Lines past the first few are counted, and written as one line per window of this many
# seconds while they keep coming.
REPEAT_WINDOW = 5.0


class Repeats:
    """Warnings that others can make come in any number (a forged message, a refused
    Origin), summarised: the first `named` distinct lines are written at once; the others
    within `REPEAT_WINDOW` after the first are counted and written as one line
    (`counted(count, last)`) when the window ends, window after window while they keep
    coming. A window with none closes the group: the next line is written at once again. (As
    the Node shim's `repeats.js` does for its lines.) Used on the running event loop; a group
    left open by a loop that has gone (another loop now runs) is flushed first."""

    def __init__(
        self, write: Callable[[str], None], counted: Callable[[int, str], str], named: int = 1
    ) -> None:
        self._write = write
        self._counted = counted
        self.named = named
        self.count = 0
        self.last = ""
        self._written: set[str] = set()  # the distinct lines written in the open group
        self._window: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        _every.add(self)

    def add(self, line: str, last: str, shown: str | None = None) -> None:
        """One more warning: `line` as written, `last` what a count line names of it;
        `shown`, the words written instead of `line` when they differ from what tells
        repeats apart (a client's address, which differs each time)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to time a window with: each line is written
            self._write(shown or line)
            return
        if self._window is not None and loop is not self._loop:
            self.flush()
        if self._window is not None and (line in self._written or len(self._written) >= self.named):
            self.count += 1
            self.last = last
            return
        self._written.add(line)
        self._write(shown or line)
        if self._window is None:
            self._loop = loop
            self._open()

    def _open(self) -> None:
        assert self._loop is not None
        self._window = self._loop.call_later(REPEAT_WINDOW, self._window_ends)

    def _window_ends(self) -> None:
        self._window = None
        if self.count:
            self._write_count()
            self._open()
        else:
            self._written.clear()

    def _write_count(self) -> None:
        self._write(self._counted(self.count, self.last))
        self.count = 0

    def flush(self) -> None:
        """Write the count of the open window, if any, and close the group (when stopping)."""
        if self._window is not None and self._loop is not None and not self._loop.is_closed():
            self._window.cancel()
        self._window = None
        self._written.clear()
        if self.count:
            self._write_count()


# Every `Repeats` alive, for `flush_all`.
_every: weakref.WeakSet[Repeats] = weakref.WeakSet()


def flush_all() -> None:
    """Write the counts of every open window (when the process stops): one call for every
    kind of line, wherever its `Repeats` lives."""
    for repeats in list(_every):
        repeats.flush()
