"""What `Connection.send` returns: an awaitable that waits for the socket to drain when its
transport asked for a pause in writing, and otherwise costs nothing (no task, no yield)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session_io import SessionIO

__all__ = ["CLOSING", "Closing", "Sent"]


class Sent:
    """What `send` returns: already queued; awaiting it waits for the socket to drain."""

    __slots__ = ("_io",)

    def __init__(self, io: SessionIO) -> None:
        self._io = io

    def __await__(self) -> Generator[Any, None, None]:
        io = self._io
        if io.paused:
            return (yield from io.drain().__await__())
        return None


class Closing:
    """What `send` returns once the connection is closing: nothing to wait for, but awaiting
    it gives the loop one turn, so that a loop whose only await is `conn.send` (a feed) lets
    everything else run after its client left instead of spinning for ever (asyncio's
    `StreamWriter.drain` does the same)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        yield  # a bare yield: the task runs again on the loop's next turn (asyncio.sleep(0))


CLOSING = Closing()
