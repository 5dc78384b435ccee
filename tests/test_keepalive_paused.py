"""A client that sends faster than its handler works is there, not gone: while the server has
stopped reading it (the queue's back-pressure, docs/reliability.md), its pongs and messages
wait unread in the socket, so neither the heartbeat nor the inactivity timeout may close it.
Every message is handled once the handler goes on, and from then on both timers start
afresh (`Keepalive.resume`, even when nothing waits in the socket to be read): a client that
then goes quiet is still closed, a whole timeout or three heartbeats after the resume. On a
socket wsside owns (through aiohttp's server, in-process) and under uvicorn (ASGI: the
inactivity timeout only)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from tests.reliability.rawws import (
    CLOSE,
    PING,
    PONG,
    TEXT,
    FrameParser,
    close_payload,
    frame,
    parse_close,
    upgrade_head,
)

from asgi_server import Server, assert_stopped, write_files
from wsside._runtime.callback_queue import INBOX_HIGH_WATER, CallbackQueue

HEARTBEAT = 0.3
IDLE = 1.0
# Well past the 1,024 messages that pause reading: the rest wait in the socket.
COUNT = 3 * INBOX_HIGH_WATER
PAD = "x" * 1000  # 1 KB messages, as the devices sent
# The fewest messages that stop the reading: the one the handler is on, and a queue past its
# high water (small ones, so the count stops it, not the bytes). Nothing is left to read
# after them, so only `Keepalive.resume` restarts the timers when reading resumes.
PAUSING = INBOX_HIGH_WATER + 2

HANDLERS = f"""
    import asyncio, gc, json
    from wsside import Handler
    from wsside._runtime.session import Session

    gate = asyncio.Event()  # set by a message to /ws/open: the slow handler goes on
    handled = [0]

    async def work(conn, data):
        await gate.wait()
        if data["i"] != handled[0]:
            conn.send({{"out of order": data["i"], "expected": handled[0]}})
        handled[0] += 1
        if data.get("last"):
            conn.send({{"handled": handled[0]}})

    Handler("/ws/hb", heartbeat={HEARTBEAT}, on_message=work)
    Handler("/ws/idle", inactivity_timeout={IDLE}, on_message=work)

    def _open(conn, data):
        gate.set()
        conn.send({{"open": True}})

    Handler("/ws/open", on_message=_open)

    def _paused(conn, data):
        # Whether the server stopped reading the flooding client (under uvicorn, where the
        # test cannot watch the session itself).
        slow = [o for o in gc.get_objects() if type(o) is Session and o.conn.path == "/ws/idle"]
        conn.send(json.dumps([s._reading_paused for s in slow]))

    Handler("/ws/paused", on_message=_paused)

    # A handler that answers each message: to a client that never reads, its `await
    # conn.send` waits for good, and with it the queue and the pause.
    closes, closed = [], asyncio.Event()

    async def _echo(conn, data):
        await conn.send(data)

    def _echo_closed(conn, code, reason, by_client):
        closes.append([code, reason])
        closed.set()

    Handler("/ws/echo-hb", heartbeat={HEARTBEAT}, on_message=_echo, on_close=_echo_closed)

    async def _closes(conn, data):
        await closed.wait()
        conn.send({{"closes": closes}})

    Handler("/ws/closes", on_message=_closes)
"""


class Device:
    """A raw client: floods numbered 1 KB JSON messages, answers pings while `answering`,
    counts them, and keeps the server's messages and close frame, and when it came."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.answering = True
        self.pings = 0
        self.messages: list[object] = []
        self.closed: tuple[int, str] | None = None
        self.closed_at = 0.0
        self._changed = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, path: str) -> Device:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(upgrade_head(path))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def ask(self, text: str) -> object:
        self.writer.write(frame(TEXT, text.encode()))
        await self.until(lambda: bool(self.messages), 5)
        return self.messages[0]

    async def flood(self, count: int, pad: str = PAD) -> None:
        """`count` messages, each written as soon as the socket takes it."""
        for i in range(count):
            message = {"i": i, "pad": pad, **({"last": True} if i == count - 1 else {})}
            self.writer.write(frame(TEXT, json.dumps(message).encode()))
            await self.writer.drain()

    async def _read(self) -> None:
        parser = FrameParser()
        while data := await self.reader.read(65536):
            for opcode, payload in parser.feed(data):
                if opcode == PING:
                    self.pings += 1
                    if self.answering:
                        self.writer.write(frame(PONG, payload))
                elif opcode == TEXT:
                    self.messages.append(json.loads(payload))
                elif opcode == CLOSE:
                    self.closed, self.closed_at = parse_close(payload), time.monotonic()
                    self.writer.write(frame(CLOSE, close_payload(1000)))
            self._changed.set()
        self._changed.set()

    async def until(self, done: Callable[[], bool], timeout: float) -> None:
        """Until `done()` or the server's close frame; TimeoutError past `timeout`."""

        async def changes() -> None:
            while not done() and self.closed is None:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(changes(), timeout)

    def close(self) -> None:
        self._reading.cancel()
        self.writer.transport.abort()


