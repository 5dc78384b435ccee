"""Heartbeat and inactivity timeout of one connection.

Made only for a connection whose handler sets either option. Each timer is one handle,
re-armed lazily when it fires instead of rescheduled for every frame, so thousands of
connections with both timers cost two timer handles each and no work per message.

While the server has stopped reading the client (its handler is behind: `callback_queue.py`),
what the client sends, pongs included, waits unread in the socket: its silence then says
nothing about the client, so neither timer closes it (`pause`), and both start afresh once
reading resumes (`resume`). Pings go on meanwhile: they keep a proxy's idle timer from
cutting the connection, and a client whose process ended answers them with a reset, which
ends it. Unless what the server sends it backs up too: then the handler is most likely
waiting on the client (`await conn.send` to one that does not read), which would hold the
pause, and the connection, for ever; the timers count as ever.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from .._protocol.frames import PING
from ..closecodes import CloseCode, CloseReason

if TYPE_CHECKING:
    from ..handler import Handler

__all__ = ["HEARTBEAT_PAYLOAD", "MISSED_PONGS_LIMIT", "Keepalive"]

MISSED_PONGS_LIMIT = 3
HEARTBEAT_PAYLOAD = b"heartbeat"
# Closing a silent client is a normal close: it left without saying so.
_NORMAL_CLOSURE = int(CloseCode.NORMAL_CLOSURE)
_INACTIVITY_REASON = CloseReason.INACTIVITY.encode()
_NO_PONG_REASON = CloseReason.NO_PONG.encode()


class _Owner(Protocol):
    """The session the timers belong to."""

    @property
    def closing(self) -> bool: ...

    @property
    def handler(self) -> Handler: ...

    def write_control(self, opcode: int, payload: bytes) -> None: ...

    def writing_paused(self) -> bool: ...

    def close(self, code: int, reason: bytes) -> object: ...


class Keepalive:
    __slots__ = ("_beat", "_idle", "_loop", "_missed", "_owner", "_paused", "last_activity")

    def __init__(self, owner: _Owner, loop: asyncio.AbstractEventLoop, beats: bool) -> None:
        """`beats`: send the heartbeat's pings (False where pings cannot be sent: then only
        the inactivity timeout runs)."""
        self._owner = owner
        self._loop = loop
        self._missed = 0
        self._paused = False
        self.last_activity = loop.time()
        handler = owner.handler
        self._beat = (
            loop.call_later(handler.heartbeat, self._on_beat)
            if beats and handler.heartbeat
            else None
        )
        self._idle = (
            loop.call_later(handler.inactivity_timeout, self._on_idle)
            if handler.inactivity_timeout
            else None
        )

    def seen(self) -> None:
        """A data frame or a ping arrived from the client (pongs do not count)."""
        self.last_activity = self._loop.time()

    def pong(self) -> None:
        self._missed = 0

    def pause(self) -> None:
        """The server stopped reading the client: neither timer may close it until `resume`."""
        self._paused = True

    def resume(self) -> None:
        """Reading again: both timers start from now, as if the client had just answered."""
        self._paused = False
        self._missed = 0
        self.last_activity = self._loop.time()

    def cancel(self) -> None:
        for handle in (self._beat, self._idle):
            if handle is not None:
                handle.cancel()
        self._beat = self._idle = None

    def _excused(self) -> bool:
        """Whether the client's silence is the server's doing: reading paused, while the
        client still takes what the server sends it (writing is not paused, which is when
        `await conn.send` waits; see the module's docstring)."""
        return self._paused and not self._owner.writing_paused()

    def _on_beat(self) -> None:
        owner = self._owner
        if owner.closing:
            return
        if not self._excused():
            if self._missed >= MISSED_PONGS_LIMIT:
                owner.close(_NORMAL_CLOSURE, _NO_PONG_REASON)
                return
            self._missed += 1
        owner.write_control(PING, HEARTBEAT_PAYLOAD)
        interval = owner.handler.heartbeat
        self._beat = self._loop.call_later(interval, self._on_beat) if interval else None

    def _on_idle(self) -> None:
        owner = self._owner
        if owner.closing:
            return
        timeout = owner.handler.inactivity_timeout
        if not timeout:
            self._idle = None
            return
        # Excused: looked at again a timeout on (`resume` sets `last_activity` meanwhile).
        now = self._loop.time()
        remaining = timeout if self._excused() else self.last_activity + timeout - now
        if remaining > 0:
            self._idle = self._loop.call_later(remaining, self._on_idle)
        else:
            owner.close(_NORMAL_CLOSURE, _INACTIVITY_REASON)
