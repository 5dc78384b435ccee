"""Frames written while the transport is paused (a client that reads nothing) are held by the
writer and given to the transport as one write when it resumes: asyncio's transport on
Python 3.12+ keeps each write as a buffer entry and sums them all at every write, so a frame
per write made each send to such a client cost more than the last (80,000 small broadcasts:
266 s on 3.13). Order, the close frame, `buffered` and the 1013 limit hold as before.

The first test drives `FrameIO` over a transport that counts its writes; the second sends
80,000 broadcasts through a real `wsside serve` socket to a client that reads only after."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from wsside._io.stream import WsStream
from wsside._io.writer import SEND_BUFFER_LIMIT, FrameIO

# Broadcasts its message's number of frames, then says "sent"; "sync" is answered "synced".
FEED = """
    from wsside import Handler
    h = Handler("/ws/feed")

    @h.on_message
    def go(conn, data):
        if data == "sync":
            conn.send("synced")
            return
        for i in range(int(data)):
            h.broadcast(f"{i:08d}")
        conn.send("sent")
"""


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return 70_000  # above the high-water mark: paused

    def is_closing(self) -> bool:
        return self.closing


class _TooSlow:
    def __init__(self) -> None:
        self.told = 0

    def too_slow(self) -> None:
        self.told += 1


async def test_frames_written_while_paused_go_as_one_write_in_order_when_resumed() -> None:
    stream = WsStream(asyncio.get_running_loop(), None)
    transport = _Transport()
    stream.connection_made(transport)
    io = FrameIO(transport, stream)
    slow = io.overflow = _TooSlow()
    io.write_frame(b"a")  # not paused: straight to the transport
    stream.pause_writing()
    for frame in (b"b", b"c", b"d"):
        io.write_frame(frame)
    assert transport.writes == [b"a"]
    assert io.buffered == 70_000 + 3
    stream.resume_writing()
    assert transport.writes == [b"a", b"bcd"]
    assert io.buffered == 70_000
    # Paused again: the close frame follows what is held, in one go, and nothing after it.
    stream.pause_writing()
    io.write_frame(b"e")
    io.write_close(1000)
    io.write_frame(b"f")
    assert transport.writes[2:] == [b"e", b"\x88\x02\x03\xe8"]
    # Once past the limit, the client is too slow and no frame is kept.
    io2 = FrameIO(transport, stream)  # the stream is still paused
    io2.overflow = slow
    io2.write_frame(b"x" * (SEND_BUFFER_LIMIT - 70_000))
    io2.write_frame(b"y")  # at the limit: kept
    io2.write_frame(b"z")  # past it
    assert slow.told == 1 and io2.buffered == SEND_BUFFER_LIMIT + 1


async def test_a_client_that_reads_nothing_gets_every_broadcast_in_order_once_it_reads(
    serve,
) -> None:
    s = await serve(FEED)
    await _every_frame_once_it_reads(s, 80_000, half_close=False)


async def test_a_client_that_half_closes_while_frames_are_held_still_gets_them(serve) -> None:
    """The client's FIN closes the transport once its buffer is written: what was held goes
    into it first, as it would have without holding."""
    s = await serve(FEED)
    await _every_frame_once_it_reads(s, 80_000, half_close=True)


async def _every_frame_once_it_reads(s: Any, count: int, half_close: bool) -> None:
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", s.port))
    reader, writer = await asyncio.open_connection(sock=raw, limit=1 << 20)
    writer.write(
        b"GET /api/ws/feed HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        sender = await s.connect("/api/ws/feed")
        await sender.send_str(str(count))
        while (await sender.receive(timeout=60)).data != "sent":
            pass
        if half_close:
            raw.shutdown(socket.SHUT_WR)
            # The server (this process's loop) has read the FIN once a message sent after
            # it has been answered: both were ready at the same poll, the FIN first.
            await sender.send_str("sync")
            while (await sender.receive(timeout=10)).data != "synced":
                pass
        for i in range(count):
            head = await asyncio.wait_for(reader.readexactly(2), 10)
            assert head == b"\x81\x08", (i, head)
            assert await reader.readexactly(8) == f"{i:08d}".encode()
        await sender.close()
    finally:
        writer.close()
