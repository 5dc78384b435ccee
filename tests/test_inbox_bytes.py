"""A client sending large messages to a handler that awaits: what the server holds for it is
bounded in bytes (reliability.md: the message being read, the one being handled and the queue
together), not only in count, and every message is handled, in order, once the handler goes
on. Real `wsside serve` processes and a real uvicorn serving `ASGIApp`; the server's RSS is
read from /proc/PID/status while it runs."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.reliability.harness import SidecarProcess, serving
from tests.reliability.rawws import BINARY, TEXT, frame, upgrade_head
from tests.reliability.test_slow_consumer import RssSampler

from asgi_server import Server, assert_stopped, write_files

MiB = 1 << 20
LIMIT = 2 * MiB  # the handlers' max_message_size
# reliability.md: under 4 x max_message_size + 16 MiB for what one client sends.
PROMISED = 4 * LIMIT + 16 * MiB
MARGIN = 16 * MiB  # the process's own noise: allocator pages, the probes' replies
UVICORN_QUEUE = 4  # `--ws-max-queue`: uvicorn's own queue, on top of ASGIApp's

HANDLERS = f"""
import asyncio, gc, json
from wsside import Handler
from wsside._runtime.session import Session

gate = asyncio.Event()  # set by a message to /ws/open: the slow handlers go on

def _raw(raw):
    return raw

async def work(conn, data):
    await gate.wait()
    conn.send(data[:8])  # the message's number

Handler("/ws/slow", transform_raw_data=_raw, max_message_size={LIMIT}, on_message=work)
Handler("/ws/slowz", transform_raw_data=_raw, max_message_size={LIMIT},
        per_message_deflate=True, on_message=work)

def _open(conn, data):
    gate.set()
    conn.send(b"open")

Handler("/ws/open", transform_raw_data=_raw, on_message=_open)
Handler("/ws/echo", transform_raw_data=_raw, on_message=lambda conn, data: conn.send(data))

def _state(conn, data):
    # Where the slow connections are: the test's event for "the server took all it will".
    slow = [o for o in gc.get_objects() if type(o) is Session and "/slow" in o.conn.path]
    conn.send(json.dumps([[s._worker is not None, s._reading_paused, len(s._inbox)]
                          for s in slow]))

Handler("/ws/state", transform_raw_data=_raw, on_message=_state)
"""


class Proc:
    """A server process as `RssSampler` samples it: RSS from /proc/PID/status."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for {self.pid}")


