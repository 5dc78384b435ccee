"""`wsside.Publisher`: broadcasts from a process that is not a wsside one (a Celery task, a
cron job, a script) to the connections of `wsside serve` processes, through a real
`redis-server` and a real `wsside serve --workers 2 --backplane URL`.

"Not delivered" is checked with a fence: after the broadcast has reached the clients that
should get it, a broadcast to every connection follows from the same Publisher; Redis keeps
the order of one sender's messages, so a stray delivery would reach a client before the fence.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis as redis_py

import wsside
from cluster import ROOMS_HANDLER, Client, RedisServer, connect, start_serve, write_handlers
from serve_process import ServeProcess, free_port
from wsside import Publisher
from wsside._runtime.backplane_url import BackplaneError, RedisMissing, check_backplane

# A pattern with a variable: each connection joins the room of its id, then says its pid (as
# the rooms handler does, for `connect`).
BOARD_HANDLER = """
import os
from wsside import Handler

board = Handler("/ws/board/{id}")

@board.on_connect
async def hello(conn, request):
    conn.join_room(conn.params["id"])
    await conn.send({"pid": os.getpid()})
"""


async def raw(client: Client, timeout: float = 5.0) -> aiohttp.WSMessage:
    """The next message as it came: text or binary."""
    msg = await client.ws.receive(timeout)
    assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
    return msg


def fence_all(news: Publisher, pattern: str = "/ws/rooms") -> dict[str, Any]:
    """Broadcast a marker to every connection of `pattern` (room=None); the marker."""
    fence = {"fence": time.monotonic()}
    assert news.broadcast(pattern, fence) >= 1
    return fence


async def only_fence(clients: list[Client], fence: dict[str, Any]) -> None:
    """Each client's next message is `fence`: nothing else reached it before."""
    for client in clients:
        assert await client.receive() == fence


async def rest_of(serve: ServeProcess) -> list[str]:
    """Every line the stopped process wrote, those the test read and the rest."""
    assert serve.proc.stderr is not None
    return serve.lines + (await serve.proc.stderr.read()).decode().splitlines(keepends=True)


# ---- without a server --------------------------------------------------------------------


def test_an_unset_url_is_named_not_an_attribute_error() -> None:
    """`Publisher(settings.WSSIDE_BACKPLANE)` with the setting unset: one line that says so,
    not an AttributeError from inside the URL check."""
    with pytest.raises(wsside.BackplaneError) as refused:  # public, for the caller to catch
        Publisher(None)  # type: ignore[arg-type]  # what an unset setting gives, at run time
    assert str(refused.value) == (
        "backplane: expected a redis://, rediss:// or unix:// URL such as "
        "redis://localhost:6379/0 or unix:///run/redis/redis.sock?db=0, got None (a setting or "
        "environment variable that is not set?)"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:6379/0",
        "redis://localhost:port/0",
        "redis://localhost:6379/cache",
        "redis://localhost:6379/0?channel=my+shop",
        "redis://localhost:6379/0?decode_responses=1",
    ],
)
def test_a_bad_url_is_refused_in_the_words_of_wsside_serve(url: str, tmp_path: Path) -> None:
    with pytest.raises(BackplaneError) as refused:
        Publisher(url)
    with pytest.raises(BackplaneError) as checked:
        check_backplane(url)
    assert str(refused.value) == str(checked.value)
    (tmp_path / "ws").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--handlers", "ws", "--backplane", url],
        cwd=tmp_path,
        capture_output=True,
        timeout=15,
    )
    assert out.returncode == 2
    assert out.stderr.decode().strip().splitlines() == [f"wsside: {refused.value}"]


def test_without_redis_py_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(RedisMissing) as missing:
        Publisher("redis://localhost:6379/0")
    repo = Path(__file__).resolve().parent.parent  # the tests' wsside: installed editable
    assert str(missing.value) == (
        "backplane: a redis:// backplane needs redis-py: "
        f"{sys.executable} -m pip install -e '{repo}[redis]'"
    )


