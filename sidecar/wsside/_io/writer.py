"""Server-side frame writing, synchronous: a frame is on the transport when `write` returns.

aiohttp's own writer is a coroutine; wsside needs `conn.send()` to work from plain functions
and `broadcast` to encode a frame once for many receivers, so every frame wsside sends, the
close frame included, is written here.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Protocol

from .._protocol.compression import Compressor
from .._protocol.frames import CLOSE, MAX_CONTROL_PAYLOAD, encode_frame
from .engine import BaseProtocol, drain, writing_paused
from .stream import Resumable

__all__ = ["SEND_BUFFER_LIMIT", "FrameIO", "TooSlow"]

# Past this many bytes queued for one client, the client is too slow: it is closed (1013)
# rather than letting the sidecar's memory grow without bound. The one message whose write
# paused the transport is left out of the count, so that a message larger than this (a
# document's first sync) still reaches a client that reads.
SEND_BUFFER_LIMIT = 16 * 1024 * 1024

# asyncio's default high-water mark: past it, the frames held within a turn go to the transport
# at once, which then pauses the writers as it would have without holding.
_HIGH_WATER = 64 * 1024


def _entry_per_write(transport: asyncio.BaseTransport) -> bool:
    """Whether `transport` keeps each write as a buffer entry and sums them all at every
    write: asyncio's own socket transport on Python 3.12+ (not uvloop's, not wsside's)."""
    return sys.version_info >= (3, 12) and type(transport).__module__ == "asyncio.selector_events"


class TooSlow(Protocol):
    """Told when a client reads slower than it is sent to (the session)."""

    def too_slow(self) -> None: ...


