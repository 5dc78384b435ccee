"""`wsside.ASGIApp` under a real uvicorn (and hypercorn): alone, and mounted in Starlette
under `/api`. Every client is a real WebSocket over loopback; what the server saw comes back
through the `/ws/watch` endpoint of the same app (each test tags its connections)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from wsside import Handler
from wsside._edge.asgi_paths import route_paths

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HANDLERS = {
    # A helper module (not a handler file): what handlers report reaches the watchers.
    "ws/_watch.py": """
        watchers = set()

        def report(*item):
            for conn in tuple(watchers):
                conn.send(list(item))
    """,
    "ws/watch.py": """
        from wsside import Handler
        import _watch

        watch = Handler("/ws/watch")

        @watch.on_connect
        def joined(conn, request):
            _watch.watchers.add(conn)
            conn.send(["ready"])

        @watch.on_close
        def left(conn, code, reason, by_client):
            _watch.watchers.discard(conn)
    """,
    "ws/echo.py": """
        from wsside import Handler
        from _watch import report

        echo = Handler("/ws/echo", max_message_size=1024)

        @echo.on_connect
        def hello(conn, request):
            conn.send({"path": conn.path, "request_path": request.path})

        @echo.on_message
        def back(conn, data):
            if data == "boom":
                raise RuntimeError("boom")
            if data == "close-me":
                conn.close(4002, "done")
                return
            if data == "ping-me":
                conn.ping(b"x")  # no ASGI event for it: nothing is sent
                try:
                    conn.ping(bytes(126))
                except ValueError as exc:  # checked as on a socket all the same
                    conn.send(str(exc))
                return
            conn.send(data)

        @echo.on_close
        def gone(conn, code, reason, by_client):
            report("close", conn.query.get("t"), code, reason, by_client)
    """,
    "ws/rooms.py": """
        from wsside import Broadcast, Handler, Response

        rooms = Handler(
            "/ws/rooms/{room}",
            default_room="lobby",
            responses=[
                Response({"type": "ping"}, {"type": "pong"}),
                Response({"type": "shout"}, lambda conn, m: m["text"],
                         broadcast=Broadcast(room=None, include_self=True)),
            ],
        )

        @rooms.on_connect
        async def hello(conn, request):
            conn.join_room(conn.params["room"])
            await conn.send({"params": conn.params, "user": conn.query.get("user"),
                             "rooms": sorted(conn.rooms), "count": len(rooms.connections)})

        @rooms.on_message
        def message(conn, data):
            if "join" in data:
                conn.join_room(data["join"])
                conn.send({"joined": data["join"]})
            elif "say" in data:
                conn.broadcast(data["say"], room=data["room"])
            elif "all" in data:
                conn.broadcast_all_rooms(data["all"])
            elif "everyone" in data:
                rooms.broadcast(data["everyone"])
    """,
    "ws/flood.py": """
        from wsside import Handler
        from _watch import report

        flood = Handler("/ws/flood")

        @flood.on_message
        def message(conn, data):
            for _ in range(40):  # 40 MiB at once, to a client that reads nothing
                conn.send(bytes(1024 * 1024))

        @flood.on_close
        def gone(conn, code, reason, by_client):
            report("close", conn.query.get("t"), code, reason, by_client)
    """,
    "ws/auth.py": """
        from wsside import Handler

        async def check(request):
            token = request.headers.get("X-Token")
            if token == "boom":
                raise RuntimeError("token store down")
            return {"user": "ada"} if token == "good" else False

        auth = Handler("/ws/auth", authenticate=check)

        @auth.on_connect
        def hello(conn, request):
            conn.send({"metadata": conn.metadata})
    """,
    "ws/options.py": """
        from wsside import Handler

        proto = Handler("/ws/proto", subprotocols=["v2", "v1"])

        @proto.on_connect
        def hello(conn, request):
            conn.send({"protocol": conn.subprotocol})

        # The heartbeat belongs to the server under ASGI: were it armed here, its unanswered
        # pings would close the connection at 0.4 s, before the inactivity timeout.
        idle = Handler("/ws/idle", inactivity_timeout=0.5, heartbeat=0.1)

        @idle.on_message
        def back(conn, data):
            conn.send(data)

        shaped = Handler("/ws/shaped", transform_raw_data=lambda raw: {"raw": raw}, delay=0.01)

        @shaped.on_message
        async def back2(conn, data):
            await conn.send(data)
    """,
}

STANDALONE = """
    from wsside import ASGIApp

    app = ASGIApp("ws", allowed_origins=["https://app.example"])
