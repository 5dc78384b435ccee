"""After the 101: the connection is a plain stream (one that came through aiohttp leaves its
HTTP machinery here; a handed-over socket never entered it).

aiohttp answers the handshake, then would keep its request handler, request, parser and a
task alive for as long as the socket lives, and wake a task for every message. Instead the
transport is given a small protocol that feeds bytes to the frame parser, and the parser hands
each message straight to the connection's session, inside `data_received`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from ..closecodes import is_valid_code
from .engine import BaseProtocol, UnboundedQueue, apply_mask, reader_queue

if TYPE_CHECKING:
    from .reader import StrictReader

__all__ = ["FrameSink", "MessageSink", "Resumable", "WsStream"]

# `_held` while nothing is (only messages that came with the handshake ever are): shared.
_NOTHING_HELD: Final = cast("list[tuple[str, Any]]", ())  # never appended to: see `_hold`


class FrameSink(Protocol):
    """What receives the parser's output (the session)."""

    def on_message(self, data: str | bytes) -> None:
        """One whole data message (text as str, binary as bytes)."""
        ...

    def on_frame(self, msg: Any) -> None:
        """One message or control frame, as aiohttp's `WSMessage`."""
        ...

    def on_close(self, code: int, reason: str) -> None:
        """The peer's close frame (code 0: it had none)."""
        ...

    def on_error(self, exc: BaseException) -> None: ...

    def on_eof(self) -> None:
        """The peer ended its side (its FIN); the transport closes once its buffer is written."""
        ...

    def on_lost(self) -> None: ...


class MessageSink(UnboundedQueue):
    """The parser's queue, turned into a call: each message goes to the sink at once.

    Messages parsed before a sink is attached (bytes that came with the handshake) wait here.
    """

    __slots__ = ("_held", "sink")

    def __init__(self) -> None:
        # No super().__init__(): every method the parser calls is overridden here, so the
        # base class's buffer (an empty deque, 600 bytes per connection) would never be used.
        self.sink: FrameSink | None = None
        self._held: list[tuple[str, Any]] = _NOTHING_HELD

    def attach(self, sink: FrameSink) -> None:
        self.sink = sink
        held, self._held = self._held, _NOTHING_HELD
        for kind, value in held:
            sink.on_frame(value) if kind == "frame" else sink.on_error(value)

    def feed_data(self, data: Any, size: int) -> None:
        sink = self.sink
        if sink is None:
            self._hold("frame", data)
        else:
            sink.on_frame(data)

    def set_exception(self, exc: BaseException, exc_cause: BaseException | None = None) -> None:
        sink = self.sink
        if sink is None:
            self._hold("error", exc)
        else:
            sink.on_error(exc)

    def _hold(self, kind: str, value: Any) -> None:
        if self._held is _NOTHING_HELD:
            self._held = []
        self._held.append((kind, value))

    def feed_eof(self) -> None:
        """The stream's own `connection_lost` reports the end; nothing to do here."""


