"""`ASGIApp` inside the Starlette app a team already runs: its own HTTP and WebSocket routes,
its own middleware (CORS, a session read from a signed cookie), its own lifespan, served by a
real `uvicorn --workers 2` with a real `redis-server` as the backplane (free loopback ports,
stopped by pid). Clients are real WebSockets; synchronisation is on log lines, never sleeps."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from cluster import RedisServer

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.slow]

FILES = {
    # The app's own session: `sid=<user>.<signature>`, set by /api/login.
    "session.py": """
        import hashlib
        import hmac

        SECRET = b"team secret"

        def sign(user):
            return user + "." + hmac.new(SECRET, user.encode(), hashlib.sha256).hexdigest()

        def user_of(cookie):
            user = (cookie or "").rpartition(".")[0]
            return user if user and hmac.compare_digest(sign(user), cookie) else None
    """,
    "app.py": """
        import contextlib
        import os

        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware
        from starlette.responses import JSONResponse, PlainTextResponse
        from starlette.routing import Mount, Route, WebSocketRoute

        import session
        from wsside import ASGIApp

        class SessionMiddleware:  # the team's own, for HTTP and WebSocket scopes alike
            def __init__(self, app):
                self.app = app

            async def __call__(self, scope, receive, send):
                if scope["type"] in ("http", "websocket"):
                    cookies = dict(
                        part.strip().partition("=")[::2]
                        for key, value in scope["headers"] if key == b"cookie"
                        for part in value.decode().split(";")
                    )
                    scope["user"] = session.user_of(cookies.get("sid"))
                await self.app(scope, receive, send)

        ws = ASGIApp(
            "ws", backplane=os.environ["REDIS_URL"], allowed_origins=["https://app.example"]
        )

        @contextlib.asynccontextmanager
        async def lifespan(app):
            async with ws.lifespan(app):
                yield {"db": "pool"}

        async def login(request):
            response = PlainTextResponse("ok")
            response.set_cookie("sid", session.sign(request.query_params["user"]))
            return response

        async def me(request):
            return JSONResponse({"user": request.scope["user"], "db": request.state.db})

        async def native(websocket):
            await websocket.accept()
            await websocket.send_text("native")
            await websocket.close()

        app = Starlette(
            routes=[
                # The app's own /api routes come before the mount, which takes all of /api.
                Route("/api/login", login),
                Route("/api/me", me),
                WebSocketRoute("/native", native),
                Mount("/api", ws),
            ],
            middleware=[
                Middleware(CORSMiddleware, allow_origins=["https://app.example"]),
                Middleware(SessionMiddleware),
            ],
            lifespan=lifespan,
        )
    """,
    "ws/chat.py": """
        import os

        import session
        from wsside import Handler

        def check(request):
            user = session.user_of(request.cookies.get("sid"))
            return {"user": user} if user else False

        chat = Handler("/ws/chat", default_room="general", authenticate=check)

        @chat.on_connect
        async def hello(conn, request):
            await conn.send({"pid": os.getpid(), "user": conn.metadata["user"]})

        @chat.on_message
        def message(conn, data):
            if data == "boom":
                raise RuntimeError("the database is down")
            conn.broadcast({"from": os.getpid(), "text": data}, room="general", include_self=True)
    """,
    # The same session, read from what the app's middleware and lifespan put in the scope.
    "ws/whoami.py": """
        from wsside import Handler

        def by_middleware(request):
            user = request.scope["user"]
            return {"user": user} if user else False

        whoami = Handler("/ws/whoami", authenticate=by_middleware)

        @whoami.on_connect
        async def hello(conn, request):
            await conn.send({"user": conn.metadata["user"], "db": request.scope["state"]["db"]})
    """,
}


# A browser's upgrade request, sent as a plain request: its refusal is read like any response.
UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


class Stack:
    """Redis, then the app under `uvicorn --workers 2`; `pids`: the workers'."""

    def __init__(self, folder: Path) -> None:
        self.redis = RedisServer(folder / "redis")
        self.redis.start()
        try:
            write_files(folder, FILES)
            env = {"REDIS_URL": self.redis.url}
            self.server = Server(folder, "uvicorn", "--workers", "2", env=env)
        except BaseException:
            self.redis.stop()
            raise
        try:
            lines = self.server.wait_for_all("Started server process", 2)
            self.server.wait_for_all("Application startup complete", 2)
            self.server.wait_listening()
        except BaseException:
            self.server.stop()
            self.redis.stop()
            raise
        self.pids = {int(re.findall(r"\d+", line)[-1]) for line in lines}

    async def login(self, client: aiohttp.ClientSession) -> str:
        """The session cookie of the app's /api/login."""
        async with client.get(self.server.url("/api/login?user=ada")) as response:
            return response.cookies["sid"].value


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        try:
            assert_stopped(stack.server)
        finally:
            stack.redis.stop()