"""

MOUNTED = """
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    from wsside import ASGIApp

    ws = ASGIApp("ws", allowed_origins=["https://app.example"])

    async def home(request):
        return PlainTextResponse("home")

    app = Starlette(routes=[Route("/", home), Mount("/api", app=ws)], lifespan=ws.lifespan)
"""


@pytest.fixture(scope="module", params=["standalone", "mounted"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(request.param)
    mounted = request.param == "mounted"
    write_files(folder, {**HANDLERS, "app.py": MOUNTED if mounted else STANDALONE})
    srv = Server(folder, "uvicorn", prefix="/api" if mounted else "")
    yield srv
    assert_stopped(srv)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


class Watch:
    """The `/ws/watch` endpoint: what handlers reported, filtered by this test's tag."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[list[Any]] = []

    async def next(self, kind: str, tag: str, timeout: float = 5.0) -> list[Any]:
        async def until() -> list[Any]:
            while True:
                item = await self.ws.receive_json()
                self.seen.append(item)
                if item[0] == kind and item[1] == tag:
                    return item[2:]

        return await asyncio.wait_for(until(), timeout)


@pytest.fixture
async def watch(server: Server, client: aiohttp.ClientSession) -> AsyncIterator[Watch]:
    ws = await client.ws_connect(server.url("/ws/watch"))
    assert await ws.receive_json(timeout=5) == ["ready"]
    yield Watch(ws)
    await ws.close()


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def test_echo_and_the_paths_a_connection_sees(server: Server, client) -> None:
    ws = await client.ws_connect(server.url("/ws/echo"))
    hello = await ws.receive_json(timeout=5)
    assert hello == {"path": server.prefix + "/ws/echo", "request_path": server.prefix + "/ws/echo"}
    await ws.send_json({"n": 1})
    assert await ws.receive_json(timeout=5) == {"n": 1}
    await ws.send_str("plain text")
    assert await ws.receive_str(timeout=5) == "plain text"
    await ws.send_bytes(b"\x00\x01")
    assert await ws.receive_bytes(timeout=5) == b"\x00\x01"
    await ws.close()


async def test_pings_send_nothing_but_are_checked(server: Server, client) -> None:
    ws = await client.ws_connect(server.url("/ws/echo"), autoping=False)
    await ws.receive_json(timeout=5)
    await ws.send_str("ping-me")
    # The next message is the error, not a ping.
    assert await ws.receive_str(timeout=5) == "ping and pong payloads are limited to 125 bytes"
    await ws.close()


async def test_params_query_default_room_and_connections(server: Server, client) -> None:
    ws = await client.ws_connect(server.url("/ws/rooms/r%C3%A9d?user=ada"))
    hello = await ws.receive_json(timeout=5)
    assert hello == {
        "params": {"room": "réd"},
        "user": "ada",
        "rooms": ["lobby", "réd"],
        "count": 1,
    }
    await ws.close()


async def test_authenticate_refusals_are_real_http_statuses(server: Server, client) -> None:
    for headers, status in (({}, 401), ({"X-Token": "bad"}, 401), ({"X-Token": "boom"}, 500)):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(server.url("/ws/auth"), headers=headers)
        assert refused.value.status == status, headers
    server.wait_for("token store down")  # the traceback of a raising authenticate is logged
    ws = await client.ws_connect(server.url("/ws/auth"), headers={"X-Token": "good"})
    assert await ws.receive_json(timeout=5) == {"metadata": {"user": "ada"}}
    await ws.close()


