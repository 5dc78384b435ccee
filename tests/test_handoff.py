"""Shim mode over a real Node-style IPC channel: this test plays the shim's part (JSON lines
on a socketpair, client sockets passed with SCM_RIGHTS) against a real `wsside serve --ipc`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from wsside.control import PROTOCOL_VERSION

SPY = (Path(__file__).parent / "shim" / "handlers" / "spy.py").read_text()
SECRET = "s" * 43
WAIT = 10.0


class Shim:
    """The parent end of the IPC channel, and the sidecar process behind it."""

    def __init__(self, handlers: Path) -> None:
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT)
        env = {**os.environ, "NODE_CHANNEL_FD": str(child.fileno()), "WSSIDE_SECRET": SECRET}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wsside", "serve", "--ipc", "--no-reload",
             "--handlers", str(handlers)],
            env=env, pass_fds=(child.fileno(),), cwd=handlers.parent,
        )
        child.close()
        self.buffer = b""
        self.clients: list[socket.socket] = []

    def read(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            assert data, "the sidecar closed the channel"
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def read_until(self, key: str, value: str) -> dict[str, Any]:
        while True:
            msg = self.read()
            if msg.get(key) == value:
                return msg

    def send(self, msg: dict[str, Any], fds: list[int] = []) -> None:
        socket.send_fds(self.sock, [json.dumps(msg).encode() + b"\n"], fds)

    def hand_over(self, path: str) -> socket.socket:
        """A connected client whose server side is handed over, as the shim does."""
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname())
            accepted, _ = listener.accept()
        self.send({"cmd": "NODE_HANDLE", "type": "net.Socket", "key": "4:127.0.0.1:5173",
                   "msg": {"wsside": PROTOCOL_VERSION, "type": "connection",
                           "head": _upgrade_head(path).decode("latin-1")}}, [accepted.fileno()])
        accepted.close()
        assert self.read_until("cmd", "NODE_HANDLE_ACK")
        client.settimeout(WAIT)
        self.clients.append(client)
        return client


def _upgrade_head(path: str, extra: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode()


def _response_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _send_text(sock: socket.socket, text: str) -> None:
    payload = text.encode()
    mask = b"\x01\x02\x03\x04"
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _read_frame(sock: socket.socket, buffered: bytes = b"") -> tuple[int, bytes]:
    data = buffered
    while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
        chunk = sock.recv(65536)
        assert chunk, "closed before a frame"
        data += chunk
    return data[0] & 0x0F, data[2:2 + (data[1] & 0x7F)]


@pytest.fixture
def shim(tmp_path: Path) -> Iterator[Shim]:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "spy.py").write_text(SPY)
    running = Shim(handlers)
    yield running
    if running.proc.poll() is None:
        running.proc.kill()
    running.proc.wait(WAIT)
    running.sock.close()
    for client in running.clients:
        client.close()


def test_ready_then_handed_over_socket_echoes_and_shutdown_sends_1001(shim: Shim) -> None:
    ready = shim.read_until("type", "ready")
    assert ready["wsside"] == PROTOCOL_VERSION and ready["pid"] == shim.proc.pid
    assert [h["path"] for h in ready["handlers"]] == ["/api/spy"]
    client = shim.hand_over("/api/spy")
    head, rest = _response_head(client)
    assert head.startswith(b"HTTP/1.1 101")
    opcode, payload = _read_frame(client, rest)
    assert json.loads(payload) == {"secret_seen": False}
    _send_text(client, "hello")
    assert _read_frame(client) == (0x1, b"hello")

    shim.send({"cmd": "NODE_SOCKET_GET_COUNT", "key": "4:127.0.0.1:5173"})
    assert shim.read_until("cmd", "NODE_SOCKET_COUNT")["count"] == 1
    shim.send({"cmd": "NODE_SOCKET_NOTIFY_CLOSE", "key": "4:127.0.0.1:5173"})
    assert shim.read_until("cmd", "NODE_SOCKET_ALL_CLOSED")["key"] == "4:127.0.0.1:5173"

    shim.send({"wsside": PROTOCOL_VERSION, "type": "shutdown"})
    opcode, payload = _read_frame(client)
    assert opcode == 0x8 and payload[:2] == (1001).to_bytes(2, "big")
    assert shim.proc.wait(WAIT) == 0


def test_unix_listener_requires_the_secret_and_hides_it(shim: Shim) -> None:
    path = shim.read_until("type", "ready")["socket"]
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    with socket.socket(socket.AF_UNIX) as anonymous:
        anonymous.settimeout(WAIT)
        anonymous.connect(path)
        anonymous.sendall(_upgrade_head("/api/spy"))
        assert _response_head(anonymous)[0].startswith(b"HTTP/1.1 403")
    with socket.socket(socket.AF_UNIX) as wrong:
        wrong.settimeout(WAIT)
        wrong.connect(path)
        wrong.sendall(_upgrade_head("/api/spy", "x-wsside-secret: nope\r\n"))
        assert _response_head(wrong)[0].startswith(b"HTTP/1.1 403")
    with socket.socket(socket.AF_UNIX) as shim_side:
        shim_side.settimeout(WAIT)
        shim_side.connect(path)
        shim_side.sendall(_upgrade_head("/api/spy", f"x-wsside-secret: {SECRET}\r\n"))
        head, rest = _response_head(shim_side)
        assert head.startswith(b"HTTP/1.1 101")
        assert json.loads(_read_frame(shim_side, rest)[1]) == {"secret_seen": False}


def test_channel_eof_stops_the_sidecar_within_2_s(shim: Shim) -> None:
    shim.read_until("type", "ready")
    client = shim.hand_over("/api/spy")
    _response_head(client)
    started = time.monotonic()
    shim.sock.close()
    assert shim.proc.wait(WAIT) == 0
    assert time.monotonic() - started < 2.0


def test_protocol_mismatch_is_a_clear_error(shim: Shim) -> None:
    shim.read_until("type", "ready")
    shim.send({"wsside": 99, "type": "shutdown"})
    error = shim.read_until("type", "protocol_error")
    assert "shim speaks version 99" in error["message"] and "wsside doctor" in error["message"]
    assert shim.proc.wait(WAIT) == 3
