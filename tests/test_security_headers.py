"""What `wsside serve`'s HTTP answers say about the software behind them: a real process on
127.0.0.1, raw requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.serve_process import ServeProcess, free_port

HANDLER = 'from wsside import Handler\n\necho = Handler("/ws/echo")\n'
KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"


def upgrade(extra: str = "") -> bytes:
    return (
        "GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\n{KEY}{extra}\r\n"
    ).encode()


REQUESTS = {
    "101": upgrade(),
    "403 (another origin)": upgrade("Origin: http://evil.example\r\n"),
    "404": upgrade().replace(b"/ws/echo", b"/ws/none"),
    "426 (plain GET)": b"GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "400 (aiohttp's parser)": b"\x00\x01 junk\r\n\r\n",
}


async def head_of(port: int, request: bytes) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode("latin-1")
    finally:
        writer.close()


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[int]:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(HANDLER)
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await serve.expect("serving on")
        yield port
    finally:
        await serve.stop()


async def test_no_answer_names_python_s_or_aiohttp_s_version(port: int) -> None:
    for what, request in REQUESTS.items():
        head = await head_of(port, request)
        status = head.split(" ", 2)[1]
        assert status == what[:3], (what, head)
        assert "\r\nServer: wsside\r\n" in head, (what, head)
        assert "aiohttp" not in head.lower() and "python" not in head.lower(), (what, head)
