"""Routing: prefix, first match wins, 404s with real headers, duplicates, hostile heads."""

import asyncio
import logging

import aiohttp
import pytest

from support import raw_upgrade


async def test_first_declared_match_wins_across_files_in_sorted_order(serve) -> None:
    s = await serve(
        'from wsside import Handler\nHandler("/ws/**", on_connect=lambda c, r: c.send("b-any"))\n',
        "from wsside import Handler\n"
        'Handler("/ws/chat", on_connect=lambda c, r: c.send("a-chat"))\n'
        'Handler("/ws/{x}", on_connect=lambda c, r: c.send("a-var"))\n',
        names=["b_catchall.py", "a_specific.py"],
    )
    for path, who in [
        ("/api/ws/chat", "a-chat"),
        ("/api/ws/other", "a-var"),
        ("/api/ws/deep/er", "b-any"),
    ]:
        ws = await s.connect(path)
        assert await ws.receive_str() == who


@pytest.mark.parametrize("path", ["/api/ws/none", "/api/", "/api", "/elsewhere", "/apix/ws/chat"])
async def test_unmatched_paths_get_a_complete_404(serve, path) -> None:
    s = await serve('from wsside import Handler\nHandler("/ws/chat")\n')
    head = await raw_upgrade(s.port, path)
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 404 Not Found"
    assert b"connection: close" in [line.lower() for line in lines]
    assert any(line.lower().startswith(b"content-length: ") for line in lines)


async def test_catch_all_pattern_never_reaches_outside_the_prefix(serve) -> None:
    s = await serve(
        'from wsside import Handler\nHandler("/**", on_connect=lambda c, r: c.send("in"))\n'
    )
    assert (await raw_upgrade(s.port, "/")).startswith(b"HTTP/1.1 404")
    assert (await raw_upgrade(s.port, "/anything/here")).startswith(b"HTTP/1.1 404")
    assert (await raw_upgrade(s.port, "/api/anything/here")).startswith(b"HTTP/1.1 101")


async def test_several_prefixes_are_normalised(serve) -> None:
    s = await serve(
        'from wsside import Handler\nHandler("/ws", on_connect=lambda c, r: c.send(c.path))\n',
        prefixes=("api/", "/v2"),
    )
    for path in ("/api/ws", "/v2/ws"):
        ws = await s.connect(path)
        assert await ws.receive_str() == path


async def test_plain_http_to_an_endpoint_gets_426(serve) -> None:
    s = await serve('from wsside import Handler\nHandler("/ws/chat")\n')
    async with aiohttp.ClientSession() as client:
        async with client.get(s.url("/api/ws/chat")) as resp:
            assert resp.status == 426 and resp.headers["Upgrade"] == "websocket"
        async with client.post(s.url("/api/ws/chat")) as resp:
            assert resp.status == 405 and resp.headers["Allow"] == "GET"