class FrameIO:
    """The write side of one connection. `protocol` is the transport's protocol (aiohttp's
    during the handshake, then the connection's `WsStream`), `compressor` is set when
    permessage-deflate was negotiated."""

    __slots__ = (
        "_flushed",
        "_held",
        "_held_after",
        "_turn_hold",
        "closing",
        "compressor",
        "overflow",
        "protocol",
        "transport",
    )

    # Pings and pongs are frames like any other here (the heartbeat needs them).
    can_ping = True

    def __init__(
        self,
        transport: asyncio.Transport,
        protocol: BaseProtocol,
        compressor: Compressor | None = None,
    ) -> None:
        self.transport = transport
        self.protocol = protocol
        self.compressor = compressor
        self.closing = False  # no data frame may follow our close frame
        self.overflow: TooSlow | None = None
        # Frames written while the transport is paused, written to it as one when it resumes
        # (`flush`). asyncio's transport on Python 3.12+ keeps a write per buffer entry and
        # sums them all at each write, so without holding, each frame sent to a client that
        # reads nothing costs the whole loop more (80,000 small broadcasts: 266 s without
        # holding, 0.4 s with it). On that transport, frames written while it holds unsent
        # bytes are held too, until the end of the loop's turn or 64 KiB (`_turn_hold`), so
        # that the bytes before a pause are not an entry per frame either (20,000 two-byte
        # sends to a slow reader: 3.95 s of CPU without this).
        self._held: bytearray | None = None
        self._held_after = 0  # what counts of what the transport held when holding began
        self._turn_hold = _entry_per_write(transport)
        # Whether what the transport holds past its high-water mark is frames this writer
        # held (a flush), rather than the one message whose write paused it: a hold leaves
        # that message out of the 1013 budget, so that one message larger than the budget
        # (a document's first sync) and what follows reach a client that reads.
        self._flushed = False

    @property
    def takes_frames(self) -> bool:
        """Whether a frame encoded once for many receivers may be written here as is (not
        when this connection compresses its messages)."""
        return self.compressor is None

    def write(self, opcode: int, payload: bytes) -> None:
        compressor = self.compressor
        if compressor is not None and opcode < CLOSE:
            compressed = compressor.compress(payload)
            if compressed is not None:
                self.write_frame(encode_frame(opcode, compressed, rsv1=True))
                return
        self.write_frame(encode_frame(opcode, payload))

    def write_frame(self, frame: bytes) -> None:
        """Write a whole frame (nothing once closing; the client is too slow past the limit)."""
        if self.closing or self.transport.is_closing():
            return
        held = self._held
        if held is None:
            if not writing_paused(self.protocol) and not (
                self._turn_hold and self.transport.get_write_buffer_size()
            ):
                self.transport.write(frame)  # the usual case: nothing waits, sent at once
                return
            held = self._start_holding()
            if held is None:  # aiohttp's protocol, during the handshake
                self.transport.write(frame)
                return
        paused = writing_paused(self.protocol)
        if paused and self._held_after + len(held) + len(frame) > SEND_BUFFER_LIMIT:
            if self.overflow is not None:
                self.overflow.too_slow()
            return
        held += frame
        if not paused and self._held_after + len(held) > _HIGH_WATER:
            # The transport pauses now, and `paused` tells the writers to wait. What this turn
            # held was written while the client kept up: as written at once, for the budget.
            self.flush()
            self._flushed = False

    def _start_holding(self) -> bytearray | None:
        """Hold what is written from now on: until the transport resumes (or the client's FIN
        comes), and when it is not paused, until the end of this turn too. None where the
        protocol cannot say when it resumes."""
        protocol = self.protocol
        if not isinstance(protocol, Resumable):
            return None
        held = self._held = bytearray()
        waiting = self.transport.get_write_buffer_size()
        # Before the write that paused it, the transport held less than its high-water mark.
        self._held_after = waiting if self._flushed else min(waiting, _HIGH_WATER)
        protocol.on_resume = self.flush
        if not writing_paused(protocol):
            asyncio.get_running_loop().call_soon(self._turn_ended)
        return held

    def _turn_ended(self) -> None:
        """What was held in a turn without a pause goes to the transport (when a pause came
        since, its resume does that)."""
        if not writing_paused(self.protocol):
            self.flush()

    def flush(self) -> None:
        """The frames held go to the transport as one write, in order: at the end of a turn,
        or when it resumed, before any writer woken by the resume writes (which may pause it
        again)."""
        held = self._held
        self._held = None
        if held and not self.transport.is_closing():
            self.transport.write(held)
            protocol = self.protocol
            if writing_paused(protocol) and isinstance(protocol, Resumable):
                # What it holds now counts toward the budget until it resumes.
                self._flushed = True
                protocol.on_resume = self.flush
                return
        self._flushed = False

    def write_close(self, code: int | None, reason: bytes = b"") -> None:
        """The close frame (no code: an empty one), after the frames held; nothing may follow
        it."""
        self.closing = True
        if not self.transport.is_closing():
            body = b"" if code is None else code.to_bytes(2, "big") + reason
            self.flush()
            self.transport.write(encode_frame(CLOSE, body))

    def half_close(self) -> bool:
        """After our close frame, when wsside fails the connection: send the FIN behind it and
        keep reading, until the client's EOF closes the transport (`WsStream.eof_received`).
        Closing with the client's bytes unread would send a reset instead, and a reset can
        make the client's kernel drop the close frame before it is read (RFC 6455 §7.1.1:
        the server closes first, but the close frame must arrive). False, and nothing done,
        where the transport cannot send a FIN alone (TLS)."""
        transport = self.transport
        if transport.is_closing() or not transport.can_write_eof():
            return False
        transport.write_eof()
        return True

    def write_control(self, opcode: int, payload: bytes) -> None:
        if len(payload) > MAX_CONTROL_PAYLOAD:
            raise ValueError("ping and pong payloads are limited to 125 bytes")
        self.write_frame(encode_frame(opcode, payload))

    @property
    def buffered(self) -> int:
        held = self._held
        return self.transport.get_write_buffer_size() + (len(held) if held else 0)

    @property
    def paused(self) -> bool:
        """Whether the transport asked for a pause in writing (its buffer is full)."""
        return writing_paused(self.protocol)

    async def drain(self) -> None:
        """Wait until the transport accepts more data (no-op while it is below its limit), or
        until the connection is lost: a client that goes away ends the wait, not in an error
        (the session's close path then runs `on_close`)."""
        if not self.transport.is_closing():
            try:
                await drain(self.protocol)
            except ConnectionError:  # the engine's drain raises once the socket is lost
                return
