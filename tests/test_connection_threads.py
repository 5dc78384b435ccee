"""A Connection's methods that write to the socket, called on another thread than the event
loop's (a `threading.Thread` a handler starts, a thread running an event loop of its own),
and `Handler.broadcast` likewise:
one clear RuntimeError with the same words under `wsside serve` and under uvicorn serving
`ASGIApp`, and the connection goes on. Without the check `wsside serve` wrote to the
transport from the wrong thread (asyncio transports are not thread-safe) and `ASGIApp` failed
with "no running event loop". Real servers as subprocesses on free loopback ports; the thread
reports what it got through `loop.call_soon_threadsafe(conn.send, ...)`, as the error says."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from serve_process import ServeProcess, free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HANDLER = """
    import asyncio
    import threading

    from wsside import Handler

    h = Handler("/ws/threads")

    CALLS = {
        "send": lambda conn: conn.send("from a thread"),
        "broadcast": lambda conn: conn.broadcast("from a thread"),
        "broadcast_all_rooms": lambda conn: conn.broadcast_all_rooms("from a thread"),
        "ping": lambda conn: conn.ping(),
        "pong": lambda conn: conn.pong(),
        "close": lambda conn: conn.close(),
        "handler.broadcast": lambda conn: h.broadcast("from a thread"),
    }


    @h.on_connect
    def joined(conn, request):
        conn.join_room("r")


    @h.on_message
    def go(conn, data):
        loop = asyncio.get_running_loop()
        method, how = data.split()

        def attempt():
            try:
                CALLS[method](conn)
            except Exception as exc:
                said = f"{type(exc).__name__}: {exc}"
            else:
                said = "no error"
            loop.call_soon_threadsafe(conn.send, said)

        async def on_its_own_loop():
            attempt()

        if how == "thread":
            threading.Thread(target=attempt).start()
        else:
            threading.Thread(target=asyncio.run, args=(on_its_own_loop(),)).start()
"""

ARGS = {
    "send": ", data",
    "broadcast": ", data",
    "broadcast_all_rooms": ", data",
    "ping": "",
    "pong": "",
    "close": "",
    "handler.broadcast": "",
}


def expected(method: str, path: str) -> str:
    if method == "handler.broadcast":
        call = "handler.broadcast, data"
        subject = "Handler('/ws/threads').broadcast()"
    else:
        call = f"conn.{method}{ARGS[method]}"
        subject = f"<Connection ID {path} open>.{method}()"
    return (
        f"RuntimeError: {subject} outside the event loop's thread: "
        "call it from async code, or hand it over: from a thread of your own, "
        f"loop.call_soon_threadsafe({call}) (loop = asyncio.get_running_loop(), kept from async "
        "code such as the callback that starts the thread; keyword arguments through "
        "functools.partial); from a worker thread of anyio (a FastAPI `def` route), "
        f"anyio.from_thread.run_sync({call}); from Django's (a sync view), make the view "
        "`async def`, or asgiref's async_to_sync of an async function that calls it"
    )


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def check_every_method(client: aiohttp.ClientSession, url: str, path: str) -> None:
    ws = await client.ws_connect(url)
    for method in ARGS:
        for how in ("thread", "loop"):
            await ws.send_str(f"{method} {how}")
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.TEXT, (method, how, msg)
            said = re.sub(r"Connection [0-9a-f-]{36} ", "Connection ID ", msg.data)
            assert said == expected(method, path), (method, how)
    await ws.send_str("send thread")  # still open and served
    assert "outside the event loop's thread" in await ws.receive_str(timeout=5)
    await ws.close()


async def test_off_thread_calls_fail_clearly_under_wsside_serve(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    write_files(tmp_path, {"ws/threads.py": HANDLER})
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await server.expect("serving on")
        url = f"http://127.0.0.1:{port}/api/ws/threads"
        await check_every_method(client, url, "/api/ws/threads")
    finally:
        assert await server.stop() == 0, "".join(server.lines)


async def test_off_thread_calls_fail_clearly_under_uvicorn(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    app = "from wsside import ASGIApp\n\napp = ASGIApp('ws')\n"
    write_files(tmp_path, {"ws/threads.py": HANDLER, "app.py": app})
    server = Server(tmp_path, "uvicorn")
    try:
        await check_every_method(client, server.url("/ws/threads"), "/ws/threads")
    finally:
        assert_stopped(server)
