"""Frames written while the transport is paused (a client that reads nothing) are held by the
writer and given to the transport as one write when it resumes: asyncio's transport on
Python 3.12+ keeps each write as a buffer entry and sums them all at every write, so a frame
per write made each send to such a client cost more than the last (80,000 small broadcasts:
266 s on 3.13). On that transport, frames written while it holds unsent bytes are held too,
until the end of the loop's turn or 64 KiB, past which the transport gets them and pauses.
Order, the close frame, `buffered`, the pause writers wait on and the 1013 limit hold as
before.

The first tests drive `FrameIO` over a transport that counts its writes; the others go
through a real `wsside serve` socket, with holding within turns forced on where the Python
running them has no such transport (`held_within_turns`)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from tests import test_connection

from wsside._io import writer as writer_module
from wsside._io.stream import WsStream
from wsside._io.writer import _HIGH_WATER as HIGH_WATER
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


@pytest.fixture
def held_within_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every transport is treated as asyncio's on Python 3.12+ (an entry per write)."""
    monkeypatch.setattr(writer_module, "_entry_per_write", lambda transport: True)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.written = asyncio.Event()
        self.closing = False
        self.size = 70_000  # what it says it holds unsent: above the high-water mark
        self.pauses: WsStream | None = None  # paused by a write past 64 KiB, as a real one

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.size += len(data)
        self.written.set()
        if self.pauses is not None and self.size > HIGH_WATER and not self.pauses._paused:
            self.pauses.pause_writing()

    def get_write_buffer_size(self) -> int:
        return self.size

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
    transport.size = 70_000
    stream.pause_writing()
    for frame in (b"b", b"c", b"d"):
        io.write_frame(frame)
    assert transport.writes == [b"a"]
    assert io.buffered == 70_000 + 3
    stream.resume_writing()
    assert transport.writes == [b"a", b"bcd"]
    assert io.buffered == 70_000 + 3
    transport.size = 70_000
    # Paused again: the close frame follows what is held, in one go, and nothing after it.
    stream.pause_writing()
    io.write_frame(b"e")
    io.write_close(1000)
    io.write_frame(b"f")
    assert transport.writes[2:] == [b"e", b"\x88\x02\x03\xe8"]
    # Once past the limit, the client is too slow and no frame is kept.
    # (Of what the transport held when it paused, the 64 KiB below its high-water mark count:
    # the rest is the message that paused it, below.)
    transport.size = 70_000
    io2 = FrameIO(transport, stream)  # the stream is still paused
    io2.overflow = slow
    io2.write_frame(b"x" * (SEND_BUFFER_LIMIT - HIGH_WATER - 1))
    io2.write_frame(b"y")  # to the limit: kept
    io2.write_frame(b"z")  # past it
    assert slow.told == 1 and io2.buffered == 70_000 + SEND_BUFFER_LIMIT - HIGH_WATER


async def test_one_message_larger_than_the_budget_is_sent_whole_and_not_counted() -> None:
    """A 24 MiB message written while the client kept up, then a small one: the client that
    reads got a 1013 (the big one filled the 16 MiB budget alone), and its browser client
    reconnected into the same first sync. It is left out of the budget; what follows is
    counted as before."""
    stream = WsStream(asyncio.get_running_loop(), None)
    transport = _Transport()
    stream.connection_made(transport)
    io = FrameIO(transport, stream)
    slow = io.overflow = _TooSlow()
    transport.size = 0
    big = 24 << 20
    io.write_frame(b"d" * big)  # nothing waited: written at once
    stream.pause_writing()  # as the transport does past its high-water mark
    io.write_frame(b"after")
    assert slow.told == 0 and io.buffered == big + 5
    rest = SEND_BUFFER_LIMIT - HIGH_WATER - 6  # what it held before it, at most, counts
    io.write_frame(b"x" * rest)
    io.write_frame(b"y")  # to the limit: kept
    assert slow.told == 0
    io.write_frame(b"z")  # past it: too slow
    assert slow.told == 1
    # The client read all of it; from now on a write past 64 KiB pauses it, as a real one.
    transport.size, transport.pauses = 0, stream
    stream.resume_writing()  # what was held goes, and pauses it again
    assert transport.writes[1] == b"after" + b"x" * rest + b"y"
    # Frames it held, once written, count in full: a slow reader stays 16 MiB behind at most.
    io.write_frame(b"n" * HIGH_WATER)  # to the limit
    assert slow.told == 1
    io.write_frame(b"n")
    assert slow.told == 2
    # A second big message to a client that reads nothing is counted whole: it is refused.
    io2 = FrameIO(transport, stream)
    io2.overflow = slow
    transport.size = 0
    transport.pauses = None
    stream.resume_writing()
    io2.write_frame(b"d" * big)  # written at once (nothing waited), then it pauses
    stream.pause_writing()
    io2.write_frame(b"d" * big)
    assert slow.told == 3 and io2.buffered == transport.size  # nothing held


