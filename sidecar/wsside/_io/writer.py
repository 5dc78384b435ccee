"""Server-side frame writing, synchronous: a frame is on the transport when `write` returns.

aiohttp's own writer is a coroutine; wsside needs `conn.send()` to work from plain functions
and `broadcast` to encode a frame once for many receivers, so data, ping and pong frames are
written here. Close frames still go through aiohttp, which owns the closing handshake.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

__all__ = ["FrameIO", "encode_frame"]

_PACK_LEN2 = struct.Struct("!BBH").pack
_PACK_LEN3 = struct.Struct("!BBQ").pack
_FIN = 0x80
_RSV1 = 0x40

# Past this many bytes queued for one client, the client is too slow: it is closed (1013)
# rather than letting the sidecar's memory grow without bound.
SEND_BUFFER_LIMIT = 16 * 1024 * 1024


def encode_frame(opcode: int, payload: bytes, rsv1: bool = False) -> bytes:
    first = _FIN | (_RSV1 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return _PACK_LEN2(first, 126, n) + payload
    return _PACK_LEN3(first, 127, n) + payload


class FrameIO:
    """The write side of one connection."""

    __slots__ = ("transport", "protocol", "compressor", "closing")

    def __init__(self, transport: asyncio.Transport, protocol: Any, compressor: Any = None) -> None:
        self.transport = transport
        self.protocol = protocol
        self.compressor = compressor  # set when permessage-deflate was negotiated
        self.closing = False  # no data frame may follow our close frame

    @staticmethod
    def frame(opcode: int, payload: bytes) -> bytes:
        return encode_frame(opcode, payload)

    def write(self, opcode: int, payload: bytes) -> None:
        compressor = self.compressor
        if compressor is not None and opcode < 0x8:
            compressed = compressor.compress(payload)
            if compressed is not None:
                self.write_raw(encode_frame(opcode, compressed, rsv1=True))
                return
        self.write_raw(encode_frame(opcode, payload))

    def write_raw(self, frame: bytes) -> None:
        if self.closing or self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() > SEND_BUFFER_LIMIT:
            session = getattr(self.protocol, "sink", None)  # the stream's (see stream.py)
            if session is not None:
                session.too_slow()
            return
        self.transport.write(frame)

    def write_close(self, code: int | None, reason: bytes = b"") -> None:
        """The close frame (no code: an empty one); nothing may follow it."""
        self.closing = True
        if not self.transport.is_closing():
            body = b"" if code is None else code.to_bytes(2, "big") + reason
            self.transport.write(encode_frame(0x8, body))

    def write_control(self, opcode: int, payload: bytes) -> None:
        if len(payload) > 125:
            raise ValueError("ping and pong payloads are limited to 125 bytes")
        self.write_raw(encode_frame(opcode, payload))

    @property
    def buffered(self) -> int:
        return self.transport.get_write_buffer_size()

    async def drain(self) -> None:
        """Wait until the transport accepts more data (no-op while it is below its limit)."""
        if not self.transport.is_closing():
            await self.protocol._drain_helper()
