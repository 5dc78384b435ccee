"""A reconnect storm that meets a busy moment (a stall, a deploy) waits in the kernel's queue
instead of being dropped: `wsside serve` listens with a backlog of 2048 (uvicorn's), where
aiohttp's own 128 made the kernel drop every SYN past it, to be retried a second or more
later. Asked of a real `wsside serve`, stopped (SIGSTOP) while 300 clients connect."""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from pathlib import Path

from serve_process import ServeProcess, free_port

CLIENTS = 300  # past aiohttp's 128, well within the kernel's cap (somaxconn)


def connected_within(port: int, seconds: float) -> tuple[int, list[socket.socket]]:
    """How many of CLIENTS connections to `port` the kernel completed within `seconds`: it
    answers a SYN only while the listener's queue has room."""
    pending: dict[int, socket.socket] = {}
    for _ in range(CLIENTS):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        pending[sock.fileno()] = sock
    done: list[socket.socket] = []
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    deadline = time.monotonic() + seconds
    while pending and (left := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(left * 1000):
            poller.unregister(fd)
            sock = pending.pop(fd)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(sock)
    return len(done), [*done, *pending.values()]


async def test_a_storm_while_the_server_is_busy_waits_in_the_queue(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text('from wsside import Handler\nHandler("/ws/echo")\n')
    port = free_port()
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path)
    sockets: list[socket.socket] = []
    try:
        await serve.expect("serving on")
        os.kill(serve.proc.pid, signal.SIGSTOP)  # busy: accepting nothing
        try:
            # The kernel completes handshakes for the queue without the process; with a
            # backlog of 128, the rest would wait for SYN retries (1 s, then 3 s), dropped
            # again while the queue stays full.
            count, sockets = connected_within(port, 2.0)
        finally:
            os.kill(serve.proc.pid, signal.SIGCONT)
        assert count == CLIENTS
    finally:
        for sock in sockets:
            sock.close()
        assert await serve.stop() == 0