async def test_a_big_message_held_within_a_turn_is_left_out_of_the_budget_too(
    held_within_turns: None,
) -> None:
    """On asyncio's transport on 3.12+, with a few bytes waiting (not paused), the big message
    went through the turn's hold, whose flush then counted it: a 1013 for a reading client."""
    stream = WsStream(asyncio.get_running_loop(), None)
    transport = _Transport()
    stream.connection_made(transport)
    io = FrameIO(transport, stream)
    slow = io.overflow = _TooSlow()
    transport.size, transport.pauses = 3_000, stream  # a few bytes wait: not paused
    big = 24 << 20
    io.write_frame(b"d" * big)  # held for the turn, and past 64 KiB written at once
    io.write_frame(b"after")  # now paused: held until it resumes
    assert slow.told == 0 and transport.writes == [b"d" * big]
    transport.size = 0
    stream.resume_writing()
    assert transport.writes == [b"d" * big, b"after"]


async def test_a_first_sync_larger_than_the_budget_and_what_follows_reach_a_reader(
    serve: Any,
) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/doc")

        @h.on_connect
        def first_sync(conn, request):
            conn.send(b"d" * (24 << 20))  # the whole document
            conn.send({"awareness": []})  # who is there
    """)
    ws = await s.connect("/api/ws/doc", max_msg_size=0)
    assert len(await ws.receive_bytes(timeout=30)) == 24 << 20
    assert await ws.receive_json(timeout=10) == {"awareness": []}
    await ws.close()
    assert ws.close_code == 1000


async def test_frames_written_while_bytes_wait_go_as_one_write_at_the_end_of_the_turn(
    held_within_turns: None,
) -> None:
    stream = WsStream(asyncio.get_running_loop(), None)
    transport = _Transport()
    stream.connection_made(transport)
    io = FrameIO(transport, stream)
    transport.size = 0
    io.write_frame(b"a")  # nothing waits: straight to the transport
    assert transport.writes == [b"a"]
    transport.written.clear()
    for frame in (b"b", b"c", b"d"):  # one byte waits: held to the end of this turn
        io.write_frame(frame)
    assert transport.writes == [b"a"] and io.buffered == 4 and not io.paused
    await transport.written.wait()
    assert transport.writes == [b"a", b"bcd"]
    # Past 64 KiB waiting, what is held goes at once: the transport then pauses the writers
    # (as asyncio's does past its high-water mark), who wait in `drain` for its resume.
    transport.writes.clear()
    io.write_frame(b"e" * 30_000)
    io.write_frame(b"f" * 40_000)
    assert transport.writes == [b"e" * 30_000 + b"f" * 40_000]
    stream.pause_writing()
    io.write_frame(b"g")
    drained = asyncio.ensure_future(io.drain())
    await transport.written.wait()  # the end of the turn of the first hold: paused, kept
    transport.written.clear()
    assert transport.writes == [b"e" * 30_000 + b"f" * 40_000] and not drained.done()
    stream.resume_writing()
    await drained
    assert transport.writes[1:] == [b"g"]
    # The client's FIN: what is held goes first, then the transport closes.
    io.write_frame(b"h")
    stream.eof_received()
    assert transport.writes[2:] == [b"h"]


async def test_an_await_send_loop_to_a_client_that_reads_nothing_waits_for_it(
    serve: Any, held_within_turns: None
) -> None:
    """`await conn.send` waits while the client reads nothing: other connections are served
    meanwhile, and every message comes, in order, once it reads."""
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/flood")
        h.sent = 0

        @h.on_message
        async def go(conn, data):
            if data == "count":
                conn.send(str(h.sent))
                return
            for i in range(int(data)):
                await conn.send(f"{i:08d}" * 5)
                h.sent += 1
    """)
    count = 200_000  # 8.4 MB: past what the kernels hold, short of the 16 MiB of a 1013
    reader, writer = await test_connection.small_window_client(
        s.port, "/api/ws/flood", test_connection._masked(0x1, str(count).encode())
    )
    try:
        probe = await s.connect("/api/ws/flood")
        sent = 0
        while sent == 0:  # until the loop has begun
            await probe.send_str("count")
            sent = int(await probe.receive_str(timeout=10))
        assert sent < count  # it waits for the client, and other connections are answered
        for i in range(count):
            head = await asyncio.wait_for(reader.readexactly(2), 10)
            assert head == b"\x81\x28", (i, head)
            assert await reader.readexactly(40) == f"{i:08d}".encode() * 5
        await probe.close()
    finally:
        writer.close()


async def test_pings_from_a_client_that_reads_nothing_with_holding_within_turns(
    serve: Any, held_within_turns: None
) -> None:
    await test_connection.test_pings_from_a_client_that_reads_nothing_get_one_pong_once_it_reads(
        serve
    )


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
