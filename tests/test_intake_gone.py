"""A client that gives up its upgrade while a handler blocks the event loop (its request and
its FIN both wait in the kernel) is gone before its 101 can be written: no traceback, one
debug line, no session (no `on_connect`, no hub membership), and the server serves on.
Through a real `wsside serve` process, on each event loop it may run; nothing sleeps."""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import aiohttp
import pytest
from tests.reliability.rawws import upgrade_head

from serve_process import ServeProcess, free_port, read_until

# `hold` blocks the loop (a plain def that sleeps) until the test creates `release`, for 20 s
# at most; the handlers print to stderr, which the test reads.
APP = """
import pathlib
import sys
import time

from wsside import Handler

release = pathlib.Path(__file__).resolve().parent.parent / "release"


def hold(conn, data):
    deadline = time.monotonic() + 20
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    conn.send("released")


Handler("/block", on_message=hold)

echo = Handler(
    "/echo", on_message=lambda conn, data: conn.send({"data": data, "open": len(echo.connections)})
)


@echo.on_connect
def joined(conn, request):
    print("app: on_connect", file=sys.stderr, flush=True)


@echo.on_close
def left(conn, code, reason, by_client):
    print("app: on_close", file=sys.stderr, flush=True)
"""

LEFT = "the client left before the 101"


@pytest.mark.parametrize(
    "loop",
    [
        "asyncio",
        pytest.param(
            "uvloop",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed"
            ),
        ),
    ],
)
async def test_a_client_gone_before_its_101_is_a_debug_line_not_a_traceback(
    tmp_path: Path, loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "app.py").write_text(APP)
    monkeypatch.setenv("WSSIDE_LOOP", loop)
    port = free_port()
    server = await ServeProcess.start(
        "--port", str(port), "--no-reload", "--log-level", "debug", cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}/api"
    try:
        await server.expect("serving on")
        async with aiohttp.ClientSession() as client:
            blocker = await client.ws_connect(base + "/block")
            await blocker.send_str("hold")
            await server.expect("the event loop is blocked")
            # The loop is held until `release` exists: the kernel accepts this connection,
            # takes the request and then the FIN; the server reads both only afterwards.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as gone:
                gone.sendall(upgrade_head("/api/echo"))
            (tmp_path / "release").touch()
            assert await blocker.receive_str(timeout=10) == "released"
            assert server.proc.stderr is not None
            line = await read_until(
                server.proc.stderr,
                server.lines,
                lambda line: LEFT in line or "Error handling request" in line,
                f"line containing {LEFT!r}",
                15.0,
                "wsside serve",
            )
            assert f'"WebSocket /api/echo": {LEFT}' in line, "".join(server.lines)
            # The server serves on; the client that left never joined the endpoint.
            ws = await client.ws_connect(base + "/echo")
            await ws.send_str("after")
            assert json.loads(await ws.receive_str(timeout=10)) == {"data": "after", "open": 1}
            await ws.close()
            await server.expect("app: on_close")
            await blocker.close()
    finally:
        assert await server.stop() == 0
    assert server.proc.stderr is not None
    output = "".join(server.lines) + (await server.proc.stderr.read()).decode()
    assert "Traceback" not in output and "Error handling request" not in output, output
    assert output.count("app: on_connect") == 1, output  # the later connection's only
    assert output.count("app: on_close") == 1, output