class Raw:
    """A raw client: frames written as given (pre-compressed ones too), frames read back and
    inflated when the server compressed them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.inflate = zlib.decompressobj(-15)

    @classmethod
    async def open(cls, port: int, path: str, extra: str = "") -> tuple[Raw, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(upgrade_head(path, extra=extra))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer), head

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def message(self) -> bytes:
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n >= 126:
            n = int.from_bytes(await self.reader.readexactly(2 if n == 126 else 8), "big")
        payload = await self.reader.readexactly(n)
        assert b0 & 0x80, "a fragmented reply"
        if b0 & 0x40:
            payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
        return payload

    async def ask(self, data: bytes) -> bytes:
        await self.send(frame(BINARY, data))
        return await self.message()

    def close(self) -> None:
        self.writer.transport.abort()


def number(i: int, text: bool) -> bytes:
    """The first 8 bytes of message `i`, which the handler sends back."""
    return f"{i:08d}".encode() if text else i.to_bytes(8, "big")


def numbered(i: int, text: bool) -> bytes:
    return number(i, text) + (b"x" if text else b"\0") * (MiB - 8)


def deflated(data: bytes) -> bytes:
    """A permessage-deflate payload of `data` (the sync flush's trailer removed)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


async def slow_state(port: int, prefix: str) -> list[list[Any]]:
    probe, _ = await Raw.open(port, f"{prefix}/ws/state")
    try:
        return json.loads(await probe.ask(b"?"))  # type: ignore[no-any-return]
    finally:
        probe.close()


async def until(port: int, prefix: str, done: Any) -> None:
    """Until the slow connection's state satisfies `done` (re-asked: the test's deadline
    bounds the whole wait)."""
    while True:
        state = await slow_state(port, prefix)
        if len(state) == 1 and done(*state[0]):
            return


async def flood(port: int, prefix: str, pid: int, *, kind: str, count: int) -> int:
    """`count` messages of 1 MiB (as inflated; `kind` binary, text or deflated) to a handler
    waiting on a gate; returns the server's peak RSS growth. Checks every message comes back
    in order once the gate opens, and that another client is served while the flood waits."""
    path, extra = f"{prefix}/ws/slow", ""
    compressed, text = kind == "deflated", kind == "text"
    if compressed:
        path, extra = f"{prefix}/ws/slowz", "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    opcode = TEXT if text else BINARY
    frames = [
        frame(opcode, deflated(numbered(i, text)), rsv=4)
        if compressed
        else frame(opcode, numbered(i, text))
        for i in range(count)
    ]
    server = Proc(pid)
    base = server.rss()
    with RssSampler(server) as rss:  # duck-typed: any object with rss()
        got = await asyncio.wait_for(steps(port, prefix, frames, path, extra), 90)
    assert got == [number(i, text) for i in range(count)]  # nothing lost, in order
    return rss.peak - base


async def steps(port: int, prefix: str, frames: list[bytes], path: str, extra: str) -> list[bytes]:
    """The flood, the bystander, the gate opened: the replies to the flood, as they came."""
    ws, head = await Raw.open(port, path, extra)
    assert bool(extra) == (b"permessage-deflate" in head), head
    await ws.send(frames[0])  # the handler takes it and waits
    await until(port, prefix, lambda busy, paused, queued: busy)
    # The rest in one write: the server's reads are as large as it takes them.
    sender = asyncio.create_task(ws.send(b"".join(frames[1:])))
    count = len(frames)
    await until(port, prefix, lambda busy, paused, queued: paused or queued == count - 1)
    echo, _ = await Raw.open(port, f"{prefix}/ws/echo")
    assert await echo.ask(b"still served") == b"still served"
    echo.close()
    opener, _ = await Raw.open(port, f"{prefix}/ws/open")
    assert await opener.ask(b"go") == b"open"
    opener.close()
    got = [await ws.message() for _ in range(count)]
    await sender
    ws.close()
    return got


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[SidecarProcess]:
    yield from serving(tmp_path, HANDLERS)


@pytest.mark.parametrize(("kind", "count"), [("binary", 64), ("text", 64), ("deflated", 200)])
async def test_large_messages_to_a_slow_handler_are_bounded_in_bytes_and_all_delivered(
    sidecar: SidecarProcess, kind: str, count: int
) -> None:
    # 64 MiB plain, or 200 MiB inflated from about 200 KiB of compressed frames: the server
    # holding them all (under the 1,024-message count) would be over the bound.
    grew = await flood(sidecar.port, "/api", sidecar.proc.pid, kind=kind, count=count)
    assert grew < PROMISED + MARGIN, f"{grew / MiB:.0f} MiB"
    assert sidecar.alive


async def test_under_uvicorn_the_asgi_path_is_bounded_in_bytes_too(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "ws/slow.py": HANDLERS,
            "app.py": 'from wsside import ASGIApp\n\napp = ASGIApp("ws")\n',
        },
    )
    srv = Server(tmp_path, "uvicorn", "--ws-max-queue", str(UVICORN_QUEUE))
    try:
        grew = await flood(srv.port, "", srv.proc.pid, kind="binary", count=64)
        # uvicorn's own queue (its messages, read ahead of ASGIApp) comes on top.
        assert grew < PROMISED + UVICORN_QUEUE * MiB + MARGIN, f"{grew / MiB:.0f} MiB"
    finally:
        assert_stopped(srv)
