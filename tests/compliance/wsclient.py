"""A raw WebSocket client for tests: hand-made frames, frames read back as they are on the wire.

Used where a library client would hide what is being tested (masking, RSV1, fragmentation
points, close codes, the compressed bytes the server sent).
"""

from __future__ import annotations

import asyncio
import os
import struct
from typing import ClassVar


def encode(
    opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False, mask: bool = True
) -> bytes:
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head = bytes((b0, bit | n))
    elif n < 65536:
        head = struct.pack("!BBH", b0, bit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, bit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawClient:
    opened: ClassVar[list[RawClient]] = []  # closed by `close_all` at the end of each test

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        status: int,
        headers: dict[str, str],
    ) -> None:
        self.reader, self.writer = reader, writer
        self.status, self.headers = status, headers

    @classmethod
    async def close_all(cls) -> None:
        while cls.opened:
            writer = cls.opened.pop().writer
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    @classmethod
    async def connect(cls, port: int, path: str, extensions: str | None = None) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer, 0, {})
        cls.opened.append(client)
        extra = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions is not None else ""
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode("latin-1")
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        client.status, client.headers = status, headers
        return client

    def send(self, opcode: int, payload: bytes, **kw: bool) -> None:
        self.writer.write(encode(opcode, payload, **kw))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def frame(self, timeout: float = 5.0) -> tuple[bool, bool, int, bytes]:
        """(fin, rsv1, opcode, payload) of the next frame from the server."""

        async def read() -> tuple[bool, bool, int, bytes]:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(n)
            return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, payload

        return await asyncio.wait_for(read(), timeout)

    async def close_code(self, timeout: float = 5.0) -> int:
        """Skip data frames until the server's close frame; its code."""
        while True:
            _, _, opcode, payload = await self.frame(timeout)
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005

    def close(self) -> None:
        self.writer.close()
