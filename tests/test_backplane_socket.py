"""The backplane on a Unix socket, `unix:///path/redis.sock?db=2`, in every place that reads
the URL: `wsside serve` (and its workers), `ASGIApp(backplane=...)` under uvicorn,
`Publisher` and `wsside doctor --serve`. A real `redis-server` listening on a socket in the
test's folder (and on a loopback port, whose line `RedisServer` waits for: the URLs name only
the socket)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, write_files
from cluster import ROOMS_HANDLER, RedisServer, connect, start_serve, write_handlers
from doctor_projects import one, run_doctor
from wsside import Publisher

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def socket_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a redis-server on a socket (database 2: the `?db=` option is read)."""
    socket = tmp_path / "redis.sock"  # short: a socket's path has a limit of about 100 bytes
    server = RedisServer(
        tmp_path / "redis",
        args=("--unixsocket", str(socket), "--unixsocketperm", "700"),
    )
    server.start()
    try:
        yield f"unix://{socket}?db=2"
    finally:
        server.stop()


async def test_serve_asgi_publisher_and_doctor_share_a_socket(
    tmp_path: Path, socket_url: str
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    _, report = run_doctor(tmp_path, "--serve", "--", "--backplane", socket_url)
    assert one(report, "backplane")["message"] == (
        f"{socket_url}: Redis answers, and lets wsside publish and subscribe"
    )
    write_files(
        tmp_path,
        {"app.py": f"from wsside import ASGIApp\napp = ASGIApp('ws', backplane={socket_url!r})\n"},
    )
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2", "--backplane", socket_url)
    try:
        asgi = Server(tmp_path, "uvicorn")  # ready once its lifespan startup subscribed
        try:
            async with aiohttp.ClientSession() as session:
                first, second = await connect(session, port, a), await connect(session, port, b)
                on_asgi = await connect(session, asgi.port, path="/ws/rooms")
                everyone = (first, second, on_asgi)
                for client in everyone:
                    await client.join("red")
                await first.send({"room": "red", "data": {"n": 1}})
                assert await second.receive() == {"n": 1}
                assert await on_asgi.receive() == {"n": 1}
                await on_asgi.send({"room": "red", "data": {"n": 2}})
                assert await first.receive() == {"n": 2}
                assert await second.receive() == {"n": 2}
                with Publisher(socket_url) as news:
                    fence = {"fence": time.monotonic()}
                    assert news.broadcast("/ws/rooms", fence, room="red") == 3  # 2 workers, uvicorn
                for client in everyone:
                    assert await client.receive() == fence
            for lines in (serve.lines, asgi.lines):
                assert not [line for line in lines if "is unavailable" in line], lines
        finally:
            asgi.stop()
    finally:
        await serve.stop()