def test_importing_it_loads_no_redis() -> None:
    """`from wsside import Publisher` (and a bad URL refused) loads no redis: a handler file,
    or a process that only imports wsside, never pays for it."""
    code = (
        "import sys\n"
        "from wsside import Publisher\n"
        "try:\n    Publisher('http://x')\nexcept ValueError:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert out.stdout.decode().strip() == "[]"


def test_what_handler_broadcast_refuses_it_refuses() -> None:
    """Before anything is sent, with the codec's words (and the rooms' ones)."""
    news = Publisher(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: nothing is sent
    with pytest.raises(TypeError, match=r"^cannot send a set: send a list \(sorted\(\), or list"):
        news.broadcast("/ws/rooms", {1, 2})
    with pytest.raises(TypeError, match=r"cannot send nan as JSON"):
        news.broadcast("/ws/rooms", float("nan"))
    with pytest.raises(TypeError, match=r"^Publisher.broadcast\(\): a room is a str, its name"):
        news.broadcast("/ws/rooms", "hi", room=["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most 8 MiB per broadcast"):
        news.broadcast("/ws/rooms", bytes(8 * 1024 * 1024))
    news.close()
    with pytest.raises(RuntimeError, match=r"^Publisher\('redis://127.0.0.1:\d+/0'\) is closed"):
        news.broadcast("/ws/rooms", "hi")


def test_its_repr_and_its_errors_hide_the_password() -> None:
    with Publisher("redis://:s3cret@127.0.0.1:1/0?channel=shop") as news:
        assert repr(news) == "Publisher('redis://:***@127.0.0.1:1/0?channel=shop')"
    with Publisher("redis://127.0.0.1:1/0?password=s3cret") as news:
        assert repr(news) == "Publisher('redis://127.0.0.1:1/0?password=***')"
    with pytest.raises(BackplaneError, match=r"got 'http://:\*\*\*@x'$"):
        Publisher("http://:s3cret@x")


def test_redis_down_raises_connection_error_and_it_works_again_once_redis_is_back(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis")
    news = Publisher(server.url)
    try:
        with pytest.raises(redis_py.exceptions.ConnectionError):
            news.broadcast("/ws/rooms", "nobody listens")  # not started yet
        server.start()
        assert news.broadcast("/ws/rooms", "no subscriber") == 0
        server.stop()  # a pooled connection broken under it
        with pytest.raises(redis_py.exceptions.ConnectionError):
            news.broadcast("/ws/rooms", "stopped")
        server.start()
        assert news.broadcast("/ws/rooms", "back") == 0
    finally:
        news.close()
        server.stop()


def test_a_stuck_redis_raises_timeout_error_after_the_urls_socket_timeout(
    tmp_path: Path,
) -> None:
    """redis-py's options in the URL reach its client: `?socket_timeout=` replaces the 5 s."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    assert server.proc is not None
    try:
        with Publisher(f"{server.url}?socket_timeout=0.3&channel=shop") as news:
            assert news.broadcast("/ws/rooms", "before") == 0
            server.proc.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                with pytest.raises(redis_py.exceptions.TimeoutError):
                    news.broadcast("/ws/rooms", "stuck")
                assert time.monotonic() - started < 3
            finally:
                server.proc.send_signal(signal.SIGCONT)
    finally:
        server.stop()


def test_an_acl_user_needs_publish_and_its_channel_only(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        server.cli(
            "ACL", "SETUSER", "news", "on", ">pw", "resetchannels", "&wsside:0:shop", "+publish"
        )
        base = f"redis://news:pw@127.0.0.1:{server.port}/0"
        with Publisher(f"{base}?channel=shop") as news:
            assert news.broadcast("/ws/rooms", "allowed") == 0
        with Publisher(base) as news, pytest.raises(redis_py.exceptions.NoPermissionError):
            news.broadcast("/ws/rooms", "not its channel")
    finally:
        server.stop()


# ---- to `wsside serve --workers 2` -------------------------------------------------------


@pytest.fixture
async def cluster(tmp_path: Path, redis: RedisServer) -> AsyncIterator[tuple[int, int, int]]:
    """`wsside serve --workers 2 --backplane URL` of the rooms and board handlers: its port
    and its two workers' pids."""
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER, board=BOARD_HANDLER)
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2", "--backplane", redis.url)
    try:
        yield port, a, b
    finally:
        assert await serve.stop() == 0
    refused = [line for line in await rest_of(serve) if "no wsside process publishes" in line]
    assert not refused, refused


@dataclass
class Score:
    team: str
    points: int


@pytest.mark.slow
async def test_a_room_on_both_workers_and_no_one_else(
    cluster: tuple[int, int, int], redis: RedisServer
) -> None:
    port, a, b = cluster
    async with aiohttp.ClientSession() as session:
        in_a, in_b = await connect(session, port, a), await connect(session, port, b)
        other_a, other_b = await connect(session, port, a), await connect(session, port, b)
        await in_a.join("general")
        await in_b.join("general")
        await other_a.join("random")  # other_b is in no room
        everyone = [in_a, in_b, other_a, other_b]
        with Publisher(redis.url) as news:
            # JSON: as handler.broadcast sends it, to the room in both workers
            message = {"type": "news", "text": "hi é"}
            assert news.broadcast("/ws/chat", message, room="general") == 2  # no such endpoint
            assert news.broadcast("/ws/rooms", message, room="general") == 2
            assert await in_a.receive() == await in_b.receive() == message
            # text and binary
            assert news.broadcast("/ws/rooms", "plain text, not JSON", room="general") == 2
            assert news.broadcast("/ws/rooms", b"\x00\xff binary", room="general") == 2
            assert news.broadcast("/ws/rooms", Score("red", 3), room="general") == 2
            for client in (in_a, in_b):
                text, binary, score = [await raw(client) for _ in range(3)]
                assert (text.type, text.data) == (aiohttp.WSMsgType.TEXT, "plain text, not JSON")
                assert (binary.type, binary.data) == (aiohttp.WSMsgType.BINARY, b"\x00\xff binary")
                assert score.json() == dataclasses.asdict(Score("red", 3))
            # room=None: every connection of the endpoint, each once; and no earlier stray
            await only_fence(everyone, fence_all(news))
            # The pattern as the Handler records it: without its leading "/" too.
            assert news.broadcast("ws/rooms", {"n": 1}, room="random") == 2
            assert await other_a.receive() == {"n": 1}
            # With the URL prefix it is no pattern any handler declares: nobody gets it.
            assert news.broadcast("/api/ws/rooms", {"n": 2}) == 2
            await only_fence(everyone, fence_all(news))


@pytest.mark.slow
async def test_a_pattern_with_variables_is_named_as_declared(
    cluster: tuple[int, int, int], redis: RedisServer
) -> None:
    port, a, b = cluster
    async with aiohttp.ClientSession() as session:
        seven_a = await connect(session, port, a, path="/api/ws/board/7")
        seven_b = await connect(session, port, b, path="/api/ws/board/7")
        eight = await connect(session, port, None, path="/api/ws/board/8")
        with Publisher(redis.url) as news:
            assert news.broadcast("/ws/board/{id}", {"board": 7}, room="7") == 2
            assert await seven_a.receive() == await seven_b.receive() == {"board": 7}
            # A path is not the pattern: no process serves a pattern "/ws/board/7".
            assert news.broadcast("/ws/board/7", {"board": "path"}) == 2
            board = [seven_a, seven_b, eight]
            await only_fence(board, fence_all(news, "/ws/board/{id}"))


@pytest.mark.slow
async def test_a_channel_reaches_only_the_processes_of_that_channel(
    cluster: tuple[int, int, int], redis: RedisServer, tmp_path: Path
) -> None:
    port, a, b = cluster
    shop_url = f"{redis.url}?channel=shop"
    shop_folder = tmp_path / "shop"
    write_handlers(shop_folder / "ws", rooms=ROOMS_HANDLER)
    shop, shop_port, _ = await start_serve(shop_folder, "--backplane", shop_url)
    try:
        async with aiohttp.ClientSession() as session:
            plain = [await connect(session, port, a), await connect(session, port, b)]
            buyer = await connect(session, shop_port)
            for client in (*plain, buyer):
                await client.join("r")
            with Publisher(shop_url) as to_shop, Publisher(redis.url) as to_plain:
                assert to_shop.broadcast("/ws/rooms", {"sale": 1}, room="r") == 1  # one process
                assert await buyer.receive() == {"sale": 1}
                await only_fence(plain, fence_all(to_plain))
                assert to_plain.broadcast("/ws/rooms", {"plain": 1}, room="r") == 2
                for client in plain:
                    assert await client.receive() == {"plain": 1}
                await only_fence([buyer], fence_all(to_shop))
    finally:
        assert await shop.stop() == 0


def test_a_redis_asking_for_a_password_the_url_lacks_says_where_it_goes(tmp_path: Path) -> None:
    # redis-py's own words speak of HELLO and AUTH; the Publisher says what wsside serve does.
    redis = RedisServer(tmp_path, args=("--requirepass", "s3cret"))
    redis.start()
    try:
        with Publisher(redis.url) as news, pytest.raises(redis_py.AuthenticationError) as refused:
            news.broadcast("/ws/rooms", {"x": 1})
        assert str(refused.value) == (
            f"Publisher.broadcast(): Redis asks for a password, and the URL has none: "
            f"redis://:PASSWORD@127.0.0.1:{redis.port}/0"
        )
        url = f"redis://:s3cret@127.0.0.1:{redis.port}/0"
        with Publisher(url) as news:
            assert news.broadcast("/ws/rooms", {"x": 1}) == 0  # no wsside process listens
    finally:
        redis.stop()