async def test_origins_loopback_and_allowed_pass_others_get_403(server: Server, client) -> None:
    for origin in ("http://localhost:5173", "http://127.0.0.1:8000", "https://app.example"):
        ws = await client.ws_connect(server.url("/ws/echo"), headers={"Origin": origin})
        await ws.receive_json(timeout=5)
        await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(server.url("/ws/echo"), headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    # The line names the argument that would accept it (a site's own pages come here too).
    server.wait_for(
        "Origin 'https://evil.example' is not a loopback origin nor in allowed_origins: if it "
        "is a page of yours, ASGIApp(..., allowed_origins=['https://evil.example']) accepts it"
    )


async def test_unknown_path_is_404_and_plain_http_gets_404_or_426(server: Server, client) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(server.url("/ws/nothing-here"))
    assert refused.value.status == 404
    async with client.get(server.url("/ws/echo")) as response:
        assert response.status == 426 and response.headers["Upgrade"] == "websocket"
    for method in ("POST", "HEAD"):  # as `wsside serve` answers them
        async with client.request(method, server.url("/ws/echo")) as response:
            assert (response.status, response.headers["Allow"]) == (405, "GET"), method
    async with client.get(server.url("/ws/nothing-here")) as response:
        assert response.status == 404
        assert f"No WebSocket handler for {server.prefix}/ws/nothing-here" in await response.text()


async def test_subprotocol_by_server_preference(server: Server, client) -> None:
    for offered, chosen in ((["v1", "v2"], "v2"), (["v1"], "v1"), (["v0"], None)):
        ws = await client.ws_connect(server.url("/ws/proto"), protocols=offered)
        assert ws.protocol == chosen
        assert await ws.receive_json(timeout=5) == {"protocol": chosen}
        await ws.close()


async def _join(client, server: Server, room: str, *more: str) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect(server.url(f"/ws/rooms/{room}"))
    await ws.receive_json(timeout=5)
    for extra in more:
        await ws.send_json({"join": extra})
        assert await ws.receive_json(timeout=5) == {"joined": extra}
    return ws


async def test_rooms_and_every_broadcast_form(server: Server, client) -> None:
    t = tag()
    a = await _join(client, server, f"x{t}", f"y{t}")
    b = await _join(client, server, f"x{t}", f"y{t}")  # in both of a's rooms
    c = await _join(client, server, f"y{t}")
    d = await _join(client, server, f"z{t}")  # only in "lobby" (the default room) with a

    await a.send_json({"say": "to x", "room": f"x{t}"})
    assert await b.receive_str(timeout=5) == "to x"
    await a.send_json({"all": "to all rooms"})  # each member once, the sender left out
    for ws in (b, c, d):
        assert await ws.receive_str(timeout=5) == "to all rooms"
    await a.send_json({"type": "ping"})  # a declarative response
    assert await a.receive_json(timeout=5) == {"type": "pong"}
    await d.send_json({"type": "shout", "text": "hey all"})  # Broadcast(room=None, include_self)
    for ws in (a, b, c, d):
        assert await ws.receive_str(timeout=5) == "hey all"
    await c.send_json({"everyone": "from the handler"})  # handler.broadcast
    for ws in (a, b, c, d):
        assert await ws.receive_str(timeout=5) == "from the handler"
    # Nothing else arrived: in particular no second copy of "to all rooms" for b (in three
    # of a's rooms), and nothing of room x for c or d.
    for ws in (a, b, c, d):
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json(timeout=5) == {"type": "pong"}
        await ws.close()


async def test_on_close_runs_exactly_once_with_the_code(server: Server, client, watch) -> None:
    by_client, by_server, dropped, later = tag(), tag(), tag(), tag()
    ws = await client.ws_connect(server.url(f"/ws/echo?t={by_client}"))
    await ws.receive_json(timeout=5)
    await ws.close(code=4001, message=b"bye")
    assert await watch.next("close", by_client) == [4001, "bye", True]

    ws = await client.ws_connect(server.url(f"/ws/echo?t={by_server}"))
    await ws.receive_json(timeout=5)
    await ws.send_str("close-me")
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4002, "done")
    assert await watch.next("close", by_server) == [4002, "done", False]

    _, writer = await _raw_upgrade(server, f"/ws/echo?t={dropped}")
    writer.close()  # no close frame: the TCP connection just ends
    code, _, initiated = await watch.next("close", dropped)
    assert code in (1005, 1006) and initiated  # uvicorn reports 1005 for a dropped socket

    ws = await client.ws_connect(server.url(f"/ws/echo?t={later}"))
    await ws.receive_json(timeout=5)
    await ws.close()
    await watch.next("close", later)  # every report of the connections above came before
    closes = [item[1] for item in watch.seen if item[0] == "close"]
    assert [closes.count(t) for t in (by_client, by_server, dropped)] == [1, 1, 1]


