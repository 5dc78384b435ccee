"""The team's own FastAPI routes pushing to the handlers' clients (`chat.broadcast` from a
POST), under a real uvicorn on a free loopback port with real WebSocket clients.

`ws.handler("/ws/chat")` is the Handler that `ASGIApp("ws")` serves, whose handler files
import their folder's helpers as under Vite. A handler file the app imports itself (`from
ws.chat import chat`) is a module apart from the one loaded from the folder: its `Handler`
serves no connection, and its broadcast reaches no one. The start says so, naming the file and
what to do; giving those objects to `ASGIApp([chat])` makes them the ones that serve.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import yarl

from asgi_server import Server, assert_stopped, write_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "asgi.md"
# The front-end team's handler files, as the docs' app imports them (chat, and private: auth).
EXAMPLES = {"chat.py": ROOT / "examples/chat/ws", "private.py": ROOT / "examples/auth/ws"}

FILES = {
    "ws/chat.py": """
        from wsside import Handler

        chat = Handler("/ws/chat")
    """,
    "ws/other.py": """
        from wsside import Handler

        other = Handler("/ws/other")
    """,
}

APP = """
    import anyio.from_thread
    from fastapi import FastAPI

    from wsside import ASGIApp

    {make}
    app = FastAPI(lifespan=ws.lifespan)


    @app.post("/announce")
    async def announce(text: str):
        chat.broadcast({{"text": text}})
        return {{"listeners": len(chat.connections)}}


    @app.post("/announce-from-a-thread")
    def announce_from_a_thread(text: str):  # FastAPI runs it in its thread pool
        anyio.from_thread.run_sync(chat.broadcast, {{"text": text}})
        return {{"listeners": len(chat.connections)}}


    @app.post("/announce-straight-from-a-thread")
    def announce_straight_from_a_thread(text: str):
        chat.broadcast({{"text": text}})


    app.mount("/api", ws)
"""


# How the app gets its `chat`: the served one by its pattern, the imported objects given to
# ASGIApp, or imported beside the folder's copy (the mistake the start names).
LOOKED_UP = 'ws = ASGIApp("ws")\n    chat = ws.handler("/ws/chat")'
GIVEN = "from ws.chat import chat\n    ws = ASGIApp([chat])"
IMPORTED_TWICE = 'from ws.chat import chat\n    ws = ASGIApp("ws")'


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@contextlib.contextmanager
def _serving(folder: Path, files: dict[str, str]) -> Iterator[Server]:
    """uvicorn serving `files` written into `folder`, stopped (gracefully) after."""
    write_files(folder, files)
    server = Server(folder, "uvicorn")
    try:
        yield server
    finally:
        assert_stopped(server)


async def _announced(
    server: Server, client: aiohttp.ClientSession, route: str = "/announce"
) -> int:
    """How many listeners `route` counted; the one connected heard it if any did."""
    async with client.ws_connect(server.url("/api/ws/chat")) as ws:
        async with client.post(server.url(f"{route}?text=hi")) as response:
            assert response.status == 200, await response.text()
            listeners: int = (await response.json())["listeners"]
        if listeners:
            assert await ws.receive_json(timeout=5) == {"text": "hi"}
    return listeners


async def test_a_handler_file_the_app_imports_too_is_named_at_start(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    with _serving(tmp_path, {**FILES, "app.py": APP.format(make=IMPORTED_TWICE)}) as server:
        assert await _announced(server, client) == 0  # another `chat`: it reaches no one
        said = [line for line in server.lines if "imported by the app" in line]
        assert len(said) == 1, server.log  # ws/other.py is not imported by the app
        assert said[0].strip() == (
            f"wsside: {tmp_path / 'ws' / 'chat.py'} is imported by the app as ws.chat, apart "
            "from the copy ASGIApp loads from its folder: its Handler serves no connection and "
            "its broadcast reaches no one; push through the one served instead, "
            "ws.handler('/ws/chat') (docs/asgi.md)"
        ), said


async def test_the_served_handler_pushes_and_its_file_imports_its_helpers(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    """`ws.handler(pattern)` with the folder: the handler file's `import _shared` works (it
    does not when the app imports the file itself), and a route's broadcast reaches the
    clients, from `async def` and, handed over, from `def`."""
    files = {
        **FILES,
        "ws/_shared.py": "GREETING = 'hello'\n",
        "ws/chat.py": """
            import _shared
            from wsside import Handler

            chat = Handler("/ws/chat")


            @chat.on_connect
            def greet(conn, request):
                conn.send({"greeting": _shared.GREETING})
        """,
    }
    with _serving(tmp_path, {**files, "app.py": APP.format(make=LOOKED_UP)}) as server:
        async with client.ws_connect(server.url("/api/ws/chat")) as ws:
            assert await ws.receive_json(timeout=5) == {"greeting": "hello"}
            for route in ("/announce", "/announce-from-a-thread"):
                async with client.post(server.url(f"{route}?text=hi")) as response:
                    assert await response.json() == {"listeners": 1}
                assert await ws.receive_json(timeout=5) == {"text": "hi"}
        assert "imported by the app" not in server.log


def test_a_pattern_no_file_declares_is_a_key_error_naming_those_there_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wsside import ASGIApp

    write_files(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)
    ws = ASGIApp("ws")
    assert ws.handler("/ws/other").pattern.source == "/ws/other"
    with pytest.raises(KeyError) as missing:
        ws.handler("/ws/caht")
    assert missing.value.args[0] == (
        "ASGIApp.handler('/ws/caht'): no Handler of this app declares that pattern (the "
        "patterns: /ws/chat, /ws/other)"
    )


def _docs_block() -> str:
    """docs/asgi.md's app under "Pushing from your own routes"."""
    section = DOC.read_text().partition("## Pushing from your own routes")[2]
    return re.findall(r"^```python\n(.*?)^```", section, re.M | re.S)[0]


