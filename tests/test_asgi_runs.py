"""One `ASGIApp` served by one real uvicorn after another in the same process, each on an
event loop of its own, as a test suite does that starts a server per test (FastAPI's
TestClient does the same per request when not used as a context manager). Each run must get
the handlers' background tasks and a backplane of its own loop, whether it has a lifespan or
not. Servers listen on free loopback ports; clients are real WebSockets; no sleeps."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
import uvicorn

from wsside import ASGIApp, Handler

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The longest a run waits for what it expects (a failure, not a synchronisation).
WAIT = 10.0

tick = Handler("/ws/tick")


@tick.background
async def beat() -> None:
    while True:
        tick.broadcast("tick")
        await asyncio.sleep(0.05)  # pacing: a tick for whoever connects meanwhile


room = Handler("/ws/room")


@room.on_message
def relay(conn: object, data: object) -> None:
    room.broadcast(data)


async def _serve_once(
    app: ASGIApp, lifespan: str, check: Callable[[aiohttp.ClientSession, str], Awaitable[None]]
) -> None:
    """Serve `app` with a real uvicorn on a free port in the running loop, run `check`
    against it, stop the server. The socket listens before `serve` starts: no wait."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, lifespan=lifespan, log_level="warning"))
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        async with aiohttp.ClientSession() as session:
            await check(session, base)
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def _a_tick(session: aiohttp.ClientSession, base: str) -> None:
    async with session.ws_connect(base + "/ws/tick") as ws:
        message = await ws.receive(WAIT)
        assert message.data == "tick", message


@pytest.mark.parametrize("lifespan", ["off", "on"])
def test_background_tasks_run_on_each_run_s_loop(lifespan: str) -> None:
    app = ASGIApp([tick])
    for _ in range(3):
        asyncio.run(_serve_once(app, lifespan, _a_tick))