async def _raw_upgrade(
    server: Server, path: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"GET {server.prefix}{path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    return reader, writer


@pytest.mark.slow
async def test_a_client_that_reads_nothing_is_closed_1013(server: Server, watch) -> None:
    """40 MiB sent at once to a client that never reads: ASGIApp holds at most 16 MiB for it,
    then closes it 1013; its close cannot get out, so 5 s later the connection is dropped."""
    t = tag()
    _, writer = await _raw_upgrade(server, f"/ws/flood?t={t}")
    mask = b"\x01\x02\x03\x04"
    writer.write(
        bytes([0x81, 0x80 | 5]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(b"flood"))
    )
    code, reason, initiated = await watch.next("close", t, timeout=15)
    assert (code, reason, initiated) == (1013, "Client too slow", False)
    writer.close()


async def test_a_raising_on_message_gets_the_error_frame_and_stays_open(
    server: Server, client
) -> None:
    ws = await client.ws_connect(server.url("/ws/echo"))
    await ws.receive_json(timeout=5)
    await ws.send_str("boom")
    assert await ws.receive_json(timeout=5) == {"type": "error", "message": "boom"}
    server.wait_for("error in on_message of ")
    await ws.send_str("still here")
    assert await ws.receive_str(timeout=5) == "still here"
    await ws.close()


async def test_max_message_size_closes_1009(server: Server, client, watch) -> None:
    t = tag()
    ws = await client.ws_connect(server.url(f"/ws/echo?t={t}"))
    await ws.receive_json(timeout=5)
    await ws.send_str("é" * 512)  # 1024 bytes: the limit itself passes
    assert await ws.receive_str(timeout=5) == "é" * 512
    await ws.send_str("é" * 512 + "!")
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    # on_close's reason in the words of a socket wsside owns (test_guide_fidelity.py)
    reason = "Message of 1025 bytes exceeds the limit of 1024"
    assert await watch.next("close", t) == [1009, reason, False]


async def test_inactivity_timeout_holds_and_the_heartbeat_is_the_servers(
    server: Server, client
) -> None:
    server.wait_for(
        "wsside: /ws/idle sets heartbeat=0.1, which does not hold under ASGI: the server sends "
        "the pings (uvicorn --ws-ping-interval and --ws-ping-timeout;"
    )
    ws = await client.ws_connect(server.url("/ws/idle"))
    await ws.send_str("x")
    assert await ws.receive_str(timeout=5) == "x"
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1000, "Inactivity timeout")


async def test_transform_raw_data_and_delay(server: Server, client) -> None:
    ws = await client.ws_connect(server.url("/ws/shaped"))
    for i in range(3):
        await ws.send_str(f"m{i}")
    for i in range(3):  # in order, one at a time
        assert await ws.receive_json(timeout=5) == {"raw": f"m{i}"}
    await ws.close()


BACKGROUND = {
    "ws/tick.py": """
        import asyncio
        import os

        from wsside import Handler

        tick = Handler("/ws/tick")

        @tick.background
        async def ticker(handler):
            n = 0
            try:
                while True:
                    n += 1
                    handler.broadcast({"tick": n})
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                with open(os.environ["TICK_MARK"], "w") as f:
                    f.write("cancelled")
                raise
    """,
}