async def test_the_docs_app_pushes_to_the_examples_handlers(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    files = {f"ws/{name}": (folder / name).read_text() for name, folder in EXAMPLES.items()}
    with _serving(tmp_path, {**files, "app.py": _docs_block()}) as server:
        async with client.ws_connect(server.url("/api/ws/chat?username=ada")) as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "connected"
            async with client.post(server.url("/announce?text=hi")) as response:
                assert await response.json() == {"here": 1}  # this process's sockets
            assert await ws.receive_json(timeout=5) == {
                "type": "chat-message",
                "from": "admin",
                "text": "hi",
                "room": "general",
            }
        assert "imported by the app" not in server.log


async def test_a_def_route_hands_its_broadcast_to_the_event_loop(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    with _serving(tmp_path, {**FILES, "app.py": APP.format(make=GIVEN)}) as server:
        assert await _announced(server, client) == 1
        assert await _announced(server, client, "/announce-from-a-thread") == 1


async def test_a_broadcast_from_another_thread_says_how_to_hand_it_over(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    """From a thread, the hub's connections would be written to off the loop: a clear error
    says what to do instead, and the loop's clients are untouched."""
    with _serving(tmp_path, {**FILES, "app.py": APP.format(make=GIVEN)}) as server:
        async with client.post(server.url("/announce-straight-from-a-thread?text=hi")) as reply:
            assert reply.status == 500
        line = server.wait_for("RuntimeError: Handler('/ws/chat').broadcast()", timeout=10)
        assert line.strip() == (
            "RuntimeError: Handler('/ws/chat').broadcast() outside the event loop's thread: call "
            "it from async code, or hand it over: from a thread of your own, "
            "loop.call_soon_threadsafe(handler.broadcast, data) (loop = "
            "asyncio.get_running_loop(), kept from async code such as the callback that starts "
            "the thread; keyword arguments through functools.partial); from a worker thread of "
            "anyio (a FastAPI `def` route), anyio.from_thread.run_sync(handler.broadcast, data); "
            "from Django's (a sync view), make the view `async def`, or asgiref's async_to_sync "
            "of an async function that calls it"
        )
        assert await _announced(server, client) == 1


async def test_a_path_below_the_mount_only_once_decoded_is_404_as_under_serve(
    tmp_path: Path, client: aiohttp.ClientSession
) -> None:
    # Starlette's mount matches the decoded path, so `/api%2Fws/chat` reached /ws/chat: a
    # proxy that filters raw paths would not see it coming. `wsside serve` answers it 404.
    with _serving(tmp_path, {**FILES, "app.py": APP.format(make=LOOKED_UP)}) as server:
        encoded = yarl.URL(server.url("/api%2Fws/chat"), encoded=True)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(encoded)
        assert refused.value.status == 404
        async with client.ws_connect(server.url("/api/ws/chat")) as ws:
            assert not ws.closed
