"""SIGTERM to a real uvicorn serving `ASGIApp` mounted in a Starlette app that has a lifespan
of its own: what clients get, which `on_close` runs, and in which order the lifespans end.

What the handlers saw is printed to the server's stderr, which the tests read (no sleeps)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, write_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

APP = """
    import contextlib
    import os

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    from wsside import ASGIApp

    ws = ASGIApp("ws")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        os.write(2, f"EVENT {os.getpid()} app-started\\n".encode())
        async with ws.lifespan(app):
            yield
        os.write(2, f"EVENT {os.getpid()} app-stopped\\n".encode())

    async def health(request):
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/health", health), Mount("/api", ws)], lifespan=lifespan)
"""

HANDLER = """
    import asyncio
    import os

    from wsside import Handler

    def say(event):  # one write: the workers share the server's stderr
        os.write(2, f"EVENT {os.getpid()} {event}\\n".encode())

    chat = Handler("/ws/chat")

    @chat.on_connect
    def hello(conn, request):
        conn.send({"pid": os.getpid()})

    @chat.on_close
    async def bye(conn, code, reason, by_client):
        say(f"on_close-{code}")
        if conn.query.get("slow"):
            try:
                await asyncio.sleep(60)  # a cleanup that outlives every timeout
            finally:
                say("slow-on_close-ended")

    @chat.background
    async def task(handler):
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.1)  # a cleanup that awaits, e.g. a last write
            say("task-ended")
"""


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def _events(server: Server, pid: int) -> list[str]:
    """What the app and the handlers of worker `pid` said, in order."""
    return [
        words[2]
        for words in (line.split() for line in server.lines)
        if words[:2] == ["EVENT", str(pid)]
    ]


def _pids(server: Server, workers: int) -> set[int]:
    lines = server.wait_for_all("Started server process", workers)
    server.wait_for_all("Application startup complete", workers)
    server.wait_listening()
    return {int(re.findall(r"\d+", line)[-1]) for line in lines}


async def _connect_to_each(
    client: aiohttp.ClientSession, server: Server, pids: set[int], query: str = ""
) -> list[aiohttp.ClientWebSocketResponse]:
    """One connection per worker (connecting again until each has one)."""
    found: dict[int, aiohttp.ClientWebSocketResponse] = {}
    for _ in range(200):
        ws = await client.ws_connect(server.url(f"/api/ws/chat{query}"))
        pid = (await ws.receive_json(timeout=5))["pid"]
        if pid in found:
            await ws.close()
            continue
        found[pid] = ws
        if set(found) == pids:
            return list(found.values())
    raise AssertionError(f"connections reached only workers {sorted(found)} of {sorted(pids)}")


async def test_sigterm_closes_every_worker_s_clients_and_runs_on_close_then_the_lifespans(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    write_files(tmp_path, {"app.py": APP, "ws/chat.py": HANDLER})
    server = Server(tmp_path, "uvicorn", "--workers", "2")
    try:
        pids = _pids(server, 2)
        assert len(pids) == 2
        async with client.get(server.url("/health")) as response:
            assert await response.text() == "ok"
        sockets = await _connect_to_each(client, server, pids)
    finally:
        code = server.stop()
    assert code in (0, -15), server.log
    for ws in sockets:  # uvicorn closes them itself, before the lifespan shutdown
        msg = await ws.receive(timeout=5)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1012)
    for pid in pids:
        # on_close ran; ws.lifespan's end cancelled the task and waited for its `finally`;
        # then the app's own lifespan ended. (1000: the second connections to one worker.)
        events = [e for e in _events(server, pid) if e != "on_close-1000"]
        assert events == [
            "app-started",
            "on_close-1012",
            "task-ended",
            "app-stopped",
        ], server.log


@pytest.mark.slow
async def test_on_close_is_not_cut_off_when_uvicorn_gives_up_waiting(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    """`--timeout-graceful-shutdown 1` cancels the application's call for a connection whose
    `on_close` still runs; the lifespan shutdown still waits for that `on_close`, and cancels
    it at the end of its budget (an `on_close` is not cancelled otherwise), so that its
    `finally` runs before the process ends."""
    write_files(tmp_path, {"app.py": APP, "ws/chat.py": HANDLER})
    server = Server(tmp_path, "uvicorn", "--timeout-graceful-shutdown", "1")
    try:
        (pid,) = _pids(server, 1)
        ws = await client.ws_connect(server.url("/api/ws/chat?slow=1"))
        assert await ws.receive_json(timeout=5) == {"pid": pid}
    finally:
        code = server.stop()
    assert code in (0, -15), server.log
    assert "timeout graceful shutdown exceeded" in server.log
    assert _events(server, pid) == [
        "app-started",
        "on_close-1012",
        "slow-on_close-ended",
        "task-ended",
        "app-stopped",
    ], server.log