@pytest.mark.parametrize("mode", ["lifespan", "mounted", "no-lifespan"])
async def test_background_task_runs_and_is_cancelled_at_shutdown(
    mode: str, tmp_path: Path, client
) -> None:
    app = MOUNTED.replace(', allowed_origins=["https://app.example"]', "")
    write_files(tmp_path, {**BACKGROUND, "app.py": app if mode == "mounted" else STANDALONE})
    mark = tmp_path / "mark"
    args = ("--lifespan", "off") if mode == "no-lifespan" else ()
    srv = Server(
        tmp_path,
        "uvicorn",
        *args,
        prefix="/api" if mode == "mounted" else "",
        env={"TICK_MARK": str(mark)},
    )
    try:
        ws = await client.ws_connect(srv.url("/ws/tick"))
        assert "tick" in await ws.receive_json(timeout=5)
        assert not mark.exists()
        await ws.close()
    finally:
        assert_stopped(srv)
    if mode == "no-lifespan":
        # Nothing tells the app that the server stops: uvicorn exits by re-raising SIGTERM,
        # and the task ends with the process (docs/asgi.md says so).
        assert not mark.exists()
    else:
        assert mark.read_text() == "cancelled"


async def test_refusals_close_before_accepting_without_the_response_extension(
    tmp_path: Path, client
) -> None:
    """A server without the ASGI HTTP-response extension: the refusal is a close before
    accepting, which the server answers with 403."""
    app = """
        from wsside import ASGIApp

        wsside_app = ASGIApp("ws")

        async def app(scope, receive, send):  # a server without the extension
            await wsside_app({**scope, "extensions": {}}, receive, send)
    """
    write_files(tmp_path, {"ws/auth.py": HANDLERS["ws/auth.py"], "app.py": app})
    srv = Server(tmp_path, "uvicorn")
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(srv.url("/ws/auth"))
        assert refused.value.status == 403
        ws = await client.ws_connect(srv.url("/ws/auth"), headers={"X-Token": "good"})
        assert await ws.receive_json(timeout=5) == {"metadata": {"user": "ada"}}
        await ws.close()
    finally:
        assert_stopped(srv)


