"""The plain-text answers `wsside serve` writes itself (404 for a path no endpoint serves, 405,
426, 403, the health path's 405) say `X-Content-Type-Options: nosniff`: a browser shows a 404
that names the path it was asked for as text, never as a page. Raw requests over a real
socket to a real `wsside serve`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from serve_process import ServeProcess, free_port

ECHO = "from wsside import Handler\n\necho = Handler('/echo')\n"


async def _ask(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """The status line, the headers (names lower-cased) and the body of the answer to
    `request`, read to the end of the connection (wsside closes it after a refusal)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


UPGRADE = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


@pytest.mark.parametrize(
    ("request_", "status", "body"),
    [
        (
            b"GET /api/nope%3Cb%3E HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/1.1 404 Not Found",
            b"No WebSocket handler for /api/nope%3Cb%3E\n",
        ),
        (
            b"GET /<b>hi</b> HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"\r\n",
            "HTTP/1.1 404 Not Found",
            b"No WebSocket handler for /<b>hi</b>\n",
        ),
        (
            b"GET /api/echo HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/1.1 426 Upgrade Required",
            b"This endpoint only speaks WebSocket\n",
        ),
        (
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
            b"Method Not Allowed\n",
        ),
        (
            b"GET /api/echo HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
            + UPGRADE
            + b"\r\n",
            "HTTP/1.1 403 Forbidden",
            b"Forbidden\n",
        ),
        (
            b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
            b"Method Not Allowed\n",
        ),
    ],
    ids=["404", "404-upgrade", "426", "405", "403", "health-405"],
)
async def test_wsside_plain_answers_say_nosniff(
    tmp_path: Path, request_: bytes, status: str, body: bytes
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    port = free_port()
    server = await ServeProcess.start(
        "--port", str(port), "--no-reload", "--health", "/healthz", cwd=tmp_path
    )
    try:
        await server.expect("serving on")
        got_status, headers, got_body = await _ask(port, request_)
    finally:
        assert await server.stop() == 0
    assert got_status == status, (got_status, got_body)
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff", headers
    assert headers["connection"].endswith("close"), headers
    assert got_body == body
