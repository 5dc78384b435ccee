"""`wsside serve` as a user runs it: a real process, a real port, a graceful stop."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_then_sigterm_closes_clients_with_1001(tmp_path: Path) -> None:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "chat.py").write_text(
        "from wsside import Handler\n"
        "chat = Handler('/ws/chat')\n"
        "@chat.on_message\n"
        "def echo(conn, data):\n"
        "    conn.send({'echo': data})\n"
    )
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wsside", "serve", "--handlers", str(handlers), "--port", str(port),
        "--no-reload", stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    lines = []
    try:
        while True:
            line = (await asyncio.wait_for(proc.stderr.readline(), 15)).decode()
            assert line, "wsside serve exited early:\n" + "".join(lines)
            lines.append(line)
            if "serving on" in line:
                break
        banner = "".join(lines)
        assert f"ws://127.0.0.1:{port}/api/ws/chat" in banner and "chat.py:2" in banner
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/chat")
            await ws.send_json({"hi": 1})
            assert await ws.receive_json() == {"echo": {"hi": 1}}
            proc.send_signal(signal.SIGTERM)
            msg = await ws.receive()
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1001, "Going Away")
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