async def test_loopback_origins_can_be_refused(tmp_path: Path, client) -> None:
    app = """
        from wsside import ASGIApp

        app = ASGIApp("ws", allowed_origins=["https://app.example"], loopback_origins=False)
    """
    write_files(tmp_path, {"ws/auth.py": HANDLERS["ws/auth.py"], "app.py": app})
    srv = Server(tmp_path, "uvicorn")
    try:
        good = {"X-Token": "good"}
        for origin in ("http://localhost:5173", "http://127.0.0.1:8000"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(srv.url("/ws/auth"), headers={**good, "Origin": origin})
            assert refused.value.status == 403, origin
        # Refused for the one reason it is refused: loopback origins are off.
        srv.wait_for(
            "Origin 'http://localhost:5173' is a loopback origin, and loopback_origins is off\n"
        )
        for headers in ({**good, "Origin": "https://app.example"}, good):
            ws = await client.ws_connect(srv.url("/ws/auth"), headers=headers)
            assert await ws.receive_json(timeout=5) == {"metadata": {"user": "ada"}}
            await ws.close()
    finally:
        assert_stopped(srv)


async def test_handler_files_do_not_shadow_the_apps_own_modules(tmp_path: Path, client) -> None:
    """The handlers folder goes on sys.path after the app's entries: `import auth` in the app
    still finds its auth.py, not the handler file ws/auth.py; the app's `_db` stays its own."""
    write_files(
        tmp_path,
        {
            "auth.py": "WHO = 'the app'\n",
            "_db.py": "WHO = 'the app'\n",
            "ws/_db.py": "WHO = 'the handlers'\n",
            "_cache.py": "WHO = 'the app'\n",  # not imported by the app, found first
            "ws/_cache.py": "WHO = 'the handlers'\n",
            "ws/auth.py": """
                import sys
                from wsside import Handler

                who = Handler("/ws/who")

                @who.on_connect
                def hello(conn, request):
                    conn.send({m: sys.modules[m].WHO for m in ("auth", "_db")})
            """,
            "app.py": """
                import _db
                from wsside import ASGIApp

                app = ASGIApp("ws")

                import auth  # after ASGIApp: the handlers folder is on sys.path now
                import _db as db_again

                assert db_again is _db
            """,
        },
    )
    srv = Server(tmp_path, "uvicorn")
    try:
        ws = await client.ws_connect(srv.url("/ws/who"))
        assert await ws.receive_json(timeout=5) == {"auth": "the app", "_db": "the app"}
        await ws.close()
        srv.wait_for("_db.py is not what `import _db` gives its handler files")
        srv.wait_for("_cache.py is not what `import _cache` gives its handler files")
    finally:
        assert_stopped(srv)


async def test_hypercorn_serves_handler_objects(tmp_path: Path, client) -> None:
    pytest.importorskip("hypercorn")
    app = """
        from wsside import ASGIApp, Handler

        echo = Handler("/ws/echo", authenticate="X-Token")

        @echo.on_message
        def back(conn, data):
            conn.send({"echo": data, "user": conn.headers["X-Token"]})

        app = ASGIApp([echo])
    """
    write_files(tmp_path, {"app.py": app})
    srv = Server(tmp_path, "hypercorn")
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(srv.url("/ws/echo"))
        assert refused.value.status == 401
        # Two Origin headers (uvicorn's websockets refuses them itself, 400; hypercorn passes
        # both on): refused, where taking the first would let the second through.
        two = [
            ("X-Token", "ada"),
            ("Origin", "http://127.0.0.1"),
            ("Origin", "https://evil.example"),
        ]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(srv.url("/ws/echo"), headers=two)
        assert refused.value.status == 403
        srv.wait_for("Origin sent 2 times")
        ws = await client.ws_connect(srv.url("/ws/echo"), headers={"X-Token": "ada"})
        await ws.send_json([1, 2])
        assert await ws.receive_json(timeout=5) == {"echo": [1, 2], "user": "ada"}
        await ws.close()
    finally:
        assert_stopped(srv)


# ---- without a server ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"path": "/ws/a b"}, ("/ws/a%20b", "/ws/a%20b")),  # no raw_path: encoded again
        # ... as a browser encodes: `:` stays (a pattern /ws/room:{id} expects it), a `%`
        # was sent as %25, non-ASCII as its UTF-8
        ({"path": "/ws/room:5/a%41/café"}, ("/ws/room:5/a%2541/caf%C3%A9",) * 2),
        (
            {"path": "/api/ws/x", "root_path": "/api", "raw_path": b"/api/ws/x"},
            ("/api/ws/x", "/ws/x"),
        ),
        # Starlette before 0.33: `path` below the mount, `raw_path` whole
        ({"path": "/ws/x", "root_path": "/api", "raw_path": b"/api/ws/x"}, ("/api/ws/x", "/ws/x")),
        # an encoded slash stays inside its segment, as under `wsside serve`
        (
            {"path": "/api/ws/a/b", "root_path": "/api", "raw_path": b"/api/ws/a%2Fb"},
            ("/api/ws/a%2Fb", "/ws/a%2Fb"),
        ),
        # a mount matched across an encoded slash: not below it as sent (404 as under serve)
        (
            {"path": "/api/ws/admin", "root_path": "/api", "raw_path": b"/api%2Fws/admin"},
            ("/api%2Fws/admin", ""),
        ),
        ({"path": "/api", "root_path": "/api", "raw_path": b"/api"}, ("/api", "/")),
        # a server whose `raw_path` leaves the root path out
        ({"path": "/ws/x", "root_path": "/api", "raw_path": b"/ws/x"}, ("/api/ws/x", "/ws/x")),
        ({"path": "/apix/ws", "root_path": "/api"}, ("/api/apix/ws", "/apix/ws")),  # not under
        # Litestar's mount: `path` below it with a `/` added, no root_path, raw_path whole
        (
            {"path": "/ws/chat/", "root_path": "", "raw_path": b"/api/ws/chat"},
            ("/api/ws/chat", "/ws/chat"),
        ),
        (
            {"path": "/ws/chat/", "root_path": "", "raw_path": b"/api/ws/chat/"},
            ("/api/ws/chat/", "/ws/chat/"),
        ),
    ],
)
def test_route_paths(scope: dict[str, Any], expected: tuple[str, str]) -> None:
    assert route_paths(scope) == expected


