"""One connection's life: frames in, callbacks run in order, timers kept, closed once.

Frames arrive from the parser inside `data_received` (see `_io/stream.py`), so pongs, pings
and the closing handshake are handled the moment they arrive. Data messages and callbacks
form one ordered queue (`callback_queue.py`), and the closing handshake as the peer or the
parser ends it has its own module (`close_handshake.py`): both are base classes of
`Session`. The session is the `Link` its `Connection` talks to; the hub writes to it through
its I/O (`SessionIO`: a `FrameIO` on a socket wsside owns, an `AsgiIO`, whose events stand for
frames, under ASGI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDictProxy, MultiDictProxy

from .._io.engine import WSMsgType
from .._protocol.codec import encode
from .._protocol.frames import PING, PONG
from .._protocol.http_head import read_headers
from ..closecodes import CloseCode, CloseReason
from ..connection import Connection
from . import access, limit_closes
from .close_handshake import CloseHandshake
from .keepalive import Keepalive
from .sent import CLOSING, Sent

if TYPE_CHECKING:
    from ..handler import Handler
    from ..request import Request
    from .hub import Hub
    from .session_io import FrameSource, SessionIO

__all__ = ["Session"]

# Above the small-int cache: one shared object instead of a new int per session.
_ABNORMAL_CLOSURE = int(CloseCode.ABNORMAL_CLOSURE)
_TRY_AGAIN_LATER = int(CloseCode.TRY_AGAIN_LATER)
_MESSAGE_TOO_BIG = int(CloseCode.MESSAGE_TOO_BIG)
_TOO_SLOW_REASON = CloseReason.TOO_SLOW.encode()
# How far a session got (`_stage`); its futures are made only when someone waits for them.
_OPEN, _SOCKET_CLOSED, _FINISHED = 0, 1, 2


class Session(CloseHandshake):
    __slots__ = (
        "_access",
        "_done",
        "_head",
        "_hub",
        "_io",
        "_keepalive",
        "_late_pong",
        "_loop",
        "_open_sessions",
        "_socket_closed",
        "_stage",
        "_stream",
        "conn",
        "cut",
    )

    def __init__(
        self,
        hub: Hub,
        io: SessionIO,
        stream: FrameSource,
        open_sessions: set[Session],
        *,
        path: str,
        params: Mapping[str, str],
        query: MultiDictProxy[str],
        headers: CIMultiDictProxy[str] | bytes,
        subprotocol: str | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        self._io = io
        self._hub = hub
        self._stream = stream
        # The parsed headers, or the raw request head of a handed-over socket (a fraction of
        # the parsed headers' size), read again only if `conn.headers` is used.
        self._head = headers
        self._loop = asyncio.get_running_loop()
        self._keepalive: Keepalive | None = None
        # The payload of the last ping while the client reads nothing (`_answer_ping`).
        self._late_pong: bytes | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._close_sent = False
        self._close_received = False
        self._close_code = _ABNORMAL_CLOSURE
        self._close_reason = ""
        self._reason_sent = True
        self._by_client = True
        self._stage = _OPEN
        # Made on demand (two futures cost 288 bytes, and most sessions are never awaited).
        self._done: asyncio.Future[None] | None = None  # after on_close ran
        self._socket_closed: asyncio.Future[None] | None = None
        self._open_sessions = open_sessions  # which this one joins, and leaves once finished
        self._access: tuple[str, float] | None = None  # (client, opened at) for the access log
        # Dropped while open, its closing handshake unfinished (`abort`): the close timer, or
        # the end of a shutdown's budget (`wsside serve` counts these in its stop line).
        self.cut = False
        io.overflow = self
        self.conn = Connection(
            self,
            hub,
            path=path,
            params=params,
            query=query,
            subprotocol=subprotocol,
            metadata=metadata,
        )

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
        return self._hub.handler

    # ---- the connection's link -------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self._io.closing

    def headers(self) -> CIMultiDictProxy[str]:
        head = self._head
        if isinstance(head, bytes):
            head = self._head = read_headers(head)
        return head

    def send(self, data: object) -> Awaitable[None]:
        check = self._hub.check_sent
        if check is not None:
            check(data)
        opcode, payload = encode(data)
        io = self._io
        if io.closing:
            return CLOSING
        io.write(opcode, payload)
        return Sent(io)

    def ping(self, payload: bytes) -> None:
        self._io.write_control(PING, payload)

    def pong(self, payload: bytes) -> None:
        self._io.write_control(PONG, payload)

    def write_control(self, opcode: int, payload: bytes) -> None:
        self._io.write_control(opcode, payload)

    def buffered(self) -> int:
        return self._io.buffered

    def writing_paused(self) -> bool:  # what `await conn.send` waits on: the client not reading
        return self._io.paused

    def client(self) -> str:  # `host:port`, "-" on a Unix socket
        return access.peer(self._io.transport)

    # ---- lifecycle -------------------------------------------------------------------

    def start(self, request: Request) -> None:
        """Begin serving: join the hub and the default room, arm the timers, run
        `on_connect`, then the frames that wait."""
        handler = self.handler
        if access.enabled():
            self._access = (client := self.client(), self._loop.time())
            access.upgraded(client, self.conn.path, 101)
        self._hub.add(self.conn, self._io)
        self._open_sessions.add(self)
        if handler.default_room:
            self._hub.join(self.conn, handler.default_room)
        beats = bool(handler.heartbeat) and self._io.can_ping
        if beats or handler.inactivity_timeout:
            self._keepalive = Keepalive(self, self._loop, beats)
        self._submit(("on_connect", request))
        self._stream.attach(self)

    def on_frame(self, msg: Any) -> None:
        """One message or control frame from the parser (called inside `data_received`)."""
        kind = msg.type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            self.on_message(msg.data)
        elif kind is WSMsgType.PING:
            if self._close_sent:
                return
            if self._keepalive is not None:
                self._keepalive.seen()
            if self.handler.callbacks["on_ping"] is not None:
                self._submit_frame(("on_ping", bytes(msg.data)))
            else:
                self._answer_ping(msg.data)
        elif kind is WSMsgType.PONG:
            if self._keepalive is not None:
                self._keepalive.pong()
            if self.handler.callbacks["on_pong"] is not None and not self._close_sent:
                self._submit_frame(("on_pong", bytes(msg.data)))
        elif kind is WSMsgType.CLOSE:
            self.on_close(msg.data, msg.extra or "")

    def _answer_ping(self, payload: bytes) -> None:
        """The pong; while the client reads nothing (writing paused), only the last ping's,
        once it reads again (RFC 6455 §5.5.3 allows it): else a client sending pings and
        reading nothing fills this connection's buffer with pongs up to the 1013 limit."""
        io = self._io
        waiting = self._late_pong is not None
        # Once a pong waits, a newer ping's replaces it, even when writing resumed meanwhile
        # (the waiting task runs on a later turn): the last pong answers the last ping.
        if not io.paused and not waiting:
            io.write_control(PONG, payload)
            return
        self._late_pong = bytes(payload)
        if not waiting:
            self._loop.create_task(self._pong_when_drained())

    async def _pong_when_drained(self) -> None:
        await self._io.drain()
        payload, self._late_pong = self._late_pong, None
        if payload is not None and not self._close_sent and not self._io.closing:
            self._io.write_control(PONG, payload)

    def on_lost(self) -> None:
        """The transport is closed, whoever closed it: finish the connection once."""
        if self._stage >= _SOCKET_CLOSED:
            return
        self._stage = _SOCKET_CLOSED
        self._io.closing = True
        # Frames the parser held while reading was paused went with the socket (`WsStream`):
        # `on_close` is queued now, and nothing may follow it. Reading is not resumed.
        self._reading_paused = False
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._socket_closed is not None:
            self._socket_closed.set_result(None)
        if self._access is not None:
            client, opened = self._access
            cut = None
            if self.cut:
                answer = self._close_sent and not self._close_received
                cut = access.NO_ANSWER if answer else access.NOT_READ
            access.closed(
                client,
                self.conn.path,
                self._close_code,
                self._loop.time() - opened,
                cut,
                self._close_reason,
                self._by_client,
                self._reason_sent,
            )
        self._submit(("on_close",))
        if self._worker is None:
            self._finished()
        else:
            self._loop.create_task(self._finish_later())

    async def _finish_later(self) -> None:
        await self._finish_worker()
        self._finished()

    def _finished(self) -> None:
        self._hub.remove(self.conn)
        self._open_sessions.discard(self)
        self._stage = _FINISHED
        if self._done is not None and not self._done.done():  # an awaiter may have cancelled it
            self._done.set_result(None)

    def too_slow(self) -> None:
        """The client reads slower than it is sent to, past the send buffer's limit (or was
        sent more in one go than the limit): closed 1013, and the log says so once."""
        if self._close_sent or self._close_received or self._stage != _OPEN:
            return  # closing already: this close would not start
        self.close(_TRY_AGAIN_LATER, _TOO_SLOW_REASON)
        limit_closes.too_slow(self.conn.path, self.handler, self.client())

    def on_error(self, exc: BaseException) -> None:
        """The parser failed the connection (`CloseHandshake.on_error`); a message over
        `max_message_size` (1009) is also said in the log, which Vite's terminal shows."""
        starts = not self._close_sent and not self._close_received
        super().on_error(exc)
        if starts and getattr(exc, "code", None) == _MESSAGE_TOO_BIG:
            limit_closes.message_too_big(self.conn.path, self.handler, str(exc))

    def abort(self) -> None:
        """Drop the transport without a handshake: a peer that did not finish it within
        `CLOSE_TIMEOUT`, or still open at the end of a shutdown's budget (`closing.py`, which
        stops its callbacks too: `stop_callbacks`)."""
        if self._stage == _OPEN:
            self.cut = True
        super().abort()

    def close(self, code: int, reason: bytes, drop_queued: bool = False) -> Awaitable[None]:
        """Start the closing handshake once; the result resolves when the socket is closed
        (not after `on_close`, which may be queued behind the callback awaiting this).
        `drop_queued` (the app's `conn.close`): the messages its handler has not got yet go
        like what comes after our close frame, so that a client refused in an async
        `on_connect` does not act; a stop or restart (1001, 1012) lets them be handled."""
        if not self._close_sent and not self._close_received and self._stage == _OPEN:
            self._close_sent = True
            self._close_code, self._close_reason = code, reason.decode("utf-8")
            self._by_client = False
            self._io.write_close(code, reason)
            self._arm_close_timer()
            if drop_queued:
                self._drop_messages()
                if self._reading_paused:  # after our close frame: its answer may be held
                    self._resume_reading()
        if self._socket_closed is None:
            self._socket_closed = self._future(self._stage >= _SOCKET_CLOSED)
        return asyncio.shield(self._socket_closed)
