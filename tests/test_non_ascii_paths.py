"""An endpoint whose pattern holds non-ASCII text (`/ws/café`, `/ws/salão/{sala}`) is reached at
the path a browser sends for it, percent-encoded (`/ws/caf%C3%A9`): the pattern is written as
the page writes the URL. Asked of a real `wsside serve`."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port

HANDLERS = """
from wsside import Handler

cafe = Handler("/ws/café")
room = Handler("/ws/salão/{sala}")


@cafe.on_connect
def hello(conn, request):
    conn.send({"path": request.path})


@room.on_connect
def joined(conn, request):
    conn.send({"sala": conn.params["sala"]})
"""


async def test_a_non_ascii_pattern_is_reached_at_its_percent_encoded_path(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "café.py").write_text(HANDLERS, encoding="utf-8")
    port = free_port()
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path)
    try:
        await serve.expect("serving on")
        base = f"http://127.0.0.1:{port}/api"
        async with aiohttp.ClientSession() as session:
            # As a browser's new WebSocket() sends them: percent-encoded UTF-8.
            for path in ("/ws/caf%C3%A9", "/ws/caf%c3%a9"):
                async with session.ws_connect(aiohttp.client.URL(base + path, encoded=True)) as ws:
                    assert (await ws.receive_json(timeout=5))["path"] == "/api" + path
            url = aiohttp.client.URL(base + "/ws/sal%C3%A3o/%F0%9F%8D%95%20sala", encoded=True)
            async with session.ws_connect(url) as ws:
                assert await ws.receive_json(timeout=5) == {"sala": "🍕 sala"}
            # A path of other letters is still no endpoint.
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(base + "/ws/cafe")
            assert refused.value.status == 404
    finally:
        assert await serve.stop() == 0
