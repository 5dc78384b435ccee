"""One `ASGIApp` served by one real uvicorn after another in the same process, each on an
event loop of its own, as a test suite does that starts a server per test (FastAPI's
TestClient does the same per request when not used as a context manager). Each run must get
the handlers' background tasks and a backplane of its own loop, whether it has a lifespan or
not. Servers listen on free loopback ports; clients are real WebSockets; no sleeps."""

from __future__ import annotations

import asyncio
import functools
import gc
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import uvicorn

from asgi_server import Server, assert_stopped, write_files
from cluster import RedisServer
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


def test_a_run_without_lifespan_after_one_with_it_is_no_second_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # `with TestClient(app)` in one test, `TestClient(app)` in the next: one app, whose own
    # earlier lifespan is not "another ASGIApp of the same folder".
    from wsside._edge import asgi_setup

    monkeypatch.setattr(asgi_setup, "_warned_no_lifespan", False)  # once per process
    write_files(
        tmp_path,
        {
            "ws/tick.py": """
                import asyncio

                from wsside import Handler

                tick = Handler("/ws/tick")

                @tick.background
                async def beat():
                    while True:
                        tick.broadcast("tick")
                        await asyncio.sleep(0.05)
            """
        },
    )
    app = ASGIApp(tmp_path / "ws")
    with caplog.at_level("WARNING", logger="wsside"):
        asyncio.run(_serve_once(app, "on", _a_tick))
        asyncio.run(_serve_once(app, "off", _a_tick))
    said = [r.getMessage() for r in caplog.records if "no lifespan event" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("wsside: no lifespan event reached ASGIApp,"), said


async def _relayed(other: str, text: str, session: aiohttp.ClientSession, base: str) -> None:
    """`text` sent to this run's `/ws/room` reaches a client of the same pattern on `other`,
    another process on the same Redis."""
    async with session.ws_connect(other) as listener, session.ws_connect(base + "/ws/room") as ws:
        await ws.send_str(text)
        assert (await ws.receive(WAIT)).data == text  # delivered here
        assert (await listener.receive(WAIT)).data == text  # and through Redis


@pytest.mark.slow
@pytest.mark.parametrize("lifespan", ["on", "off"])
def test_each_run_publishes_through_a_backplane_of_its_own_loop(
    lifespan: str, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        write_files(
            tmp_path,
            {
                "app.py": f"""
                    from wsside import ASGIApp
                    app = ASGIApp("ws", backplane={redis.url!r})
                """,
                "ws/room.py": """
                    from wsside import Handler
                    room = Handler("/ws/room")
                """,
            },
        )
        other = Server(tmp_path, "uvicorn")  # ready once subscribed
        try:
            app = ASGIApp([room], backplane=redis.url)
            for run in range(3):
                check = functools.partial(_relayed, other.url("/ws/room"), f"run {run}")
                asyncio.run(_serve_once(app, lifespan, check))
            del app
            # Each run closed its Redis connections, with or without a lifespan (then when its
            # loop ended): one left open would warn when collected, an error under pytest.
            gc.collect()
        finally:
            assert_stopped(other)
    finally:
        redis.stop()
