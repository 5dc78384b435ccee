"""Text beyond ASCII, asked of a real `wsside serve`: an endpoint whose pattern holds it
(`/ws/café`, `/ws/salão/{sala}`) is reached at the path a browser sends for it,
percent-encoded (`/ws/caf%C3%A9`), as the pattern is written as the page writes the URL; and
half an emoji that a page cut (a lone surrogate, JSON's `"\ud83d"`) goes back as it came; a
close reason of non-ASCII text past the 123 bytes a close frame carries still closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port


@asynccontextmanager
async def served(folder: Path, name: str, code: str) -> AsyncIterator[tuple[ServeProcess, int]]:
    """`wsside serve` of `ws/<name>` holding `code`, once it serves; stopped cleanly after."""
    (folder / "ws").mkdir()
    (folder / "ws" / name).write_text(code, encoding="utf-8")
    port = free_port()
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=folder)
    try:
        await serve.expect("serving on")
        yield serve, port
    finally:
        assert await serve.stop() == 0


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


@room.on_message
def said(conn, data):
    conn.broadcast(data, include_self=True)
    if isinstance(data, dict):
        conn.send(data["text"])  # as text: UTF-8 cannot carry it, and the error says so
"""


async def test_a_non_ascii_pattern_is_reached_at_its_percent_encoded_path(tmp_path: Path) -> None:
    async with served(tmp_path, "café.py", HANDLERS) as (_, port):
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


async def test_half_an_emoji_a_page_cut_goes_back_as_json_escapes_it(tmp_path: Path) -> None:
    """'Olá 😀'.slice(0, 5) in a page is 'Olá ' and half of the emoji, which JSON.stringify
    writes as "\\ud83d": the broadcast carries it back the same way; text alone, which UTF-8
    cannot hold it in, is the handler's error, saying so."""
    async with served(tmp_path, "café.py", HANDLERS) as (serve, port):
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/api/ws/salão/r1"
            async with session.ws_connect(url) as ws:
                assert await ws.receive_json(timeout=5) == {"sala": "r1"}
                await ws.send_str('{"text":"Olá \\ud83d"}')
                echoed = await ws.receive(timeout=5)
                assert echoed.data == '{"text":"Olá \\ud83d"}'
                error = await ws.receive_json(timeout=5)
                assert error["type"] == "error"
                assert error["message"].startswith("cannot send text holding a lone surrogate")
        await serve.expect("lone surrogate")


EXPIRY = """
from wsside import Handler

session = Handler("/ws/sessão")


@session.on_message
async def expire(conn, data):
    if isinstance(data, dict):  # the page's own words, half an emoji at their end
        await conn.close(4001, data["why"])
    await conn.close(4002, "sessão expirada: " + "ação " * 30)
"""


FULL = "sessão expirada: " + "ação " * 30


async def test_a_close_reason_past_123_bytes_closes_with_it_cut(tmp_path: Path) -> None:
    """167 characters of Portuguese are 228 bytes of UTF-8: the connection closes all the same
    (a session that expired must end), with the reason cut at a whole character, and the line
    that did it is named once."""
    async with served(tmp_path, "sessão.py", EXPIRY) as (serve, port):
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.ws_connect(f"http://127.0.0.1:{port}/api/ws/sessão") as ws:
                    await ws.send_str("go")
                    closed = await ws.receive(timeout=5)
                    assert closed.type is aiohttp.WSMsgType.CLOSE
                    assert closed.data == 4002
                    reason = closed.extra
                    # The longest start of whole characters that fits.
                    assert FULL.startswith(reason)
                    assert len(reason.encode()) <= 123 < len(FULL[: len(reason) + 1].encode())
        line = await serve.expect("conn.close()")
        assert line.rstrip().endswith(
            "ws/sessão.py:11: conn.close(): the reason is 228 bytes of UTF-8 (167 characters), "
            f"more than the 123 a close frame carries: sent cut to {len(reason)} characters, "
            f"{reason!r}"
        ), line
        await serve.expect('closed 4002 "sessão')  # the second connection's access line
        assert sum("conn.close()" in seen for seen in serve.lines) == 1, serve.lines


async def test_a_close_reason_holding_half_an_emoji_closes_with_it_replaced(
    tmp_path: Path,
) -> None:
    async with served(tmp_path, "sessão.py", EXPIRY) as (serve, port):
        url = f"http://127.0.0.1:{port}/api/ws/sessão"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_str('{"why":"adeus \\ud83d"}')
            closed = await ws.receive(timeout=5)
            assert (closed.type, closed.data, closed.extra) == (
                aiohttp.WSMsgType.CLOSE,
                4001,
                "adeus \ufffd",
            )
        line = await serve.expect("conn.close()")
        assert line.rstrip().endswith(
            "ws/sessão.py:10: conn.close(): the reason holds a lone surrogate (half an emoji?), "
            "which UTF-8 cannot carry: sent with U+FFFD in its place"
        ), line
