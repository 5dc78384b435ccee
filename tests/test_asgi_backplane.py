"""`ASGIApp(backplane=...)` under a real uvicorn and a `wsside serve` process share rooms
through a real `redis-server` (all three on free loopback ports, stopped by pid).

Exactly-once checks use a fence, as in test_backplane.py: once a broadcast has reached
everyone it should, a marker is broadcast to everyone; Redis keeps order, so a duplicate or a
stray delivery would arrive before the marker.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from cluster import ROOMS_HANDLER, Client, RedisServer, connect, start_serve, write_handlers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def _until_fence(client: Client, fence: Any) -> list[Any]:
    seen = []
    while (msg := await client.receive()) != fence:
        seen.append(msg)
    return seen


@pytest.mark.slow
async def test_asgi_and_serve_processes_share_rooms_through_redis(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
        write_files(
            tmp_path,
            {
                "app.py": f"""
            from wsside import ASGIApp

            app = ASGIApp("ws", backplane={redis.url!r})
        """
            },
        )
        serve, port, _ = await start_serve(tmp_path, "--backplane", redis.url)
        try:
            asgi = Server(tmp_path, "uvicorn")  # ready once its lifespan startup subscribed
            try:
                async with aiohttp.ClientSession() as session:
                    on_serve = await connect(session, port)
                    on_asgi = await connect(session, asgi.port, path="/ws/rooms")
                    outsider = await connect(session, asgi.port, path="/ws/rooms")  # in no red room
                    for client in (on_serve, on_asgi):
                        await client.join("red")
                    everyone = (on_serve, on_asgi, outsider)

                    async def fenced(expected: dict[Client, list[Any]]) -> None:
                        for client, messages in expected.items():
                            for message in messages:
                                assert await client.receive() == message
                        fence = {"fence": time.monotonic()}
                        await on_serve.send({"everyone": fence})
                        for client in everyone:
                            assert await _until_fence(client, fence) == []

                    # conn.broadcast to a room, each way
                    await on_serve.send({"room": "red", "data": {"n": 1}})
                    await fenced({on_asgi: [{"n": 1}]})
                    await on_asgi.send({"room": "red", "data": {"n": 2}, "self": True})
                    await fenced({on_asgi: [{"n": 2}], on_serve: [{"n": 2}]})
                    # broadcast_all_rooms from the ASGI process
                    await on_asgi.send({"all_rooms": {"n": 3}})
                    await fenced({on_serve: [{"n": 3}]})
                    # handler.broadcast from the ASGI process reaches the serve process too
                    await outsider.send({"everyone": {"n": 4}})
                    await fenced({c: [{"n": 4}] for c in everyone})
                    # a declarative Broadcast response (room "lobby", sender included)
                    for client in (on_serve, outsider):
                        await client.join("lobby")
                    await on_serve.send({"type": "shout", "text": "hi"})
                    await fenced({on_serve: [{"shouted": "hi"}], outsider: [{"shouted": "hi"}]})
            finally:
                assert_stopped(asgi)
        finally:
            code = await serve.stop()
            assert code == 0
    finally:
        redis.stop()
