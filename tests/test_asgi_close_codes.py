"""The close code `on_close` gets under a real uvicorn when a send races the client's close:
uvicorn refuses a send once the client's close frame came, before the application has read
the disconnect event that carries its code; that code, not 1006, is what `on_close` hears.

Real uvicorn processes on free loopback ports in the test's folder, stopped by pid; the
handler writes what its `on_close` got to the server's stderr."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

APP = """
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from wsside import ASGIApp

    ws = ASGIApp("ws")
    app = Starlette(routes=[Mount("/api", app=ws)], lifespan=ws.lifespan)
"""

# docs/asgi.md's chat, with an `on_close` that tells the room, and a message that holds the
# event loop until the test says so (two FIFOs in the server's folder): the close frame the
# client sends meanwhile is read in the same turn of the loop as a broadcast to it is sent.
HANDLER = """
    import asyncio
    import os

    from wsside import Handler

    chat = Handler("/ws/chat", default_room="general")

    @chat.on_message
    def message(conn, data):
        if data == "hold":
            with open("held", "wb", buffering=0) as held:
                held.write(b"h")
            with open("go", "rb", buffering=0) as go:
                go.read(1)  # the event loop waits here: the client's close frame arrives
            asyncio.get_running_loop().call_soon(
                conn.broadcast, "to a closing peer", room="general", include_self=True
            )
            return
        conn.broadcast(data, room="general", include_self=True)

    @chat.on_close
    def bye(conn, code, reason):
        os.write(2, f"EVENT on_close {conn.query.get('t')} {code}\\n".encode())
        conn.broadcast({"left": code}, room="general")
"""


def _masked(opcode: int, payload: bytes) -> bytes:
    """One client frame (FIN set, zero mask: the payload goes as it is)."""
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + bytes(4) + payload


async def _raw_client(port: int, path: str) -> asyncio.StreamWriter:
    """A WebSocket opened by hand, so that its close frame is written and not waited on."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    return writer


def _on_close_codes(server: Server, count: int) -> dict[str, int]:
    lines = server.wait_for_all("EVENT on_close", count, timeout=10)
    return {words[2]: int(words[3]) for words in (line.split() for line in lines)}


async def test_a_send_that_meets_the_clients_close_frame_keeps_its_code(tmp_path: Path) -> None:
    """Deterministic: the server holds its event loop (the handler blocks on a FIFO) while
    the client sends its close frame (1000), then sends to that client in the same turn of the
    loop as uvicorn reads the frame. uvicorn refuses that send; `on_close` still gets 1000."""
    write_files(tmp_path, {"app.py": APP, "ws/chat.py": HANDLER})
    for name in ("held", "go"):
        os.mkfifo(tmp_path / name)
    # Opened read-write: neither end's open waits for the other.
    held = os.open(tmp_path / "held", os.O_RDWR)
    go = os.open(tmp_path / "go", os.O_RDWR)
    server = Server(tmp_path, "uvicorn")
    try:
        writer = await _raw_client(server.port, "/api/ws/chat?t=closing")
        writer.write(_masked(0x1, b"hold"))
        await writer.drain()
        await asyncio.wait_for(asyncio.to_thread(os.read, held, 1), 10)  # the loop is held
        writer.write(_masked(0x8, struct.pack("!H", 1000)))
        await writer.drain()
        os.write(go, b"g")
        assert _on_close_codes(server, 1) == {"closing": 1000}, server.log
        writer.close()
    finally:
        os.close(held)
        os.close(go)
        assert_stopped(server)


async def test_clients_closing_one_after_another_while_on_close_broadcasts(
    tmp_path: Path,
) -> None:
    """The audit's case: 12 clients in one room, each `await ws.close()` in turn, while the
    `on_close` of the one before broadcasts to those left (aiohttp's close returns on uvicorn's
    close reply, before that `on_close` ran); 5 rounds. Each `on_close` gets 1000."""
    write_files(tmp_path, {"app.py": APP, "ws/chat.py": HANDLER})
    server = Server(tmp_path, "uvicorn")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            for round_ in range(5):
                sockets = [
                    await client.ws_connect(server.url(f"/api/ws/chat?t={round_}-{i}"))
                    for i in range(12)
                ]
                for ws in sockets:
                    await ws.close()
        codes = _on_close_codes(server, 60)
    finally:
        assert_stopped(server)
    assert sorted(set(codes.values())) == [1000], sorted(codes.items())
