"""One connection's life: frames in, callbacks run in order, timers kept, closed once.

Frames arrive from the parser inside `data_received` (see `_websocket/stream.py`), so pongs,
pings and the closing handshake are handled the moment they arrive. Data messages and
callbacks form one ordered queue: plain-function callbacks run at once, coroutine callbacks
in a task (so `asyncio.timeout` and friends work), and a slow handler only delays its own
connection's next callbacks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable

from aiohttp import WSMsgType

from .callbacks import INBOX_HIGH_WATER, NO_JOBS, CallbackQueue
from ..closecodes import CloseCode
from .events import logger

if TYPE_CHECKING:
    from .._io.stream import WsStream
    from ..connection import Connection
    from ..handler import Handler
    from ..request import Request

__all__ = ["Session"]

MISSED_PONGS_LIMIT = 3
HEARTBEAT_PAYLOAD = b"heartbeat"
# How long the closing handshake (and flushing what is queued before it) may take.
CLOSE_TIMEOUT = 5.0

_OP_PONG = 0xA
_OP_PING = 0x9

# Above the small-int cache: one shared object instead of a new int per session.
_ABNORMAL_CLOSURE = int(CloseCode.ABNORMAL_CLOSURE)
# How far a session got (`_stage`); its futures are made only when someone waits for them.
_OPEN, _SOCKET_CLOSED, _FINISHED = 0, 1, 2


class Session(CallbackQueue):
    __slots__ = (
        "conn", "_stream", "_loop", "_inbox", "_worker", "_missed", "_beat", "_idle",
        "_last_activity", "_close_timer", "_close_sent", "_close_received", "_close_code",
        "_close_reason", "_by_client", "_stage", "_done", "_socket_closed",
        "_reading_paused", "_on_close_ran", "_registry",
    )

    def __init__(self, stream: WsStream, loop: asyncio.AbstractEventLoop,
                 registry: set[Session]) -> None:
        self.conn: Connection = None  # type: ignore[assignment]  # set right after creation
        self._stream = stream
        self._loop = loop
        self._inbox: deque[tuple[Any, ...]] = NO_JOBS  # a deque once something waits
        self._worker: asyncio.Task[None] | None = None
        self._missed = 0
        self._beat: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._last_activity = loop.time()
        self._close_timer: asyncio.TimerHandle | None = None
        self._close_sent = False
        self._close_received = False
        self._close_code = _ABNORMAL_CLOSURE
        self._close_reason = ""
        self._by_client = True
        self._stage = _OPEN
        # Made on demand (two futures cost 288 bytes, and most sessions are never awaited).
        self._done: asyncio.Future[None] | None = None  # after on_close ran
        self._socket_closed: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._on_close_ran = False
        self._registry = registry  # the open sessions, which this one leaves once finished

    @property
    def finished(self) -> asyncio.Future[None]:
        """Resolves after `on_close` ran."""
        if self._done is None:
            self._done = self._future(self._stage >= _FINISHED)
        return self._done

    def _future(self, resolved: bool) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = self._loop.create_future()
        if resolved:
            fut.set_result(None)
        return fut

    @property
    def handler(self) -> Handler:
        return self.conn._hub.handler

    # ---- lifecycle -------------------------------------------------------------------

    def start(self, request: Request) -> None:
        """Begin serving: default room, timers, `on_connect`, then the frames that wait."""
        handler = self.handler
        if handler.default_room:
            self.conn.join_room(handler.default_room)
        self._arm_timers()
        self._submit(("connect", request))
        self._stream.attach(self)
        if self._stream.transport is None:  # the client left during the handshake
            self.on_lost()

    def on_frame(self, msg: Any) -> None:
        """One message or control frame from the parser (called inside `data_received`)."""
        kind = msg.type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if self._close_sent:
                return  # after our close frame, data is discarded (RFC 6455 §5.5.1)
            self._last_activity = self._loop.time()
            self._submit(("message", msg.data))
            if len(self._inbox) > INBOX_HIGH_WATER and not self._reading_paused:
                self._reading_paused = True
                self.conn._io.transport.pause_reading()
        elif kind is WSMsgType.PING:
            if self._close_sent:
                return
            self._last_activity = self._loop.time()
            if self.handler.callbacks["on_ping"] is not None:
                self._submit(("on_ping", msg.data))
            else:
                self.conn._io.write_control(_OP_PONG, msg.data)
        elif kind is WSMsgType.PONG:
            self._missed = 0
            if self.handler.callbacks["on_pong"] is not None and not self._close_sent:
                self._submit(("on_pong", msg.data))
        elif kind is WSMsgType.CLOSE:
            self._on_peer_close(msg.data, msg.extra or "")

    def _on_peer_close(self, code: int, reason: str) -> None:
        if self._close_received:
            return
        self._close_received = True
        if self._close_sent:
            self.conn._io.transport.close()  # the answer to our close frame
            return
        # A close frame without a code is reported as 1005, as browsers do.
        self._close_code = code or int(CloseCode.NO_STATUS_RECEIVED)
        self._close_reason = reason
        self._end(code or None)  # the reply echoes the code (RFC 6455 §5.5.1)

    def on_error(self, exc: BaseException) -> None:
        """The parser failed the connection (1002, 1007, 1009): close frame, then TCP close."""
        if self._close_sent or self._close_received:
            self.conn._io.transport.close()
            return
        code = int(getattr(exc, "code", None) or CloseCode.PROTOCOL_ERROR)
        logger.debug("wsside: %s closed for a protocol error: %s", self.conn.path, exc)
        self._close_sent = True
        self._close_code, self._close_reason, self._by_client = code, str(exc), False
        self._end(code)

    def _end(self, code: int | None) -> None:
        """Our last frame, then the TCP close. Callbacks already running get one turn of the
        loop first, so replies they owe to earlier messages are not cut off; a callback that
        takes longer does not hold the close back (its later sends are dropped)."""
        if self._worker is None:
            self._write_end(code)
            if not self.conn._io.buffered:
                return  # nothing left to write: the transport is closing, no peer to wait for
        else:
            self._loop.call_soon(self._write_end, code)
        self._arm_close_timer()

    def _write_end(self, code: int | None) -> None:
        self.conn._io.write_close(code)
        self.conn._io.transport.close()

    def on_lost(self) -> None:
        """The transport is closed, whoever closed it: finish the connection once."""
        if self._stage >= _SOCKET_CLOSED:
            return
        self._stage = _SOCKET_CLOSED
        self.conn._io.closing = True
        self._cancel_timers()
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._socket_closed is not None:
            self._socket_closed.set_result(None)
        self._submit(("close",))
        if self._worker is None:
            self._finished()
        else:
            self._loop.create_task(self._finish_later())

    async def _finish_later(self) -> None:
        await self._finish_worker()
        self._finished()

    def _finished(self) -> None:
        self.conn._hub.remove(self.conn)
        self._registry.discard(self)
        self._stage = _FINISHED
        if self._done is not None and not self._done.done():  # an awaiter may have cancelled it
            self._done.set_result(None)

    def too_slow(self) -> None:
        """The client reads slower than it is sent to, past the send buffer's limit."""
        self.close(1013, b"Client too slow")

    def close(self, code: int, reason: bytes) -> Awaitable[None]:
        """Start the closing handshake once; the result resolves when the socket is closed
        (not after `on_close`, which may be queued behind the callback awaiting this)."""
        if not self._close_sent and not self._close_received and self._stage == _OPEN:
            self._close_sent = True
            self._close_code, self._close_reason = code, reason.decode("utf-8")
            self._by_client = False
            self.conn._io.write_close(code, reason)
            self._arm_close_timer()
        if self._socket_closed is None:
            self._socket_closed = self._future(self._stage >= _SOCKET_CLOSED)
        return asyncio.shield(self._socket_closed)

    def _arm_close_timer(self) -> None:
        # A peer that never answers, or never reads what is queued before our close frame,
        # must not hold the socket (and its send buffer) for ever.
        if self._close_timer is None:
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self.abort)

    def abort(self) -> None:
        """Drop the transport without a handshake (shutdown of last resort)."""
        self.conn._io.transport.abort()

    # ---- timers: one handle each, re-armed lazily instead of rescheduled per frame ------

    def _arm_timers(self) -> None:
        handler = self.handler
        if handler.heartbeat:
            self._beat = self._loop.call_later(handler.heartbeat, self._on_beat)
        if handler.inactivity_timeout:
            self._idle = self._loop.call_later(handler.inactivity_timeout, self._on_idle)

    def _cancel_timers(self) -> None:
        for handle in (self._beat, self._idle):
            if handle is not None:
                handle.cancel()
        self._beat = self._idle = None

    def _on_beat(self) -> None:
        if self.conn._io.closing:
            return
        if self._missed >= MISSED_PONGS_LIMIT:
            self.close(1000, b"No pong received")
            return
        self._missed += 1
        self.conn._io.write_control(_OP_PING, HEARTBEAT_PAYLOAD)
        interval = self.handler.heartbeat
        self._beat = self._loop.call_later(interval, self._on_beat) if interval else None

    def _on_idle(self) -> None:
        if self.conn._io.closing:
            return
        timeout = self.handler.inactivity_timeout
        if not timeout:
            self._idle = None
            return
        remaining = self._last_activity + timeout - self._loop.time()
        if remaining > 0:
            self._idle = self._loop.call_later(remaining, self._on_idle)
        else:
            self.close(1000, b"Inactivity timeout")
