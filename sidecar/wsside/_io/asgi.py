"""An accepted WebSocket under an ASGI server: the counterpart of `stream.py` and `writer.py`
for connections whose socket the server owns.

The server speaks in ASGI events, not frames: `AsgiChannel` feeds each received message to
the session as a frame would be (a task awaits `receive`) and sends what the session writes
in order (a bounded queue, drained by one task at a time, so a plain-function callback can
`send` without awaiting). `AsgiIO` is the session's writer over it.

What ASGI cannot express, and so belongs to the server: pings and pongs (none reach the
application, none can be sent: `write_control` does nothing), compression, frame limits and
the closing handshake after `websocket.close`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .._protocol.frames import MAX_CONTROL_PAYLOAD, TEXT
from ..closecodes import NON_PROTOCOL_CODES, CloseCode, CloseReason
from .engine import WebSocketError
from .stream import FrameSink
from .writer import SEND_BUFFER_LIMIT, TooSlow

__all__ = ["AsgiChannel", "AsgiIO", "Event", "Receive", "Send"]

Event = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Event]]
Send = Callable[[Event], Awaitable[None]]

# Senders wait (`drain`) while more than HIGH_WATER bytes are queued, until it is below
# LOW_WATER: asyncio's own defaults for a transport's write buffer.
HIGH_WATER = 64 * 1024
LOW_WATER = 16 * 1024
# The code a server reports for a connection lost without a close frame.
_ABNORMAL = int(CloseCode.ABNORMAL_CLOSURE)
_TOO_BIG = int(CloseCode.MESSAGE_TOO_BIG)
# After the server refused a send, how long the reader may take to read its disconnect event
# (uvicorn has queued it already) before the connection ends as lost (1006).
DISCONNECT_GRACE = 1.0


class AsgiChannel:
    """One accepted ASGI WebSocket, in the two parts a socket has for a session: the frame
    source (`attach` starts reading) and the transport (`pause_reading`, `close`, `abort`).

    The connection is over (`ended` resolves, the sink hears `on_lost`) when the client is
    gone, when our `websocket.close` has been sent (the server finishes the closing
    handshake), or on `abort`.
    """

    __slots__ = (
        "_closing",
        "_grace",
        "_max_size",
        "_peer",
        "_queue",
        "_reader",
        "_receive",
        "_refused_code",
        "_resume",
        "_send",
        "_sender",
        "_sink",
        "_waiters",
        "disconnected",
        "ended",
        "queued",
    )

    def __init__(
        self,
        receive: Receive,
        send: Send,
        max_message_size: int,
        peer: Any = None,
        refused_code: Callable[[int], None] | None = None,
    ) -> None:
        self._peer = peer  # the scope's `client`: (host, port), or None
        # Told the close code a server refused to send, before 1000 is sent instead.
        self._refused_code = refused_code
        self._receive = receive
        self._send = send
        self._max_size = max_message_size
        self._queue: deque[tuple[Event, int]] = deque()
        self.queued = 0  # bytes of the messages not yet handed to the server
        self._sender: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sink: FrameSink | None = None
        self._resume: asyncio.Event | None = None  # set while reading is paused
        self._waiters: list[asyncio.Future[None]] = []  # `drained()` callers
        self._closing = False
        self._grace: asyncio.TimerHandle | None = None  # armed by `_refused`
        self.disconnected = False  # the server said the client is gone
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ---- the frame source ----------------------------------------------------------------

    def attach(self, sink: FrameSink) -> None:
        """Feed `sink` from now on: each message as a frame, then the end."""
        self._sink = sink
        if self.ended.done():
            sink.on_lost()
            return
        self._reader = asyncio.get_running_loop().create_task(self._read(sink))

    def hold(self) -> None:
        """Nothing to hold: `pause_reading` stops taking messages from the server."""

    def release(self) -> None:
        pass

    async def _read(self, sink: FrameSink) -> None:
        while True:
            if self._resume is not None:
                await self._resume.wait()
            try:
                event = await self._receive()
            except Exception:  # noqa: BLE001 - as in `_flush`: the client is gone
                self.disconnected = True
                self._end()
                return
            kind = event["type"]
            if kind == "websocket.receive":
                text = event.get("text")
                if text is not None:
                    if self._too_big(text):
                        continue
                    sink.on_message(text)
                else:
                    data = event.get("bytes") or b""
                    if self._too_big(data):
                        continue
                    sink.on_message(data)
            elif kind == "websocket.disconnect":
                self.disconnected = True
                code = event.get("code") or _ABNORMAL
                if code != _ABNORMAL:  # a close frame came: the session sees its code
                    sink.on_close(code, event.get("reason") or "")
                self._end()
                return

    def _too_big(self, data: str | bytes) -> bool:
        """Past `max_message_size` (in bytes: UTF-8 for text), the session closes 1009."""
        limit = self._max_size
        size = len(data)
        if isinstance(data, str) and limit // 4 < size <= limit:
            size = len(data.encode("utf-8"))  # only where the length alone cannot tell
        if size <= limit:
            return False
        if self._sink is not None:
            self._sink.on_error(WebSocketError(_TOO_BIG, CloseReason.message_too_big(size, limit)))
        return True

    # ---- the transport -------------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """ "peername" is the ASGI scope's `client`, as uvicorn's own access line shows it."""
        return self._peer if name == "peername" and self._peer else default

    def pause_reading(self) -> None:
        if self._resume is None:
            self._resume = asyncio.Event()

    def resume_reading(self) -> None:
        if self._resume is not None:
            self._resume.set()
            self._resume = None

    def close(self) -> None:
        """End the connection once the queue is sent (it ends with our `websocket.close`)."""
        if self._grace is not None:
            return  # a send was refused: the reader (or the grace timer) ends it
        if self.disconnected or (not self._queue and self._sender is None):
            self._end()
        else:
            self._closing = True

    def abort(self) -> None:
        """End now, dropping what is queued (the server closes the socket on our return)."""
        self._end()

    # ---- sending -------------------------------------------------------------------------

    def enqueue(self, event: Event, size: int) -> None:
        """Send `event` after those queued before it (`size`: its bytes, for the limits)."""
        if self.ended.done() or self.disconnected:
            return
        self._queue.append((event, size))
        self.queued += size
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        queue = self._queue
        meant = None  # a close code the send of which raised, tried again as 1000
        while queue:
            event, size = queue.popleft()
            try:
                await self._send(event)
            except Exception:  # noqa: BLE001 - each server has its own "client gone" errors
                if meant is None and _other_code(event):
                    # daphne sends only 1000 and 3000-4999: 1000 (a gone client: it raises)
                    meant = event["code"]
                    queue.appendleft(({**event, "code": 1000}, size))
                    continue
                self._sender = None
                self._refused()
                return
            if meant is not None and self._refused_code is not None:
                self._refused_code(meant)  # the retry went: the server refused that code
            self.queued -= size
            if self._waiters and self.queued <= LOW_WATER:
                self._wake()
            if event["type"] == "websocket.close":
                self._sender = None
                self._end()
                return
        self._sender = None
        if self._closing:
            self._end()

    def _refused(self) -> None:
        """The server refused a send: the client is closing or gone. Its disconnect event,
        with the client's close code, is usually queued already (uvicorn refuses a send once
        the client's close frame came, before the application reads that event): the reader
        reads it, so `on_close` gets the client's code, not 1006; a server that reports
        nothing gets `DISCONNECT_GRACE` seconds, then the connection ends as lost."""
        self.disconnected = True
        self._queue.clear()
        self.queued = 0
        self._wake()
        if self._reader is None or self.ended.done():
            self._end()
            return
        self.resume_reading()  # paused for back-pressure: the disconnect event comes last
        self._grace = asyncio.get_running_loop().call_later(DISCONNECT_GRACE, self._end)

    def drained(self) -> Awaitable[None]:
        """Resolves when the queue is below the low-water mark (or the connection ended)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.queued <= LOW_WATER or self.ended.done():
            fut.set_result(None)
        else:
            self._waiters.append(fut)
        return fut

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _end(self) -> None:
        if self.ended.done():
            return
        self.ended.set_result(None)
        if self._grace is not None:
            self._grace.cancel()
        self._queue.clear()
        self.queued = 0
        self._wake()
        for task in (self._sender, self._reader):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._sender = self._reader = None
        if self._sink is not None:
            self._sink.on_lost()