class Reading:
    """When the server stopped reading a connection, and when it read again."""

    def __init__(self) -> None:
        self.paused = asyncio.Event()
        self.resumed_at = 0.0


@pytest.fixture
def reading(monkeypatch: pytest.MonkeyPatch) -> Reading:
    seen = Reading()
    pause, resume = CallbackQueue._pause_reading, CallbackQueue._resume_reading

    def paused(queue: CallbackQueue) -> None:
        pause(queue)
        seen.paused.set()

    def resumed(queue: CallbackQueue) -> None:
        resume(queue)
        if not queue._reading_paused:
            seen.resumed_at = time.monotonic()

    monkeypatch.setattr(CallbackQueue, "_pause_reading", paused)
    monkeypatch.setattr(CallbackQueue, "_resume_reading", resumed)
    return seen


@pytest.fixture
async def device_at() -> AsyncIterator[Callable[[int, str], Awaitable[Device]]]:
    """`await device_at(port, path)`: a `Device`, closed at the end of the test."""
    opened: list[Device] = []

    async def open_one(port: int, path: str) -> Device:
        opened.append(await Device.open(port, path))
        return opened[-1]

    yield open_one
    for device in opened:
        device.close()


async def go_on(port: int, prefix: str) -> None:
    opener = await Device.open(port, f"{prefix}/ws/open")
    try:
        assert await opener.ask("go") == {"open": True}
    finally:
        opener.close()


async def test_a_flood_behind_a_slow_handler_outlives_the_heartbeat(
    serve, reading, device_at
) -> None:
    s = await serve(HANDLERS)
    device = await device_at(s.port, "/api/ws/hb")
    sender = asyncio.create_task(device.flood(COUNT))
    await asyncio.wait_for(reading.paused.wait(), 10)
    pings = device.pings
    # Twice the pings that close a client whose pongs do not come: its pongs wait unread.
    await device.until(lambda: device.pings >= pings + 8, 10)
    assert device.closed is None
    await go_on(s.port, "/api")
    await device.until(lambda: bool(device.messages), 30)
    assert device.messages == [{"handled": COUNT}]  # each one, in order
    await sender
    assert reading.resumed_at and device.closed is None
    # Quiet now: no pong, no message. Its unanswered pings close it, as ever.
    device.answering = False
    pings = device.pings
    await device.until(lambda: False, 5)
    assert device.closed == (1000, "No pong received")
    assert device.pings - pings >= 3


async def test_a_flood_behind_a_slow_handler_outlives_the_inactivity_timeout(
    serve, reading, device_at
) -> None:
    s = await serve(HANDLERS)
    device = await device_at(s.port, "/api/ws/idle")
    sender = asyncio.create_task(device.flood(COUNT))
    await asyncio.wait_for(reading.paused.wait(), 10)
    await asyncio.sleep(3 * IDLE)  # time itself is under test: the server reads nothing
    assert device.closed is None
    await go_on(s.port, "/api")
    await device.until(lambda: bool(device.messages), 30)
    assert device.messages == [{"handled": COUNT}]
    await sender
    assert reading.resumed_at and device.closed is None
    # Quiet now: closed a whole timeout after reading resumed (its last message came later).
    await device.until(lambda: False, 5)
    assert device.closed == (1000, "Inactivity timeout")
    assert device.closed_at - reading.resumed_at >= IDLE * 0.9