async def _one_per_worker(
    client: aiohttp.ClientSession, server: Server, pids: set[int], cookie: str
) -> dict[int, aiohttp.ClientWebSocketResponse]:
    found: dict[int, aiohttp.ClientWebSocketResponse] = {}
    for _ in range(200):
        ws = await client.ws_connect(
            server.url("/api/ws/chat"),
            headers={"Cookie": f"sid={cookie}", "Origin": "https://app.example"},
        )
        hello = await ws.receive_json(timeout=5)
        assert hello["user"] == "ada"
        if hello["pid"] in found:
            await ws.close()
        else:
            found[hello["pid"]] = ws
        if set(found) == pids:
            return found
    raise AssertionError(f"connections reached only workers {sorted(found)} of {sorted(pids)}")


async def _said(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return (await ws.receive_json(timeout=5))["text"]


async def _until(ws: aiohttp.ClientWebSocketResponse, text: str) -> list[Any]:
    """What `ws` is told before `text`."""
    before = []
    while (said := await _said(ws)) != text:
        before.append(said)
    return before


async def test_the_handlers_inside_the_team_s_app(stack: Stack, client) -> None:
    server = stack.server
    # The app's routes under /api, before the mount, and its own WebSocket route.
    cookie = await stack.login(client)
    async with client.get(server.url("/api/me"), headers={"Cookie": f"sid={cookie}"}) as r:
        assert await r.json() == {"user": "ada", "db": "pool"}
    native = await client.ws_connect(server.url("/native"))
    assert await native.receive_str(timeout=5) == "native"
    # What the mount answers: no handler, not a WebSocket.
    async with client.get(server.url("/api/nothing")) as response:
        assert response.status == 404
    async with client.get(server.url("/api/ws/chat")) as response:
        assert response.status == 426
    # The app's session cookie authenticates; Origins as allowed_origins says.
    refused = [
        ({}, 401),
        ({"Cookie": "sid=ada.forged"}, 401),
        ({"Cookie": f"sid={cookie}", "Origin": "https://evil.example"}, 403),
    ]
    for headers, status in refused:
        async with client.get(server.url("/api/ws/chat"), headers={**UPGRADE, **headers}) as r:
            assert r.status == status, headers
    # What the app's middleware and lifespan put in the scope reaches the handlers.
    mine = {"Cookie": f"sid={cookie}", "Origin": "https://app.example"}
    whoami = await client.ws_connect(server.url("/api/ws/whoami"), headers=mine)
    assert await whoami.receive_json(timeout=5) == {"user": "ada", "db": "pool"}
    await whoami.close()
    async with client.get(server.url("/api/ws/whoami"), headers={**UPGRADE, **refused[1][0]}) as r:
        assert r.status == 401
    # A room shared by both workers through Redis, each way.
    a, b = (await _one_per_worker(client, server, stack.pids, cookie)).values()
    for sender in (a, b):
        await sender.send_json("hello")
        assert [await _said(a), await _said(b)] == ["hello", "hello"]
    # A raising callback: the error frame, its traceback in the server's log.
    await a.send_json("boom")
    assert await a.receive_json(timeout=5) == {
        "type": "error",
        "message": "the database is down",
    }
    server.wait_for("RuntimeError: the database is down")
    await a.send_json("still open")
    assert [await _said(a), await _said(b)] == ["still open", "still open"]


async def test_a_redis_outage_mid_run_stops_no_worker(stack: Stack, client) -> None:
    """Redis stopped: each worker serves its own room members and logs one warning; Redis
    back: each logs so, and broadcasts cross the workers again, both ways."""
    server, redis = stack.server, stack.redis
    cookie = await stack.login(client)
    a, b = (await _one_per_worker(client, server, stack.pids, cookie)).values()
    await a.send_json("before")
    assert [await _said(a), await _said(b)] == ["before", "before"]

    redis.stop()
    server.wait_for_all("is unavailable", 2)
    for n in range(3):  # local delivery goes on
        await a.send_json(f"during {n}")
        assert await _said(a) == f"during {n}"
    await b.send_json("during, from b")
    assert await _said(b) == "during, from b"

    redis.start()
    server.wait_for_all("is back after", 2)
    for sender, other, sent in ((a, b, "during {n}"), (b, a, "during, from b")):
        await sender.send_json("after")
        assert await _said(sender) == "after"
        # A broadcast is published within 1 s or dropped: those made in the last second
        # before Redis came back may still reach the other worker, in order, at most once.
        made = [sent.format(n=n) for n in range(3)] if "{n}" in sent else [sent]
        late = await _until(other, "after")
        assert late == made[len(made) - len(late) :], late
    assert "died" not in server.log  # uvicorn's line for a worker it had to restart
    assert len(server.wait_for_all("Started server process", 2)) == 2
