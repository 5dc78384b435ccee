"""A misconfigured `ASGIApp` stops a real uvicorn at start with one line saying what is wrong
(the last line uvicorn prints of the traceback)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, free_port, write_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _last_line_of_a_failed_start(folder: Path) -> str:
    address = ["--host", "127.0.0.1", "--port", str(free_port())]
    run = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app:app", *address],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0, run.stderr
    return run.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("given", ['"."', '""'])
def test_a_handlers_folder_holding_the_app_itself(tmp_path: Path, given: str) -> None:
    write_files(
        tmp_path,
        {
            "app.py": f"""
                from wsside import ASGIApp

                app = ASGIApp({given})
            """,
            "chat.py": """
                from wsside import Handler

                chat = Handler("/ws/chat")
            """,
        },
    )
    assert _last_line_of_a_failed_start(tmp_path) == (
        f"ImportError: ASGIApp: the handlers folder {tmp_path} holds app.py, the module that "
        "makes this ASGIApp (app), and would import it again: put the handler files in a "
        "folder of their own, e.g. ws/"
    )


def test_a_mount_point_and_patterns_that_both_say_ws_are_named_at_the_first_404(
    tmp_path: Path,
) -> None:
    """`app.mount("/ws", ASGIApp("ws"))` with `Handler("/ws/chat")` serves `/ws/ws/chat`: the
    page's `/ws/chat` gets 404, and the log says which URL serves (once per path)."""
    write_files(
        tmp_path,
        {
            "app.py": """
                from starlette.applications import Starlette
                from starlette.routing import Mount
                from wsside import ASGIApp

                ws = ASGIApp("ws")
                app = Starlette(routes=[Mount("/ws", ws)], lifespan=ws.lifespan)
            """,
            "ws/chat.py": """
                from wsside import Handler

                chat = Handler("/ws/chat")
            """,
        },
    )
    server = Server(tmp_path, "uvicorn")

    async def status(path: str) -> int:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"http://127.0.0.1:{server.port}{path}")
            return refused.value.status

    try:
        assert [asyncio.run(status(path)) for path in ("/ws/chat", "/ws/chat", "/ws/zz")] == [
            404
        ] * 3
        # Lines come in order: once the last path's is there, a second of the first would be.
        server.wait_for("/ws/zz: no endpoint there")
    finally:
        server.stop()
    said = [line.rstrip() for line in server.lines if "/ws/chat: no endpoint there" in line]
    assert len(said) == 1, server.log
    assert said[0].endswith(
        "/ws/chat: no endpoint there, so the client got 404: the pattern /ws/chat "
        "(ws/chat.py:4) starts with the mount point /ws, so it answers at /ws/ws/chat: "
        'patterns are below the mount point, Handler("/chat")'
    ), said


def test_an_asgi_function_that_gives_no_root_path_is_named_at_the_first_404(
    tmp_path: Path,
) -> None:
    """An `asgi.py` of the user's own (Django's) sends WebSocket scopes under `/api` to the
    ASGIApp without a mount point: `/api/ws/chat` gets 404, and the log says which pattern
    matches after `/api` and the `root_path` to give; given, the same URL serves."""
    write_files(
        tmp_path,
        {
            "app.py": """
                import os

                from wsside import ASGIApp

                ws = ASGIApp("ws")


                async def app(scope, receive, send):
                    if scope["type"] == "websocket" and os.environ.get("ROOT_PATH"):
                        scope = {**scope, "root_path": os.environ["ROOT_PATH"]}
                    return await ws(scope, receive, send)
            """,
            "ws/chat.py": """
                from wsside import Handler

                chat = Handler("/ws/chat")
            """,
        },
    )

    async def status(port: int) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/chat")
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status
            await ws.close()
            return 101

    server = Server(tmp_path, "uvicorn")
    try:
        assert asyncio.run(status(server.port)) == 404
        line = server.wait_for("/api/ws/chat: no endpoint there")
    finally:
        server.stop()
    assert line.rstrip().endswith(
        "/api/ws/chat: no endpoint there, so the client got 404: the pattern /ws/chat "
        "(ws/chat.py:4) matches it after /api, and ASGIApp matches the path below its mount "
        "point (scope['root_path']), which is empty here: mount it at /api, or, from an ASGI "
        "function of your own (Django's asgi.py), pass it {**scope, 'root_path': '/api'}"
    ), line
    fixed = Server(tmp_path, "uvicorn", env={"ROOT_PATH": "/api"})
    try:
        assert asyncio.run(status(fixed.port)) == 101
    finally:
        fixed.stop()
