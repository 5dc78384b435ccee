"""The log says why a connection ended, not only where: its access line names who started
the close and the close's reason (a client's own reason quoted, its control characters
written out, cut at a length); a slow client's 1013 warning names the client as its access
line does; the stall warning names the handler file as every other line does
(`ws/chat.py:19`). A real `wsside serve`, real aiohttp clients (a raw socket for the client
that reads nothing); nothing sleeps."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from pathlib import Path

import aiohttp

from serve_process import ServeProcess, free_port
from test_close_lines import HISTORY  # 40 MiB in one go: more than a client may have waiting

# `block` holds the event loop (a plain def that sleeps) until the test creates `release`, for
# 20 s at most.
CHAT = """\
import pathlib
import time

from wsside import Handler

chat = Handler("/ws/chat")
release = pathlib.Path(__file__).resolve().parent.parent / "release"


@chat.on_message
def hold(conn, data):
    deadline = time.monotonic() + 20
    while data == "block" and not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    conn.send(data)
"""
HOLD_LINE = CHAT.splitlines().index("        time.sleep(0.02)") + 1

BEAT = """\
from wsside import Handler

beat = Handler("/ws/beat", heartbeat=0.1)
"""

# 4 MiB, far under the 16 MiB limit, but more than a client that reads nothing takes in.
BEHIND = """\
from wsside import Handler

behind = Handler("/ws/behind", heartbeat=0.2)

@behind.on_connect
def backlog(conn, request):
    for _ in range(4):
        conn.send(b"x" * (1 << 20))
"""

SMALL = """\
from wsside import Handler

small = Handler("/ws/small", max_message_size=16)
"""

FILES = {
    "ws/chat.py": CHAT,
    "ws/small.py": SMALL,
    "ws/beat.py": BEAT,
    "ws/history.py": HISTORY,
    "ws/behind.py": BEHIND,
}

AFTER = r"after \d+\.\d s"


def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    for name, code in FILES.items():
        (tmp_path / name).write_text(code)
    return tmp_path


async def serving(tmp_path: Path, *args: str) -> tuple[ServeProcess, str]:
    """A started `wsside serve` in the project, and its base URL."""
    port = free_port()
    serve = await ServeProcess.start(
        "--port", str(port), "--no-reload", *args, cwd=project(tmp_path)
    )
    await serve.expect("serving on")
    return serve, f"http://127.0.0.1:{port}/api/ws"


def local_port(ws: aiohttp.ClientWebSocketResponse) -> int:
    return int(ws.get_extra_info("sockname")[1])


async def read_to_close(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read (and drop) what `ws` gets until the server's close, which aiohttp answers; its
    code."""

    async def read() -> None:
        async for _ in ws:
            pass

    await asyncio.wait_for(read(), 30)
    return ws.close_code


async def test_a_clients_close_says_by_the_client_and_its_reason(tmp_path: Path) -> None:
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            plain = await client.ws_connect(f"{base}/chat")
            plain_port = local_port(plain)
            await plain.close()
            with_reason = await client.ws_connect(f"{base}/chat")
            reason_port = local_port(with_reason)
            await with_reason.close(code=4001, message=b"moving to another tab")
            lines = await serve.expect_all(
                f':{plain_port} - "WebSocket /api/ws/chat" closed',
                f':{reason_port} - "WebSocket /api/ws/chat" closed',
            )
    finally:
        assert await serve.stop() == 0
    by_port = {line.split(" - ")[0].rsplit(":", 1)[1]: line for line in lines}
    assert re.search(
        rf'"WebSocket /api/ws/chat" closed 1000 by the client {AFTER}\n$',
        by_port[str(plain_port)],
    ), lines
    assert re.search(
        rf'"WebSocket /api/ws/chat" closed 4001 "moving to another tab" by the client {AFTER}\n$',
        by_port[str(reason_port)],
    ), lines


async def test_a_reason_the_close_frame_did_not_carry_is_said_to_be_kept(
    tmp_path: Path,
) -> None:
    """A protocol error's close frame has the code only (1009 here); the access line says why
    all the same, unquoted and after the rest, and that the client did not get it."""
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"{base}/small")
            port = local_port(ws)
            await ws.send_str("x" * 17)
            assert await read_to_close(ws) == 1009
            line = await serve.expect(f':{port} - "WebSocket /api/ws/small" closed')
    finally:
        assert await serve.stop() == 0
    assert re.search(
        rf'"WebSocket /api/ws/small" closed 1009 by the server {AFTER}: Message of 17 bytes '
        r"exceeds the limit of 16 \(the client got the code only\)\n$",
        line,
    ), line


