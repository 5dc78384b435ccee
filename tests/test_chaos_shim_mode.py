"""Faults around a real `wsside serve --ipc` process, its channel played by the test: a sidecar
killed while a handler file is still importing, Vite killed meanwhile, a TMPDIR too long
for a Unix socket's path."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

from test_handoff import ipc_command
from wsside._edge.control import PROTOCOL_VERSION

WAIT = 10.0
SECRET = "c" * 43
# Blocks the sidecar at import, its event loop included: it reads its stdin, which stays open.
BLOCKING = """
import sys

print("importing", flush=True)
sys.stdin.buffer.read(1)
"""
ECHO = """
from wsside import Handler

echo = Handler("/echo")

@echo.on_message
def message(conn, data):
    conn.send(data)
"""
needs_pidfd = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open (Linux)")


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    for name, code in files.items():
        (handlers / name).write_text(code)
    return handlers


def _spawn(handlers: Path, tmpdir: Path) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """The sidecar as the shim starts it, with a pipe on stdin and stdout."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.settimeout(WAIT)
    env = {
        **os.environ,
        "NODE_CHANNEL_FD": str(theirs.fileno()),
        "WSSIDE_SECRET": SECRET,
        "TMPDIR": str(tmpdir),
    }
    proc = subprocess.Popen(
        ipc_command(handlers),
        env=env,
        pass_fds=(theirs.fileno(),),
        cwd=handlers.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    theirs.close()
    return proc, ours


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Kills `proc` if it still runs, reaps it and closes its pipes."""
    with proc:
        proc.kill()


def _line(stream: IO[bytes] | None, wanted: bytes) -> None:
    """Reads `stream` until the line `wanted` (bounded: the process ends or WAIT passes)."""
    assert stream is not None
    deadline = time.monotonic() + WAIT
    while True:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no line {wanted!r} within {WAIT} s"
        line = stream.readline()
        assert line, f"the process ended before the line {wanted!r}"
        if line.rstrip(b"\n") == wanted:
            return


def _ready(channel: socket.socket) -> dict[str, Any]:
    """The sidecar's `ready` message, within WAIT however many messages come before it."""
    deadline = time.monotonic() + WAIT
    buffer = b""
    while True:
        while b"\n" not in buffer:
            channel.settimeout(max(deadline - time.monotonic(), 0.001))
            data = channel.recv(65536)
            assert data, "the sidecar closed the channel before its ready message"
            buffer += data
        line, buffer = buffer.split(b"\n", 1)
        msg = json.loads(line)
        if msg.get("type") == "ready":
            return msg


def test_a_sidecar_killed_while_a_handler_file_imports_leaves_no_folder(tmp_path: Path) -> None:
    # The shim learns the socket folder's name from `ready`: before it, nobody could remove it.
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc, channel = _spawn(_project(tmp_path, {"slow.py": BLOCKING}), tmpdir)
    try:
        _line(proc.stdout, b"importing")
        proc.kill()
        proc.wait(WAIT)
        assert list(tmpdir.iterdir()) == []
    finally:
        _end(proc)
        channel.close()


# Vite's part: starts the sidecar (argv) with the channel, says its pid, waits to be killed.
PARENT = """
import os, signal, socket, subprocess, sys
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
env = dict(os.environ, NODE_CHANNEL_FD=str(theirs.fileno()), WSSIDE_SECRET="c" * 43)
child = subprocess.Popen(sys.argv[1:], env=env, pass_fds=(theirs.fileno(),))
print(child.pid, flush=True)
signal.pause()
"""


@needs_pidfd
def test_vite_killed_while_a_handler_file_imports_the_sidecar_exits_within_2_s(
    tmp_path: Path,
) -> None:
    # The import blocks the event loop, which watches the channel: a thread watches the parent.
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    handlers = _project(tmp_path, {"slow.py": BLOCKING})
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, *ipc_command(handlers)],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    sidecar: int | None = None
    try:
        sidecar = int(parent.stdout.readline())
        exited = os.pidfd_open(sidecar)
        _line(parent.stdout, b"importing")
        parent.kill()
        parent.wait(WAIT)
        started = time.monotonic()
        ready, _, _ = select.select([exited], [], [], WAIT)
        took = time.monotonic() - started
        os.close(exited)
        assert ready, f"the sidecar still runs {WAIT} s after its parent was killed"
        assert took < 2.0, f"the sidecar took {took:.2f} s to exit"
        assert list(tmpdir.iterdir()) == []
    finally:
        _end(parent)
        if sidecar is not None:
            try:
                os.kill(sidecar, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_tmpdir_too_long_for_a_socket_path_still_serves_and_is_cleaned_up(
    tmp_path: Path,
) -> None:
    tmpdir = tmp_path / ("t" * 100)
    tmpdir.mkdir()
    proc, channel = _spawn(_project(tmp_path, {"echo.py": ECHO}), tmpdir)
    try:
        path = _ready(channel)["socket"]
        assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(WAIT)
            client.connect(path)
            client.sendall(
                b"GET /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\nx-wsside-secret: " + SECRET.encode() + b"\r\n\r\n"
            )
            assert client.recv(65536).startswith(b"HTTP/1.1 101")
        channel.sendall(
            json.dumps({"wsside": PROTOCOL_VERSION, "type": "shutdown"}).encode() + b"\n"
        )
        assert proc.wait(WAIT) == 0
        assert not os.path.exists(os.path.dirname(path))
    finally:
        _end(proc)
        channel.close()
