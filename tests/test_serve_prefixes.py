"""`wsside serve` with several prefixes: its start-up lines list every endpoint under each
prefix (the sidecar's table names them under the first only), in one process and with
workers, and each of those URLs serves."""

from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port

ECHO = """\
from wsside import Handler

echo = Handler("/echo")

@echo.on_message
async def message(conn, data):
    await conn.send(data)
"""
ROOMS = """\
from wsside import Handler

rooms = Handler("/rooms/{room}")
"""


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one-process", "workers"])
async def test_serve_lists_each_endpoint_under_every_prefix(
    tmp_path: Path, workers: list[str]
) -> None:
    project = tmp_path
    (project / "ws").mkdir()
    (project / "ws" / "echo.py").write_text(ECHO)
    (project / "wsside.toml").write_text('prefix = ["/api", "/rt"]\n')
    (project / "ws" / "rooms.py").write_text(ROOMS)
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", *workers, cwd=project)
    try:
        await server.expect("serving on")
        listed = [line.rstrip("\n") for line in server.lines if line.startswith("  WS  ")]
        assert listed == [
            f"  WS  ws://127.0.0.1:{port}{prefix}{path}"
            for prefix in ("/api", "/rt")
            for path in ("/echo  (ws/echo.py:3)", "/rooms/{room}  (ws/rooms.py:3)")
        ], "".join(server.lines)
        async with aiohttp.ClientSession() as client:
            for prefix in ("/api", "/rt"):
                async with client.ws_connect(f"http://127.0.0.1:{port}{prefix}/echo") as ws:
                    await ws.send_str(prefix)
                    assert (await ws.receive(timeout=10)).data == prefix
    finally:
        assert await server.stop() == 0