def _other_code(event: Event) -> bool:
    """A `websocket.close` with a code some servers refuse to send (not 1000, 3000-4999)."""
    if event["type"] != "websocket.close":
        return False
    code = event["code"]
    return code != 1000 and code not in NON_PROTOCOL_CODES


class AsgiIO:
    """The session's writer under ASGI: each message becomes a `websocket.send` event (text
    or bytes), the close frame a `websocket.close`, all through the channel's queue.

    `paused` past 64 KiB queued (awaiting a send then waits for the queue to drain); past
    `SEND_BUFFER_LIMIT` the client is too slow and the session closes it (1013).
    """

    __slots__ = ("closing", "overflow", "transport")

    # A broadcast's frame, encoded once for many sockets, means nothing to an ASGI server.
    takes_frames = False
    # ASGI has no event for a ping or a pong.
    can_ping = False

    def __init__(self, channel: AsgiChannel) -> None:
        self.transport = channel
        self.closing = False  # no message may follow our close
        self.overflow: TooSlow | None = None

    def write(self, opcode: int, payload: bytes) -> None:
        channel = self.transport
        if self.closing or channel.ended.done():
            return
        if channel.queued > SEND_BUFFER_LIMIT:
            if self.overflow is not None:
                self.overflow.too_slow()
            return
        if opcode == TEXT:
            event: Event = {"type": "websocket.send", "text": payload.decode("utf-8")}
        else:
            event = {"type": "websocket.send", "bytes": payload}
        channel.enqueue(event, len(payload))

    def write_frame(self, frame: bytes) -> None:
        """Never called: `takes_frames` is False, so the hub calls `write` instead."""
        raise TypeError("an ASGI server takes messages, not frames")

    def write_close(self, code: int | None, reason: bytes = b"") -> None:
        """Our `websocket.close` (no code: 1000, ASGI's default); nothing may follow it. Not
        sent once the client is gone: the server closed the connection already."""
        self.closing = True
        channel = self.transport
        if channel.disconnected:
            return
        event: Event = {"type": "websocket.close", "code": int(code or 1000)}  # not an IntEnum
        if reason:
            event["reason"] = reason.decode("utf-8")
        channel.enqueue(event, 2 + len(reason))

    def half_close(self) -> bool:
        """Never: the ASGI server owns the socket and ends it after our `websocket.close`."""
        return False

    def write_control(self, opcode: int, payload: bytes) -> None:
        """Pings and pongs cannot be sent through ASGI (the server sends its own pings): the
        payload is checked as for a socket, then nothing is sent."""
        if len(payload) > MAX_CONTROL_PAYLOAD:
            raise ValueError("ping and pong payloads are limited to 125 bytes")

    @property
    def buffered(self) -> int:
        return self.transport.queued

    @property
    def paused(self) -> bool:
        return self.transport.queued > HIGH_WATER

    def drain(self) -> Awaitable[None]:
        return self.transport.drained()