async def test_duplicate_patterns_are_a_load_error_naming_both_files(
    serve, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # files inside the working folder are named relative to it
    s = await serve(
        'from wsside import Handler\nHandler("/ws/dup", on_connect=lambda c, r: c.send("first"))\n',
        'from wsside import Handler\nHandler("/ws/other")\nHandler("/ws/dup")\n',
        names=["one.py", "two.py"],
    )
    event = next(e for e in s.events if e["type"] == "load_error")
    # Never raised: the message alone, without a class name or a traceback.
    assert event["message"].startswith("duplicate pattern '/ws/dup'")
    assert event["traceback"] is None
    assert event["message"] == (
        "duplicate pattern '/ws/dup': declared in ws0/one.py:2 and in ws0/two.py:3"
    )
    assert event["file"].endswith("two.py") and event["line"] == 3
    ws = await s.connect("/api/ws/dup")
    assert await ws.receive_str() == "first"
    assert (await raw_upgrade(s.port, "/api/ws/other")).startswith(b"HTTP/1.1 404")


@pytest.mark.parametrize(
    ("line", "write"),
    [
        ("from ._shared import NAME", "from _shared import NAME"),
        ("from . import _shared", "import _shared"),
    ],
)
async def test_a_relative_import_is_a_load_error_that_says_how_to_import(
    serve, line, write
) -> None:
    s = await serve(
        "NAME = 'shared'\n",
        f"from wsside import Handler\n{line}\nHandler('/ws/rel')\n",
        names=["_shared.py", "rel.py"],
    )
    event = next(e for e in s.events if e["type"] == "load_error")
    assert event["file"].endswith("rel.py") and event["line"] == 2, event
    assert event["message"].startswith("ImportError: a relative import in a handler file"), event
    assert f"write `{write}` instead" in event["message"], event


async def test_a_handler_file_importing_another_is_a_load_error_at_its_import(serve) -> None:
    """It would declare the other's handlers a second time (a duplicate pattern naming the
    other file twice, before): the error names the importer, its line and the way out."""
    s = await serve(
        "from wsside import Handler\n"
        "lobby = Handler('/ws/lobby', on_connect=lambda c, r: c.send('lobby'))\n",
        "import os\nfrom imported_lobby import lobby\nfrom wsside import Handler\n"
        "Handler('/ws/game')\n",
        names=["imported_lobby.py", "game.py"],
    )
    (event,) = [e for e in s.events if e["type"] == "load_error"]
    assert event["file"].endswith("game.py") and event["line"] == 2, event
    assert event["message"].startswith("imports the handler file "), event
    assert "imported_lobby.py, which wsside loads by itself" in event["message"]
    assert "duplicate" not in event["message"]
    ws = await s.connect("/api/ws/lobby")
    assert await ws.receive_str() == "lobby"  # the imported file serves, once
    assert (await raw_upgrade(s.port, "/api/ws/game")).startswith(b"HTTP/1.1 404")


async def test_duplicate_within_one_file(serve) -> None:
    s = await serve('from wsside import Handler\nHandler("/ws/a")\nHandler("/ws/a")\n')
    event = next(e for e in s.events if e["type"] == "load_error")
    assert "duplicate pattern '/ws/a'" in event["message"] and event["line"] == 3


async def test_a_disabled_handler_does_not_clash_with_an_enabled_one_of_its_pattern(
    serve,
) -> None:
    """Two versions of an endpoint, one switched off: the enabled one serves, in one file or
    across files, whichever comes first."""
    s = await serve(
        "from wsside import Handler\n"
        'Handler("/ws/maybe/{x}", disabled=True, on_connect=lambda c, r: c.send("v1"))\n'
        'Handler("/ws/maybe/{x}", on_connect=lambda c, r: c.send("v2"))\n'
        'Handler("/ws/other", on_connect=lambda c, r: c.send("other"))\n'
        'Handler("/ws/later", disabled=True)\n',
        'from wsside import Handler\nHandler("/ws/later", on_connect=lambda c, r: c.send("b"))\n',
        'from wsside import Handler\nHandler("/ws/maybe/{x}", disabled=True)\n',
        names=["a.py", "b.py", "c.py"],
    )
    assert not [e for e in s.events if e["type"] == "load_error"]
    for path, who in [
        ("/api/ws/maybe/1", "v2"),
        ("/api/ws/other", "other"),
        ("/api/ws/later", "b"),
    ]:
        ws = await s.connect(path)
        assert await ws.receive_str() == who


async def test_a_broken_handler_file_never_takes_down_the_others(serve) -> None:
    s = await serve(
        'from wsside import Handler\nHandler("/ws/ok", on_connect=lambda c, r: c.send("ok"))\n',
        'from wsside import Handler\nHandler("/ws/broken"\n',
        'raise RuntimeError("import-time failure")\n',
    )
    errors = sorted(
        (e["file"].rsplit("/", 1)[1], e["line"]) for e in s.events if e["type"] == "load_error"
    )
    assert errors == [("h1.py", 2), ("h2.py", 1)]
    ws = await s.connect("/api/ws/ok")
    assert await ws.receive_str() == "ok"


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/ws/ok HTTP/1.1\r\nHost: [::1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        b"GET /api/ws/ok HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
        b"GET /api/ws/ok HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
        b"GET /api/ws/ok HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n",
    ],
    ids=["malformed-host", "missing-key", "bad-key", "bad-version"],
)
async def test_malformed_upgrades_get_a_status_and_the_server_stays_up(serve, head) -> None:
    s = await serve(
        'from wsside import Handler\nHandler("/ws/ok", on_connect=lambda c, r: c.send("ok"))\n'
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
    writer.write(head)
    reply = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    status = reply.split(b"\r\n")[0]
    if b"[::1" in head:
        assert status in (b"HTTP/1.1 101 Switching Protocols", b"HTTP/1.1 400 Bad Request")
    elif b"Version: 99" in head:
        assert status == b"HTTP/1.1 426 Upgrade Required"
    else:
        assert status == b"HTTP/1.1 400 Bad Request"
    ws = await s.connect("/api/ws/ok")
    assert await ws.receive_str() == "ok"


@pytest.mark.parametrize("path", ["/api/ws/none", "/api/ws/chat?x=1"])
async def test_refusals_close_the_connection(serve, path) -> None:
    s = await serve('from wsside import Handler\nHandler("/ws/chat", authenticate=True)\n')
    reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    reply = await asyncio.wait_for(reader.read(), 5)  # returns only at EOF
    writer.close()
    assert reply.split(b"\r\n")[0] in (b"HTTP/1.1 404 Not Found", b"HTTP/1.1 401 Unauthorized")


async def test_malformed_requests_are_not_logged_as_errors(serve, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="wsside")
    s = await serve('from wsside import Handler\nHandler("/ws/ok")\n')
    for garbage in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        writer.write(garbage)
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert b" 400 Bad Request\r\n" in reply.split(b"\r\n\r\n")[0] + b"\r\n"
    assert not [r for r in caplog.records if r.levelno >= 40], caplog.text
    assert "refused a malformed request: 400, message:\n  Invalid header token" in caplog.text


@pytest.mark.parametrize(
    "origin, status",
    [
        ("http://localhost:5173", b"101"),
        ("http://127.0.0.1:3000", b"101"),
        ("http://[::1]:5173", b"101"),
        ("http://app.localhost", b"101"),
        ("https://evil.example", b"403"),
        ("null", b"403"),
        ("http://10.0.0.5:5173", b"403"),
        ("http://[::1", b"403"),
        # IPv4-mapped loopback: no loopback name to the plugin, nor on any Python (3.13's
        # ipaddress calls it loopback)
        ("http://[::ffff:7f00:1]:5173", b"403"),
        ("http://localhost.evil.example", b"403"),
        # forms a browser never sends as Origin (a path, a query, a user): not a page's
        ("http://localhost:5173/app", b"403"),
        ("http://localhost:5173/", b"403"),
        ("http://127.0.0.1:5173?x=1", b"403"),
        ("http://user@localhost:5173", b"403"),
        ("http://devbox:5173", b"101"),
    ],
)
async def test_standalone_serve_accepts_loopback_and_allowed_origins_only(
    tmp_path, origin, status
) -> None:
    from wsside._edge.server import Sidecar
    from wsside._runtime.settings import Settings

    (tmp_path / "h.py").write_text('from wsside import Handler\nHandler("/ws/ok")\n')
    sidecar = Sidecar(
        Settings(handlers_dir=tmp_path, reload=False, allowed_origins=("http://devbox:5173",))
    )
    await sidecar.start()
    site = await sidecar.serve_tcp("127.0.0.1", 0)
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        head = await raw_upgrade(port, "/api/ws/ok", f"Origin: {origin}\r\n")
        assert head.split(b"\r\n")[0].split(b" ")[1] == status
        assert (await raw_upgrade(port, "/api/ws/ok")).startswith(b"HTTP/1.1 101")  # no Origin
    finally:
        await sidecar.close()


async def test_headers_a_request_may_carry_once_are_refused_twice(serve) -> None:
    """RFC 6455 §11.3: Sec-WebSocket-Key and -Version at most once (400); RFC 6454 §7.3: no
    browser sends two Origin headers (403), where taking the first would let the second pass."""
    s = await serve('from wsside import Handler\nHandler("/ws/ok")\n')
    for extra, status in (
        ("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n", b"400"),
        ("Sec-WebSocket-Version: 13\r\n", b"400"),
        ("Origin: http://localhost:5173\r\nOrigin: https://evil.example\r\n", b"403"),
        ("Origin: http://localhost:5173\r\n", b"101"),
    ):
        head = await raw_upgrade(s.port, "/api/ws/ok", extra)
        assert head.split(b"\r\n")[0].split(b" ")[1] == status, (extra, head)
    assert b"Sec-WebSocket-Key appears more than once" in (
        await raw_upgrade(s.port, "/api/ws/ok", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n")
    )
    assert any("Origin sent 2 times" in e.get("message", "") for e in s.events), s.events


async def test_header_fields_past_32_kib_in_all_get_431_and_a_big_cookie_passes(serve) -> None:
    """aiohttp bounds each header line (8 KiB) and their count (128), not their sum: 120
    fields of 8,000 bytes (~940 KiB) were accepted and kept with the connection. Past 32 KiB
    in all (nginx's default buffers) the answer is a complete 431; a 24 KiB head still opens."""
    s = await serve('from wsside import Handler\nHandler("/ws/ok")\n')
    pad = "a" * 8000
    for fields, status in ((120, b"431"), (5, b"431"), (3, b"101")):
        extra = "".join(f"X-Pad-{i}: {pad}\r\n" for i in range(fields))
        head = await raw_upgrade(s.port, "/api/ws/ok", extra)
        lines = head.split(b"\r\n")
        assert lines[0].split(b" ")[1] == status, (fields, head[:200])
        if status == b"431":
            assert b"connection: close" in [line.lower() for line in lines], head
            assert b"more than 32768 bytes" in head, head


async def test_a_request_head_must_arrive_in_time_and_a_websocket_stays(
    tmp_path, monkeypatch
) -> None:
    """Slowloris: a connection that sends nothing, or a head that never ends, is closed after
    HEAD_TIMEOUT (each holds a descriptor); an open WebSocket is not, however long it idles."""
    from wsside._edge import server
    from wsside._edge.server import Sidecar
    from wsside._runtime.settings import Settings

    monkeypatch.setattr(server, "HEAD_TIMEOUT", 0.5)
    (tmp_path / "h.py").write_text(
        "from wsside import Handler\nh = Handler('/ws/echo')\n"
        "@h.on_message\ndef echo(conn, data):\n    conn.send(data)\n"
    )
    sidecar = Sidecar(Settings(handlers_dir=tmp_path, reload=False))
    await sidecar.start()
    await sidecar.serve_tcp("127.0.0.1", 0)
    port = sidecar.runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo")
            silent = await asyncio.open_connection("127.0.0.1", port)
            trickle = await asyncio.open_connection("127.0.0.1", port)
            trickle[1].write(b"GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = asyncio.get_running_loop().time()
            for reader, writer in (silent, trickle):
                assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, unanswered
                writer.close()
            assert asyncio.get_running_loop().time() - started < 3
            # The WebSocket opened before both: idle longer than they were, still served.
            await ws.send_str("still here")
            assert await ws.receive_str(timeout=5) == "still here"
            await ws.close()
    finally:
        await sidecar.close()