def test_a_folder_without_handlers_is_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deploy that left the handler files behind: the app would answer every socket 404."""
    from wsside import ASGIApp

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "_helper.py").write_text("X = 1\n")
    ASGIApp(tmp_path / "ws")
    said = [r.getMessage() for r in caplog.records if "declares a Handler" in r.getMessage()]
    assert said == [
        f"wsside: ASGIApp: no handler file in {(tmp_path / 'ws').resolve()} declares a Handler: "
        "every WebSocket gets 404"
    ]


def test_config_file_defaults_that_do_not_apply_are_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wsside.toml's [defaults] (kept for Vite) would be taken to hold in production too:
    `error_details = false` among them. A config without [defaults] says nothing."""
    from wsside import ASGIApp

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text('from wsside import Handler\nHandler("/ws/chat")\n')
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "wsside.toml"

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if "reads no config" in r.getMessage()]

    config.write_text('prefix = "/api"\n')
    ASGIApp("ws")
    assert said() == []
    config.write_text('prefix = "/api"\n\n[defaults]\nerror_details = false\nheartbeat = 20\n')
    ASGIApp("ws")
    assert said() == [
        f"wsside: ASGIApp reads no config file: the [defaults] of {config} (error_details, "
        "heartbeat) do not apply here; set error_details on each Handler; heartbeat is the "
        "server's: uvicorn --ws-ping-interval, hypercorn --websocket-ping-interval (docs/asgi.md)"
    ]
    # Only what no Handler can set: nothing to set on each Handler.
    caplog.clear()
    config.write_text("[defaults]\nper_message_deflate = false\n")
    ASGIApp("ws")
    assert said() == [
        f"wsside: ASGIApp reads no config file: the [defaults] of {config} (per_message_deflate) "
        "do not apply here; per_message_deflate is the server's: uvicorn "
        "--ws-per-message-deflate; hypercorn always accepts it (docs/asgi.md)"
    ]


def test_a_config_file_backplane_the_app_lacks_is_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wsside.toml's backplane (kept for Vite's sidecar) would be taken to join the app's
    processes too: without ASGIApp(backplane=...) their rooms stay apart, and the start says
    so; an app given its own backplane hears nothing of the file's."""
    from wsside import ASGIApp

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text('from wsside import Handler\nHandler("/ws/chat")\n')
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "wsside.toml"
    config.write_text('backplane = "redis://127.0.0.1:6390/0"\n')

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if "reads no config" in r.getMessage()]

    ASGIApp("ws", backplane="redis://127.0.0.1:6391/0")
    assert said() == []
    ASGIApp("ws")
    assert said() == [
        f"wsside: ASGIApp reads no config file: the backplane of {config} does not apply here, "
        "and this process's broadcasts stay in it; pass ASGIApp(..., backplane=...) "
        "(docs/asgi.md)"
    ]