class Resumable(BaseProtocol):
    """A protocol that tells `on_resume` (set by the writer holding frames) when its
    transport takes data again, before the writers waiting in `drain` wake."""

    __slots__ = ("on_resume",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.on_resume: Callable[[], None] | None = None

    def resume_writing(self) -> None:
        super().resume_writing()  # the waiters run later, after what was held is written
        on_resume = self.on_resume
        if on_resume is not None:
            self.on_resume = None
            on_resume()


class WsStream(Resumable):
    """The transport's protocol once the connection is a WebSocket owned by wsside.

    `reader` may be None with `make_reader` given: the frame parser (about 600 bytes with its
    queue) is then made when it is first needed, so a connection that only listens, or only
    ever gets whole small messages, never has one. `make_reader(sink)` returns a parser whose
    messages go to `sink`. `limit` is the message size limit (0: none).

    The common case skips the parser: a read that starts at a frame boundary (the parser
    has nothing under way) and holds whole, final, masked, uncompressed text or binary frames
    of less than 64 KiB, each within the size limit and, for text, valid UTF-8, or a valid
    close frame. Those frames are unmasked and decoded here and go to the sink's `on_message`
    or `on_close` directly; the first frame that is anything else, and all that follows it in
    the read, goes to the parser, which then applies every check (so an invalid frame gets
    the same close code either way).
    """

    __slots__ = ("_make_reader", "limit", "reader", "sink")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        reader: StrictReader | None,
        make_reader: Callable[[FrameSink | None], StrictReader] | None = None,
        limit: int = 0,
    ) -> None:
        super().__init__(loop)
        self.reader = reader
        self.sink: FrameSink | None = None
        self._make_reader = make_reader
        self.limit = limit

    def attach(self, sink: FrameSink) -> None:
        """From now on frames and the end go to `sink`, starting with those already parsed
        (and the end, when the client left during the handshake)."""
        self.sink = sink
        if self.reader is not None:
            reader_queue(self.reader).attach(sink)
        if self.transport is None:
            sink.on_lost()

    def hold(self) -> None:
        """The parser keeps the frames it completes (`StrictReader.hold`); bytes that skip it
        still reach the sink (a parser made after this call does not hold)."""
        if self.reader is not None:
            self.reader.hold()

    def release(self) -> None:
        if self.reader is not None:
            self.reader.release()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not BaseProtocol's, which sets TCP_NODELAY again: aiohttp's request handler did
        # for its connections, and the shim or `handoff.take_over` does for handed-over ones.
        # A stream socket's transport (asyncio's or `SocketTransport`), as aiohttp casts it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        sink = self.sink
        if sink is not None and (reader is None or reader.idle()):
            taken = _take_whole_frames(data, sink, self.limit)
            if taken == len(data):
                return
            if taken:
                data = data[taken:]
        if reader is None:
            make = self._make_reader
            assert make is not None  # made without a parser, so with a parser maker
            reader = self.reader = make(sink)
        reader.feed_data(data)

    def eof_received(self) -> bool:
        # The peer will send nothing more: let the transport close (this is also how a
        # connection half-closed after its failure ends: `FrameIO.half_close`). The sink
        # bounds how long writing what is queued may take (a peer that reads no more).
        sink = self.sink
        if sink is not None:
            sink.on_eof()
        # Frames held while writing was paused go to the transport before it closes (it
        # closes once its buffer is written: what it takes now still reaches the client).
        on_resume = self.on_resume
        if on_resume is not None:
            self.on_resume = None
            on_resume()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        if self.reader is not None:
            # What the client sent while the sink had stopped reading is never handled: the
            # sink's `on_close` comes now, and no message may follow it.
            self.reader.drop_held()
        if self.sink is not None:
            self.sink.on_lost()


def _take_whole_frames(data: bytes, sink: FrameSink, limit: int) -> int:
    """Deliver the whole simple data frames at the start of `data` (see `WsStream`); returns
    how many bytes they took."""
    n = len(data)
    p = 0
    while n - p >= 6:
        first = data[p]
        if first != 0x81 and first != 0x82:  # FIN + text or binary, no RSV bit
            if first == 0x88:  # FIN + close
                taken = _take_close(data, p, sink)
                if taken:
                    p += taken
                    continue
            break
        length = data[p + 1] - 0x80  # negative: not masked
        if length < 0:
            break
        if length < 126:
            start = p + 6
        elif length == 126 and n - p >= 8:
            length = data[p + 2] << 8 | data[p + 3]
            start = p + 8
        else:
            break
        end = start + length
        if end > n or (limit and length > limit):
            break
        payload = bytearray(data[start:end])
        apply_mask(data[start - 4 : start], payload)
        if first == 0x81:
            try:
                message: str | bytes = payload.decode("utf-8")
            except UnicodeDecodeError:
                break
        else:
            message = bytes(payload)
        sink.on_message(message)
        p = end
    return p


def _take_close(data: bytes, p: int, sink: FrameSink) -> int:
    """Deliver a valid close frame at `data[p:]`; returns its size, 0 when it is not one
    (incomplete, or to be refused by the parser)."""
    length = data[p + 1] - 0x80
    if length < 0 or length == 1 or length > 125 or len(data) - p < 6 + length:
        return 0
    payload = bytearray(data[p + 6 : p + 6 + length])
    if length:
        apply_mask(data[p + 2 : p + 6], payload)
        code = payload[0] << 8 | payload[1]
        if not is_valid_code(code):
            return 0
        try:
            reason = payload[2:].decode("utf-8")
        except UnicodeDecodeError:
            return 0
    else:
        code, reason = 0, ""
    sink.on_close(code, reason)
    return 6 + length
