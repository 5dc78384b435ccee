"""A callback's error line names its connection as the access line does (`(127.0.0.1:43506 -
"WebSocket /api/ws/boom")`), under `wsside serve --workers 2` and under uvicorn: among many
connections, an operator finds the one that failed and its opening and closing lines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from cluster import start_serve, write_handlers

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BOOM = """
    from wsside import Handler

    boom = Handler("/ws/boom")

    @boom.on_message
    def fail(conn, data):
        raise ValueError("no such room")

    @boom.on_close
    def gone(conn, code, reason):
        raise LookupError("no session to end")
"""


async def _fail_once(port: int, path: str) -> str:
    """Open a connection to `path`, make its on_message raise, close it; its client address
    (`127.0.0.1:PORT`)."""
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://127.0.0.1:{port}{path}")
        host, client_port = ws.get_extra_info("sockname")[:2]
        await ws.send_json({"join": "x"})
        frame = await ws.receive_json(timeout=5)
        assert frame["type"] == "error", frame
        await ws.close()
    return f"{host}:{client_port}"


async def test_serve_s_error_line_names_the_connection_as_its_access_line(
    tmp_path: Path,
) -> None:
    """Before: `wsside[1]: error in on_message of ws/boom.py:8: ValueError: no such room`."""
    write_handlers(tmp_path / "ws", boom=BOOM)
    serve, port, _ = await start_serve(tmp_path, "--workers", "2")
    try:
        client = await _fail_once(port, "/api/ws/boom")
        connection = f'{client} - "WebSocket /api/ws/boom"'
        opened = await serve.expect(f"{connection} 101")
        error = await serve.expect("error in on_message of")
        # After the socket is closed too (its names gone with it), as its closing line says.
        closing = await serve.expect("error in on_close of")
    finally:
        assert await serve.stop() == 0
    worker = opened.split(": ", 1)[0].split()[-1]  # wsside[N]
    assert error.rstrip("\n").endswith(
        f"{worker}: error in on_message of ws/boom.py:8 ({connection}): ValueError: no such room"
    ), (opened, error)
    assert closing.rstrip("\n").endswith(
        f"{worker}: error in on_close of ws/boom.py:12 ({connection}): LookupError: no session "
        "to end"
    ), closing


async def test_an_asgi_error_line_names_the_connection_as_uvicorn_s_access_line(
    tmp_path: Path,
) -> None:
    write_handlers(tmp_path / "ws", boom=BOOM)
    write_files(tmp_path, {"app.py": 'from wsside import ASGIApp\napp = ASGIApp("ws")\n'})
    asgi = Server(tmp_path, "uvicorn")
    try:
        client = await _fail_once(asgi.port, "/ws/boom")
        connection = f'{client} - "WebSocket /ws/boom"'
        await asyncio.to_thread(asgi.wait_for, f"{connection} [accepted]")
        error = await asyncio.to_thread(asgi.wait_for, "error in on_message of")
    finally:
        assert_stopped(asgi)
    assert error == (
        f"wsside: error in on_message of ws/boom.py:8 ({connection}): ValueError: no such room\n"
    ), error