def test_bad_arguments_get_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wsside import ASGIApp

    with pytest.raises(FileNotFoundError, match=r"no handlers folder at .*missing$"):
        ASGIApp(tmp_path / "missing")
    monkeypatch.chdir(tmp_path)  # a test run, or uvicorn --app-dir, in another folder
    with pytest.raises(FileNotFoundError) as relative:
        ASGIApp("ws")
    assert str(relative.value) == (
        f"ASGIApp: no handlers folder at {tmp_path.resolve() / 'ws'} ('ws' is taken from the "
        f"current folder, {tmp_path}: run the server there, or give the folder from the app's "
        "own file, ASGIApp(Path(__file__).parent / 'ws'))"
    )
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text("from wsside import Handler\n")
    with pytest.raises(NotADirectoryError, match=r"chat\.py is a file; expected the folder of "):
        ASGIApp(tmp_path / "ws" / "chat.py")  # one handler file is not a folder of them
    (tmp_path / "ws" / "chat.py").unlink()
    (tmp_path / "ws" / "bad.py").write_text("from wsside import Handler\n\nx = 1 / 0\n")
    with pytest.raises(ImportError, match=r"bad\.py:3: ZeroDivisionError"):
        ASGIApp(tmp_path / "ws")
    with pytest.raises(TypeError, match="expected a list of origins"):
        ASGIApp([], allowed_origins="https://app.example")  # type: ignore[arg-type]
    for wrong in (True, {"https://app.example": 1}):
        with pytest.raises(TypeError) as refused:
            ASGIApp([], allowed_origins=wrong)  # type: ignore[arg-type]
        assert str(refused.value) == (
            f"ASGIApp(allowed_origins={wrong!r}): expected a list of origins, e.g. "
            "['https://example.com'] (the loopback ones are in by default: loopback_origins)"
        )
    with pytest.raises(TypeError, match=r"loopback_origins='no'\): expected True or False"):
        ASGIApp([], loopback_origins="no")  # type: ignore[arg-type]
    one = Handler("/ws/one")
    with pytest.raises(TypeError, match=r"for one handler: \[handler\]"):
        ASGIApp(one)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"handlers=b'ws'\): expected a folder or a list of"):
        ASGIApp(b"ws")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duplicate pattern '/ws/one'") as raised:
        ASGIApp([one, Handler("/ws/one")])
    assert type(raised.value) is ValueError  # no private class in the user's traceback
    # The app's own Redis client is not a backplane: one line saying what is expected.
    from redis.asyncio import Redis

    client = Redis.from_url("redis://127.0.0.1:6379/0")
    with pytest.raises(
        TypeError,
        match=(
            r"expected a redis://, rediss:// or unix:// URL .*, "
            r"got a redis\.asyncio\.client\.Redis$"
        ),
    ):
        ASGIApp([], backplane=client)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "noted"),
    [
        ({"allowed_origins": ["https://app.example"]}, True),
        ({"allowed_origins": ["https://app.example"], "loopback_origins": False}, False),
        ({"allowed_origins": ["http://devbox:5173"]}, False),  # a dev machine on the LAN
        ({}, False),
    ],
)
def test_a_site_that_accepts_localhost_pages_hears_it_once(
    caplog: pytest.LogCaptureFixture, options: dict[str, Any], noted: bool
) -> None:
    from wsside import ASGIApp

    with caplog.at_level("WARNING", logger="wsside"):
        ASGIApp([Handler("/ws/one")], **options)
    said = [r.getMessage() for r in caplog.records if "accepted too" in r.getMessage()]
    assert len(said) == (1 if noted else 0), caplog.text
    if noted:
        assert said[0].endswith("ASGIApp(..., loopback_origins=False) turns them off"), said


def test_import_wsside_loads_no_server_until_asgiapp_is_used() -> None:
    code = (
        "import sys, wsside\n"
        "assert not [m for m in sys.modules if m.startswith('wsside._edge')], 'edge loaded'\n"
        "assert 'typer' not in sys.modules and 'watchdog' not in sys.modules\n"
        "wsside.ASGIApp\n"
        "assert 'wsside._edge.asgi' in sys.modules\n"
        "assert 'typer' not in sys.modules and 'watchdog' not in sys.modules, 'asgi loads cli'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# ---- docs/asgi.md: every snippet runs ----------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "asgi.md"


def _doc_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(), re.M | re.S)


APPS = [code for code in _doc_blocks() if code.startswith("# app.py")]


def test_docs_have_the_three_apps_and_a_handler_file() -> None:
    assert len(APPS) == 3
    assert [("starlette" in a, "fastapi" in a) for a in APPS] == [
        (False, False),
        (True, False),
        (False, True),
    ]
    assert [c for c in _doc_blocks() if "Handler(" in c]


@pytest.mark.parametrize("app", APPS, ids=["standalone", "starlette", "fastapi"])
async def test_docs_app_serves_the_docs_handler(app: str, tmp_path: Path, client) -> None:
    if "fastapi" in app:
        pytest.importorskip("fastapi")
    handler = next(c for c in _doc_blocks() if "Handler(" in c)
    write_files(tmp_path, {"app.py": app, "ws/chat.py": handler})
    mounted = "mount(" in app.lower()
    srv = Server(tmp_path, "uvicorn", prefix="/api" if mounted else "")
    try:
        origin = {"Origin": "https://example.com"} if "example.com" in app else {}
        a = await client.ws_connect(srv.url("/ws/chat"), headers=origin)
        b = await client.ws_connect(srv.url("/ws/chat"))
        await a.send_json({"text": "hi"})
        for ws in (a, b):  # the docs' handler broadcasts to "general", sender included
            assert await ws.receive_json(timeout=5) == {"text": "hi"}
            await ws.close()
        if "/health" in app:
            async with client.get(f"http://127.0.0.1:{srv.port}/health") as response:
                assert await response.json() == {"ok": True}
    finally:
        assert_stopped(srv)
