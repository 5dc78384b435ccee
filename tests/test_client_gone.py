"""A client that goes away while a handler awaits `conn.send()` for it (its replies queued,
unread): a reset ends the await quietly (no handler error, `on_error` not called) and a FIN
alone lets the connection go within the closing timeout; either way `on_close` runs once,
with 1006. Through each way a socket reaches wsside: `wsside serve` (aiohttp's server), the
shim's hand-over (wsside's transport) and a handed-over connection that moved to uvloop's
transport. What the sidecar saw comes back through its `/watch` endpoint; nothing sleeps."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.reliability.harness import SidecarProcess
from tests.reliability.rawws import BINARY, TEXT, FrameParser, frame, upgrade_head

from test_handoff import Shim, needs_uvloop
from wsside._io.transport import MOVE_AFTER_READS
from wsside._runtime.close_handshake import CLOSE_TIMEOUT

WAIT = 10.0
MARGIN = 3.0  # past CLOSE_TIMEOUT, for a loaded machine
CHUNK = 256 * 1024  # one reply at a time, well below the inbox's marks: reading never pauses

APP = """
from wsside import Handler
from wsside._runtime import events

watchers = set()

def tell(*item):
    for conn in tuple(watchers):
        conn.send(list(item))

def reported(event):  # what the sidecar reports (its log, Vite's terminal), at its source
    if "error" in str(event.get("type")) or event.get("level") in ("warning", "error"):
        tell("reported", event.get("type"), event.get("message"))

events.subscribe(reported)

watch = Handler("/watch", on_message=lambda conn, data: conn.send(["echo", data]))

@watch.on_connect
def joined(conn, request):
    watchers.add(conn)
    conn.send(["ready"])

async def back(conn, data):
    sent = conn.send(data)
    if isinstance(data, str):
        return
    io = conn._link._io  # white-box: whether the await below waits for the socket to drain
    tell("sending", io.paused, type(io.transport).__module__.split(".")[0])
    try:
        await sent
    except BaseException as exc:
        tell("raised", repr(exc))
        raise
    tell("returned")

def gone(conn, code, reason, by_client):
    tell("on_close", code, by_client)

Handler("/echo", on_message=back, on_close=gone)
Handler("/guarded", on_message=back, on_close=gone,
        on_error=lambda conn, exc: tell("on_error", repr(exc)))
"""


class Client:
    """A raw WebSocket client on a blocking socket; every read has a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = FrameParser()
        self.frames: list[tuple[int, bytes]] = []
        head = b""
        sock.settimeout(WAIT)
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            assert chunk, f"closed before the 101: {head!r}"
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.frames.extend(self.parser.feed(rest))

    def next(self, deadline: float) -> tuple[int, bytes]:
        while not self.frames:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise AssertionError("nothing came before the deadline") from None
            assert chunk, "the connection ended"
            self.frames.extend(self.parser.feed(chunk))
        return self.frames.pop(0)

    def told(self, deadline: float) -> list[Any]:
        opcode, payload = self.next(deadline)
        assert opcode == TEXT, (opcode, payload[:80])
        item: list[Any] = json.loads(payload)
        return item

    def send(self, opcode: int, payload: bytes) -> None:
        self.sock.sendall(frame(opcode, payload))


class Route:
    """How clients reach the sidecar: `open(path)` is a connected client past its 101."""

    def __init__(self, name: str, folder: Path) -> None:
        (folder / "app.py").write_text(APP)
        self.name = name
        self.serve: SidecarProcess | None = None
        self.shim: Shim | None = None
        if name == "serve":
            self.serve = SidecarProcess(folder)
        else:
            self.shim = Shim(folder, "uvloop" if name == "moved" else "asyncio")
            self.shim.read_until("type", "ready")
        self.sockets: list[socket.socket] = []

    def open(self, path: str) -> Client:
        if self.shim is not None:
            return Client(self.shim.hand_over(path))
        assert self.serve is not None
        sock = socket.create_connection(("127.0.0.1", self.serve.port), WAIT)
        self.sockets.append(sock)
        sock.sendall(upgrade_head(path))
        return Client(sock)

    def stop(self) -> None:
        for sock in self.sockets:
            sock.close()
        if self.serve is not None:
            self.serve.stop()
        if self.shim is not None:
            self.shim.stop()


@pytest.fixture(params=["serve", "handover", pytest.param("moved", marks=needs_uvloop)])
def route(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Route]:
    running = Route(request.param, tmp_path)
    yield running
    running.stop()


def stuck(route: Route, path: str) -> tuple[Client, Client]:
    """A watcher, and a client of `path` that reads nothing more while its handler awaits
    `conn.send()` of a reply the socket has no room for."""
    watcher = route.open("/api/watch")
    deadline = time.monotonic() + WAIT
    assert watcher.told(deadline) == ["ready"]
    client = route.open(path)
    if route.name == "moved":  # one read per message: the connection moves after enough
        for n in range(2 * MOVE_AFTER_READS):
            client.send(TEXT, f"m{n}".encode())
            assert client.next(deadline) == (TEXT, f"m{n}".encode())
    for _ in range(256):  # the kernel's buffers fill first, a few MiB on loopback
        client.send(BINARY, bytes(CHUNK))
        _, paused, transport = watcher.told(time.monotonic() + WAIT)
        if route.name == "moved":
            assert transport == "uvloop"
        if paused:
            return watcher, client  # the handler now waits in `await conn.send()`
        assert watcher.told(time.monotonic() + WAIT) == ["returned"]
    raise AssertionError("the socket never filled")


def after(watcher: Client, deadline: float) -> list[list[Any]]:
    """What the watcher is told until `on_close`, then until a round trip proves that nothing
    else was on its way."""
    seen = [watcher.told(deadline)]
    while seen[-1][0] != "on_close":
        seen.append(watcher.told(deadline))
    watcher.send(TEXT, b"sync")
    while seen[-1] != ["echo", "sync"]:
        seen.append(watcher.told(time.monotonic() + WAIT))
    return seen[:-1]


@pytest.mark.parametrize("path", ["/api/echo", "/api/guarded"])
def test_a_client_reset_ends_a_waiting_send_quietly_and_on_close_runs_once(
    route: Route, path: str
) -> None:
    watcher, client = stuck(route, path)
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sock.close()  # a reset, with the replies unread
    seen = after(watcher, time.monotonic() + WAIT)
    assert seen == [["returned"], ["on_close", 1006, True]], seen
    if route.serve is not None:
        assert not [ln for ln in route.serve.output if "Traceback" in ln or "error" in ln]


def test_a_client_that_half_closes_without_reading_is_let_go_in_time(route: Route) -> None:
    watcher, client = stuck(route, "/api/echo")
    started = time.monotonic()
    client.sock.shutdown(socket.SHUT_WR)  # a FIN; the replies stay unread
    seen = after(watcher, started + CLOSE_TIMEOUT + MARGIN)
    assert seen == [["returned"], ["on_close", 1006, True]], seen
    client.sock.close()
