"""A client that never answers the close frame is cut off (at the shutdown's budget, or at the
closing handshake's own timeout), and the log says so: its access line, and the stop line of
`wsside serve`. A client that answers gets the plain line; one that sent its own close but
reads nothing more gets words of its own. A real `wsside serve`, real sockets: aiohttp for the
client that answers, a raw socket that reads nothing for the one that does not."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from pathlib import Path

import aiohttp

from serve_process import ServeProcess, free_port

HANDLERS = """\
from wsside import Handler

chat = Handler("/ws/chat")


@chat.on_message
async def bye(conn, data):
    if data == "fill":  # more than the sockets' buffers hold, less than the send limit
        for _ in range(8):
            conn.send("x" * 1024 * 1024)
    else:
        await conn.close(4000, "bye")
"""

UPGRADE = (
    "GET /api/ws/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)


def masked(opcode: int, payload: bytes) -> bytes:
    """A client's frame (clients mask what they send), with a short payload."""
    key = bytes([1, 2, 3, 4])
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + body


HI = masked(0x1, b"hi")


async def silent_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int]:
    """An open WebSocket whose client will never read again (nor answer a close frame): its
    streams and its local port. Its receive buffer is small, so that what the server sends
    soon waits in the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(UPGRADE.encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return reader, writer, writer.get_extra_info("sockname")[1]


def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text(HANDLERS)
    return tmp_path


async def test_sigterm_a_client_that_does_not_answer_is_cut_and_the_log_says_so(
    tmp_path: Path,
) -> None:
    port = free_port()
    serve = await ServeProcess.start(
        "--port", str(port), "--no-reload", "--shutdown-timeout", "1", cwd=project(tmp_path)
    )
    try:
        await serve.expect("serving on")
        silent = [await silent_client(port) for _ in range(2)]
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/chat")
            answering = ws.get_extra_info("sockname")[1]
            await serve.expect_all(*(f":{p} - " for *_, p in silent), f":{answering} - ")
            serve.proc.send_signal(signal.SIGTERM)
            msg = await ws.receive()  # aiohttp answers the close frame
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)
            stopped = await serve.expect("stopped in")
        assert await asyncio.wait_for(serve.proc.wait(), 10) == 0
        for _, writer, _ in silent:
            writer.close()
    finally:
        await serve.stop()  # only when it is still running (the test failed)
    closed = {
        port: line for line in serve.lines if (port := _client_port(line)) and " closed " in line
    }
    assert re.search(
        r'"WebSocket /api/ws/chat" closed 1001 "Going Away" by the server after \d+\.\d s\n$',
        closed[answering],
    )
    for *_, p in silent:
        assert re.search(
            r'"WebSocket /api/ws/chat" closed 1001 "Going Away" by the server after \d+\.\d s '
            r"\(no answer to the close: cut\)\n$",
            closed[p],
        ), closed[p]
    assert re.search(
        r"wsside: stopped in \d+\.\d\d s; 2 connections did not answer the close and were cut\n$",
        stopped,
    ), stopped


async def test_a_close_the_client_never_answers_is_cut_at_the_close_timeout(
    tmp_path: Path,
) -> None:
    """Not only at a stop: a handler's close the client never answers is cut after
    CLOSE_TIMEOUT (5 s), and its access line says so; the stop after it has nothing to cut."""
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=project(tmp_path))
    try:
        await serve.expect("serving on")
        _, writer, local = await silent_client(port)
        writer.write(HI)  # the handler answers with its close frame, which is never read
        line = await serve.expect(f':{local} - "WebSocket /api/ws/chat" closed', timeout=15)
        writer.close()
        serve.proc.send_signal(signal.SIGTERM)
        stopped = await serve.expect("stopped in")
        assert await asyncio.wait_for(serve.proc.wait(), 10) == 0
    finally:
        await serve.stop()  # only when it is still running (the test failed)
    assert re.search(
        r'closed 4000 "bye" by the server after \d+\.\d s \(no answer to the close: cut\)\n$', line
    ), line
    assert re.search(r"stopped in \d+\.\d\d s\n$", stopped), stopped


def _client_port(line: str) -> int | None:
    found = re.search(r" 127\.0\.0\.1:(\d+) - ", line)
    return int(found.group(1)) if found else None


async def test_under_workers_the_worker_that_cut_a_client_says_so(tmp_path: Path) -> None:
    """The parent's `every worker stopped in` line has no count of its own: the worker that
    cut a client writes one line of it."""
    port = free_port()
    serve = await ServeProcess.start(
        "--port",
        str(port),
        "--no-reload",
        "--workers",
        "2",
        "--shutdown-timeout",
        "1",
        cwd=project(tmp_path),
    )
    try:
        await serve.expect("serving on", timeout=30)
        _, writer, local = await silent_client(port)
        await serve.expect(f":{local} - ")
        serve.proc.send_signal(signal.SIGTERM)
        cut = await serve.expect("did not answer the close")
        await serve.expect("every worker stopped in")
        assert await asyncio.wait_for(serve.proc.wait(), 10) == 0
        writer.close()
    finally:
        await serve.stop()  # only when it is still running (the test failed)
    assert re.search(r"wsside\[\d\]: 1 connection did not answer the close and was cut\n$", cut)
    closed = next(line for line in serve.lines if f":{local} - " in line and " closed " in line)
    assert closed.endswith(" (no answer to the close: cut)\n"), closed


async def test_a_client_that_closes_but_reads_no_more_is_cut_at_the_close_timeout(
    tmp_path: Path,
) -> None:
    """The client sends its close frame, but does not read the messages queued before the
    answer to it: cut after CLOSE_TIMEOUT (5 s), with the words for that case."""
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=project(tmp_path))
    try:
        await serve.expect("serving on")
        reader, writer, local = await silent_client(port)
        writer.write(masked(0x1, b"fill"))
        # The first message's head: the handler has queued all 8 (one callback, no await).
        assert (await asyncio.wait_for(reader.readexactly(2), 5))[0] == 0x81
        writer.write(masked(0x8, (1000).to_bytes(2, "big")))
        line = await serve.expect(f':{local} - "WebSocket /api/ws/chat" closed', timeout=15)
        writer.close()
    finally:
        await serve.stop()
    assert re.search(
        r"closed 1000 by the client after \d+\.\d s \(the client read no more: cut\)\n$", line
    ), line
