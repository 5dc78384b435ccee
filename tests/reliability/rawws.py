"""A hand-written WebSocket client for the reliability suite: raw bytes on real sockets.

Attackers need frames no library would send (bad opcodes, unmasked, lying lengths), and the
load tests need a client far cheaper than aiohttp's, so that 1,000 of them in the test process
leave the CPU to the sidecar. Server frames are never masked, so parsing them is cheap.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable

from aiohttp._websocket.helpers import websocket_mask

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def upgrade_head(path: str, host: str = "127.0.0.1", extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode("latin-1")


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
) -> bytes:
    """One client frame; `length` overrides the declared payload length (to lie about it)."""
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head.append(bit | n)
    elif n < 65536:
        head += struct.pack("!BH", bit | 126, n)
    else:
        head += struct.pack("!BQ", bit | 127, n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    body = bytearray(payload)
    if body:
        websocket_mask(key, body)
    return bytes(head) + key + bytes(body)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


class FrameParser:
    """Server frames (unmasked) out of a byte stream."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self.buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            start = pos + 2
            if b1 == 126:
                if n - pos < 4:
                    break
                b1 = buf[pos + 2] << 8 | buf[pos + 3]
                start = pos + 4
            elif b1 == 127:
                if n - pos < 10:
                    break
                b1 = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + b1
            if end > n:
                break
            out.append((buf[pos] & 0x0F, bytes(buf[start:end])))
            pos = end
        if pos:
            del buf[:pos]
        return out


def parse_close(payload: bytes) -> tuple[int, str]:
    if len(payload) < 2:
        return 1005, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


class Stream:
    """One raw connection over asyncio streams: for attackers and single well-behaved peers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = FrameParser()
        self.frames: list[tuple[int, bytes]] = []
        self.status = 0
        self.head = b""

    @classmethod
    async def open(
        cls,
        port: int,
        path: str,
        *,
        extra: str = "",
        head: bytes | None = None,
        timeout: float = 5.0,
    ) -> Stream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self = cls(reader, writer)
        writer.write(head if head is not None else upgrade_head(path, extra=extra))
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except BaseException:
            # A failed open must not leave a socket for the garbage collector to find later,
            # in another test (its ResourceWarnings would be blamed on that test).
            writer.close()
            raise
        self.head = raw
        self.status = int(raw.split(b" ", 2)[1])
        return self

    def send(self, opcode: int, payload: bytes = b"", **kw: object) -> None:
        self.writer.write(frame(opcode, payload, **kw))  # type: ignore[arg-type]

    def send_text(self, text: str) -> None:
        self.send(TEXT, text.encode())

    async def recv(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next frame, within `timeout` s however its bytes trickle in."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.frames:
            data = await asyncio.wait_for(self.reader.read(65536), max(deadline - loop.time(), 0))
            if not data:
                raise ConnectionError("EOF before a frame")
            self.frames.extend(self.parser.feed(data))
        return self.frames.pop(0)

    async def recv_text(self, timeout: float = 5.0) -> str:
        """The next text frame, within `timeout` s however many other frames come first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            op, payload = await self.recv(max(deadline - loop.time(), 0))
            if op == TEXT:
                return payload.decode()
            if op == CLOSE:
                raise ConnectionError(f"closed {parse_close(payload)}")

    async def closed_with(self, timeout: float = 5.0) -> tuple[int, str]:
        """Read until the server's close frame; answer it; wait for EOF; return (code, reason).
        All within `timeout` s, however many frames come before the close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            op, payload = await self.recv(max(deadline - loop.time(), 0))
            if op == CLOSE:
                code, reason = parse_close(payload)
                try:
                    self.writer.write(frame(CLOSE, payload[:2]))
                except (ConnectionError, RuntimeError):
                    pass
                await asyncio.wait_for(self._eof(), max(deadline - loop.time(), 0))
                return code, reason

    async def _eof(self) -> None:
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionError:
            pass

    async def close(self) -> None:
        """Client-initiated close handshake, then wait for the server to drop the socket."""
        if not self.writer.is_closing():
            self.send(CLOSE, close_payload(1000))
            await asyncio.wait_for(self._eof(), 5.0)
            self.writer.close()

    def abort(self) -> None:
        self.writer.transport.abort()


class LoadClient(asyncio.Protocol):
    """A cheap client for load tests: handshake, then each text message goes to `on_text`."""

    def __init__(self, path: str, on_text: Callable[[LoadClient, bytes], None]) -> None:
        self.path = path
        self.on_text = on_text
        self.parser = FrameParser()
        self.transport: asyncio.Transport | None = None
        self.head = bytearray()
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.first_text: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(
        cls, port: int, path: str, on_text: Callable[[LoadClient, bytes], None]
    ) -> LoadClient:
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(lambda: cls(path, on_text), "127.0.0.1", port)
        await asyncio.wait_for(client.upgraded, 10)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(upgrade_head(self.path))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(bytes(self.head[:60])))
                return
            data = bytes(self.head[end + 4 :])
            self.upgraded.set_result(None)
        for op, payload in self.parser.feed(data):
            if op == TEXT:
                if not self.first_text.done():
                    self.first_text.set_result(payload)
                self.on_text(self, payload)
            elif op == CLOSE:
                self.close_code = parse_close(payload)[0]
                if self.transport is not None and not self.transport.is_closing():
                    self.transport.write(frame(CLOSE, payload[:2]))
            elif op == PING and self.transport is not None:
                self.transport.write(frame(PONG, payload))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("lost during handshake"))
        if not self.lost.done():
            self.lost.set_result(None)

    def send_text(self, text: str) -> None:
        assert self.transport is not None
        self.transport.write(frame(TEXT, text.encode()))

    async def close(self) -> None:
        assert self.transport is not None
        if not self.transport.is_closing() and self.close_code is None:
            self.transport.write(frame(CLOSE, close_payload(1000)))
        await asyncio.wait_for(self.lost, 10)


def blocking_slow_client(port: int, path: str, rcvbuf: int = 4096) -> socket.socket:
    """A client that completes the handshake and then never reads: a tiny receive buffer so
    that the sidecar's backlog for it shows up at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_head(path))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: nothing past the head is consumed
        if not chunk:
            raise ConnectionError("closed during handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.decode("latin-1"))
    return sock
