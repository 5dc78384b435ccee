"""`ASGIApp` without a backplane under a server's several workers (`uvicorn --workers 2`,
`hypercorn --workers 2`): each worker's broadcasts stay in it, which nothing else would say.
Real servers on free loopback ports; the tests wait for the servers' own lines, no sleeps."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from cluster import RedisServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FILES = {
    "app.py": """
        import os
        from wsside import ASGIApp

        url = os.environ.get("REDIS_URL")
        app = ASGIApp("ws", backplane=url) if url else ASGIApp("ws")
    """,
    "ws/chat.py": """
        from wsside import Handler

        chat = Handler("/ws/chat")

        @chat.on_message
        def relay(conn, data):
            conn.broadcast(data)
    """,
}

WARNING = "that serve 127.0.0.1:{port} (the ASGI server's workers), and ASGIApp has no backplane"


# What each server logs once per worker when that worker has started.
STARTED = {"uvicorn": "Application startup complete", "hypercorn": "Running on"}


@pytest.mark.parametrize("kind", ["uvicorn", "hypercorn"])
async def test_workers_without_a_backplane_are_told_their_rooms_are_split(
    tmp_path: Path, kind: str
) -> None:
    write_files(tmp_path, FILES)
    server = Server(tmp_path, kind, "--workers", "2")
    try:
        server.wait_for_all(STARTED[kind], 2)
        server.wait_listening()
        # A worker that started before the other had its socket finds out at its first
        # connection (uvicorn's workers listen only once started).
        url = server.url("/ws/chat")
        async with aiohttp.ClientSession() as client, client.ws_connect(url, timeout=10):
            line = server.wait_for(WARNING.format(port=server.port))
    finally:
        assert_stopped(server)
    assert "is one of 2 that serve" in line, server.log
    assert 'pass ASGIApp(..., backplane="redis://HOST:6379/0") (docs/asgi.md)' in line


def test_one_worker_is_told_nothing(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    server = Server(tmp_path, "uvicorn")
    try:
        server.wait_for("Application startup complete")  # after the run's start
    finally:
        assert_stopped(server)
    assert "has no backplane" not in server.log, server.log


def test_workers_with_a_backplane_are_told_nothing(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        write_files(tmp_path, FILES)
        server = Server(tmp_path, "uvicorn", "--workers", "2", env={"REDIS_URL": redis.url})
        try:
            server.wait_for_all("Application startup complete", 2)
        finally:
            assert_stopped(server)
    finally:
        redis.stop()
    assert "has no backplane" not in server.log, server.log