async def test_a_clients_reason_is_escaped_and_cut(tmp_path: Path) -> None:
    """A client's reason is its own text: its control characters (an escape sequence that
    would clear the terminal, a newline that would forge a line, C1's CSI) are written out,
    its quotes and backslashes escaped, and a long one cut."""
    forged = 'x\x1b[2J\n12:00:00 "forged" \\ \x9b'
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"{base}/chat")
            port = local_port(ws)
            await ws.close(code=4000, message=forged.encode())
            line = await serve.expect(f':{port} - "WebSocket /api/ws/chat" closed')
            long = await client.ws_connect(f"{base}/chat")
            port = local_port(long)
            await long.close(code=4000, message=b"a" * 100 + b"b" * 23)  # 123 bytes, the most
            cut = await serve.expect(f':{port} - "WebSocket /api/ws/chat" closed')
    finally:
        assert await serve.stop() == 0
    # Written out as Python writes them: one line, nothing for a terminal to act on.
    assert r'closed 4000 "x\x1b[2J\n12:00:00 \"forged\" \\ \x9b" by the client after ' in line, line
    assert not any("\x1b" in ln or "\x9b" in ln for ln in serve.lines)
    assert re.search(rf'closed 4000 "{"a" * 80}"… by the client {AFTER}\n$', cut), cut


async def test_a_missed_heartbeat_says_no_pong_by_the_server(tmp_path: Path) -> None:
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            # The client reads (so it answers the close) but never answers a ping.
            ws = await client.ws_connect(f"{base}/beat", autoping=False)
            port = local_port(ws)
            assert await read_to_close(ws) == 1000
            line = await serve.expect(f':{port} - "WebSocket /api/ws/beat" closed')
    finally:
        assert await serve.stop() == 0
    assert re.search(rf'closed 1000 "No pong received" by the server {AFTER}\n$', line), line


async def test_a_shutdown_says_going_away_by_the_server(tmp_path: Path) -> None:
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"{base}/chat")
            port = local_port(ws)
            await serve.expect(f':{port} - "WebSocket /api/ws/chat" 101')
            serve.proc.send_signal(signal.SIGTERM)
            assert await read_to_close(ws) == 1001
            line = await serve.expect(f':{port} - "WebSocket /api/ws/chat" closed')
        assert await asyncio.wait_for(serve.proc.wait(), 10) == 0
    finally:
        await serve.stop()  # only when it is still running (the test failed)
    assert re.search(rf'closed 1001 "Going Away" by the server {AFTER}\n$', line), line


async def test_a_client_far_behind_is_closed_for_its_heartbeat_first(tmp_path: Path) -> None:
    """docs/reliability.md: the ping waits behind what the client has not read, so a client
    far behind (here: reading nothing, 4 MiB waiting) is closed for a missed heartbeat before
    16 MiB waits for it; the close frame waits too, and is cut after 5 s."""
    serve, base = await serving(tmp_path)
    port = int(base.split(":")[2].split("/")[0])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            b"GET /api/ws/behind HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 "), head
        local = writer.get_extra_info("sockname")[1]
        line = await serve.expect(f':{local} - "WebSocket /api/ws/behind" closed', timeout=20)
        writer.close()
    finally:
        sock.close()
        assert await serve.stop() == 0
    assert re.search(
        rf'closed 1000 "No pong received" by the server {AFTER} '
        r"\(no answer to the close: cut\)\n$",
        line,
    ), line
    assert not any("1013" in ln for ln in serve.lines), "".join(serve.lines)


async def test_a_1013_warning_names_the_client(tmp_path: Path) -> None:
    """As its access line writes it; a second client on the same path within the window is
    still counted, not written again."""
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            # Nothing is read until the server has closed it (aiohttp stops reading the
            # socket while a message waits unread).
            slow = await client.ws_connect(f"{base}/history", max_msg_size=0)
            port = local_port(slow)
            line = await serve.expect("closed /api/ws/history 1013")
            assert await read_to_close(slow) == 1013
            again = await client.ws_connect(f"{base}/history", max_msg_size=0)
            count = await serve.expect('closed 1 more connection 1013 "Client too slow"')
            await again.close()
    finally:
        assert await serve.stop() == 0
    assert (
        '1013 "Client too slow" (ws/history.py:3): more than 16 MiB waited to be sent to the '
        f"client 127.0.0.1:{port}, which cuts off a client that stops reading"
    ) in line, line
    assert "(the last: /api/ws/history)" in count, count
    assert sum("closed /api/ws/history 1013" in ln for ln in serve.lines) == 1


async def test_the_stall_warning_names_the_file_as_other_lines_do(tmp_path: Path) -> None:
    serve, base = await serving(tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"{base}/chat")
            await ws.send_str("block")
            line = await serve.expect("the event loop is blocked")
            (tmp_path / "release").touch()
            assert await ws.receive_str(timeout=10) == "block"
            await ws.close()
    finally:
        assert await serve.stop() == 0
    assert f" in hold (ws/chat.py:{HOLD_LINE}); " in line, line