async def test_after_a_pause_the_heartbeat_counts_from_the_resume(
    serve, reading, device_at
) -> None:
    s = await serve(HANDLERS)
    device = await device_at(s.port, "/api/ws/hb")
    device.answering = False  # two pings missed before the pause: two more beats would close it
    await device.until(lambda: device.pings >= 2, 5)
    await device.flood(PAUSING, pad="")
    await asyncio.wait_for(reading.paused.wait(), 10)
    pings = device.pings
    await device.until(lambda: device.pings >= pings + 3, 10)
    assert device.closed is None
    await go_on(s.port, "/api")
    await device.until(lambda: bool(device.messages), 10)
    assert device.messages == [{"handled": PAUSING}]
    # Three unanswered pings from the resume on, as on a new connection: the two missed before
    # the pause count no more (counted, it would close within two heartbeats).
    await device.until(lambda: False, 5)
    assert device.closed == (1000, "No pong received")
    assert device.closed_at - reading.resumed_at >= 3 * HEARTBEAT * 0.9


async def test_after_a_pause_the_inactivity_timeout_counts_from_the_resume(
    serve, reading, device_at
) -> None:
    s = await serve(HANDLERS)
    device = await device_at(s.port, "/api/ws/idle")
    await device.flood(PAUSING, pad="")
    await asyncio.wait_for(reading.paused.wait(), 10)
    # The timer looks every timeout while paused: resumed halfway between two looks, a
    # timeout counted from the last message (long past) would close the client at the next.
    await asyncio.sleep(2.5 * IDLE)  # time itself is under test: the server reads nothing
    await go_on(s.port, "/api")
    await device.until(lambda: bool(device.messages), 10)
    assert device.messages == [{"handled": PAUSING}]
    await device.until(lambda: False, 5)
    assert device.closed == (1000, "Inactivity timeout")
    assert device.closed_at - reading.resumed_at >= IDLE * 0.9


async def test_a_client_that_floods_and_never_reads_is_still_closed(serve, reading) -> None:
    # Reading paused while the server's answers to the client back up too: the handler waits
    # on the client, not the other way round, and the pause would last for ever. The
    # heartbeat counts as ever (before, a client could hold a connection and its queued
    # megabytes this way, whatever heartbeat= said).
    s = await serve(HANDLERS)
    deaf = socket.socket()
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a window that fills at once
    deaf.setblocking(False)
    loop = asyncio.get_running_loop()  # the server's too: nothing here may block
    await asyncio.wait_for(loop.sock_connect(deaf, ("127.0.0.1", s.port)), 5)
    await loop.sock_sendall(deaf, upgrade_head("/api/ws/echo-hb"))
    head = b""
    while b"\r\n\r\n" not in head:  # byte by byte: nothing after the head is read, ever
        head += await asyncio.wait_for(loop.sock_recv(deaf, 1), 5)
    assert head.startswith(b"HTTP/1.1 101"), head

    async def flood() -> None:
        message = frame(TEXT, json.dumps({"pad": "x" * 8000}).encode())
        for _ in range(1000):  # 8 MB, past the queue's 1 MiB once the echoes back up
            await loop.sock_sendall(deaf, message)

    sender = asyncio.create_task(flood())
    try:
        await asyncio.wait_for(reading.paused.wait(), 10)
        asker = await Device.open(s.port, "/api/ws/closes")
        try:
            # Answered once on_close has run: 4 beats, then the closing handshake's 5 s.
            asker.writer.write(frame(TEXT, b"?"))
            await asker.until(lambda: bool(asker.messages), 20)
            assert asker.messages == [{"closes": [[1000, "No pong received"]]}]
        finally:
            asker.close()
    finally:
        sender.cancel()
        deaf.close()


@pytest.fixture
def uvicorn(tmp_path: Path) -> Iterator[Server]:
    write_files(tmp_path, {"ws/devices.py": HANDLERS, "app.py": APP})
    srv = Server(tmp_path, "uvicorn")
    yield srv
    assert_stopped(srv)


APP = 'from wsside import ASGIApp\n\napp = ASGIApp("ws")\n'


async def test_under_uvicorn_a_flood_outlives_the_inactivity_timeout(uvicorn, device_at) -> None:
    device = await device_at(uvicorn.port, "/ws/idle")
    sender = asyncio.create_task(device.flood(COUNT))

    async def paused() -> None:  # asked again until the server stopped reading the device
        while True:
            asker = await Device.open(uvicorn.port, "/ws/paused")
            answer = await asker.ask("?")
            asker.close()
            if answer == [True]:
                return

    await asyncio.wait_for(paused(), 10)
    await asyncio.sleep(3 * IDLE)  # time itself is under test: the server reads nothing
    assert device.closed is None
    await go_on(uvicorn.port, "")
    await device.until(lambda: bool(device.messages), 30)
    assert device.messages == [{"handled": COUNT}]
    await sender
    await device.until(lambda: False, 5)
    assert device.closed == (1000, "Inactivity timeout")
