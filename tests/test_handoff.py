"""Shim mode over a real Node-style IPC channel: this test plays the shim's part (JSON lines
on a socketpair, client sockets passed with SCM_RIGHTS) against a real `wsside serve --ipc`."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from wsside._edge.control import PROTOCOL_VERSION

needs_uvloop = pytest.mark.skipif(
    importlib.util.find_spec("uvloop") is None, reason="uvloop not installed (wsside[speed])"
)
SPY = (Path(__file__).parent / "shim" / "handlers" / "spy.py").read_text()
SECRET = "s" * 43
WAIT = 10.0


def ipc_command(handlers: Path, reload: bool = False) -> list[str]:
    """The sidecar's command line under the shim, serving the files in `handlers`."""
    return [
        sys.executable,
        "-m",
        "wsside",
        "serve",
        "--ipc",
        *(() if reload else ("--no-reload",)),
        "--handlers",
        str(handlers),
    ]


class Shim:
    """The parent end of the IPC channel, and the sidecar process behind it."""

    def __init__(self, handlers: Path, loop: str = "auto", reload: bool = False) -> None:
        self.loop = loop
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT)
        env = {
            **os.environ,
            "NODE_CHANNEL_FD": str(child.fileno()),
            "WSSIDE_SECRET": SECRET,
            "WSSIDE_LOOP": loop,
        }
        self.proc = subprocess.Popen(
            ipc_command(handlers, reload),
            env=env,
            pass_fds=(child.fileno(),),
            cwd=handlers.parent,
        )
        child.close()
        self.buffer = b""
        self.clients: list[socket.socket] = []
        self._ready: dict[str, Any] | None = None

    def ready(self) -> dict[str, Any]:
        """The sidecar's first `ready` message (read once, then kept)."""
        if self._ready is None:
            self._ready = self.read_until("type", "ready")
        return self._ready

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        self.sock.close()
        for client in self.clients:
            client.close()

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

    def send(self, msg: dict[str, Any], fds: Sequence[int] = ()) -> None:
        socket.send_fds(self.sock, [json.dumps(msg).encode() + b"\n"], fds)

    def hand_over(
        self,
        path: str,
        head: bytes | None = None,
        host: str = "127.0.0.1",
        server_side: list[socket.socket] | None = None,
        **fields: Any,
    ) -> socket.socket:
        """A connected client whose server side is handed over, as the shim does, with the
        request `head` (by default a valid upgrade of `path`) and the message's other
        `fields`. `server_side` receives our copy of the server's end, if given."""
        with socket.create_server(
            (host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET
        ) as listener:
            client = socket.create_connection(listener.getsockname()[:2])
            accepted, _ = listener.accept()
        head = _upgrade_head(path) if head is None else head
        self.send(
            {
                "cmd": "NODE_HANDLE",
                "type": "net.Socket",
                "key": "4:127.0.0.1:5173",
                "msg": {
                    "wsside": PROTOCOL_VERSION,
                    "type": "connection",
                    "head": head.decode("latin-1"),
                    **fields,
                },
            },
            [accepted.fileno()],
        )
        if server_side is None:
            accepted.close()
        else:
            server_side.append(accepted)
        assert self.read_until("cmd", "NODE_HANDLE_ACK")
        client.settimeout(WAIT)
        self.clients.append(client)
        return client


def _upgrade_head(path: str, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


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
    sock.sendall(
        bytes([0x81, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


def _read_frame(sock: socket.socket, buffered: bytes = b"") -> tuple[int, bytes]:
    """One unmasked server frame (7- or 16-bit length); bytes read past it are dropped."""
    opcode, payload, _ = _next_frame(sock, buffered)
    return opcode, payload


def _next_frame(sock: socket.socket, buffered: bytes = b"") -> tuple[int, bytes, bytes]:
    """One unmasked server frame, and the bytes read past it."""
    data = buffered

    def need(n: int) -> None:
        nonlocal data
        while len(data) < n:
            chunk = sock.recv(65536)
            assert chunk, "closed before a frame"
            data += chunk

    need(2)
    length, start = data[1] & 0x7F, 2
    if length == 126:
        need(4)
        length, start = int.from_bytes(data[2:4], "big"), 4
    need(start + length)
    return data[0] & 0x0F, data[start : start + length], data[start + length :]


# Handshake options (subprotocols, deflate) and both kinds of `authenticate`; every handler
# says what it saw of the request, then echoes.
GUARDED = """
import asyncio
from wsside import Deflate, Handler

def tell(conn, request):
    conn.send({"path": request.path, "query": dict(request.query), "cookies": dict(request.cookies),
               "remote": request.remote, "subprotocol": conn.subprotocol,
               "metadata": conn.metadata, "x": request.headers.getall("X-Multi", []),
               "scope": request.scope})

def echo(conn, data):
    conn.send(data)

def sync_check(request):
    if request.headers.get("Authorization") == "ok":
        return {"user": request.headers["Authorization"]}
    return False

async def async_check(request):
    await asyncio.sleep(0)
    if request.headers.get("Authorization") == "boom":
        raise RuntimeError("authenticate failed on purpose")
    return {"user": "async"} if request.headers.get("Authorization") == "ok" else None

gate = asyncio.Event()

async def gated_check(request):
    await gate.wait()
    return True

def open_gate(conn, request):
    gate.set()

options = dict(on_connect=tell, on_message=echo, subprotocols=["b", "a"])
Handler("/gated", authenticate=gated_check, on_message=echo)
Handler("/opener", on_connect=open_gate)
Handler("/sync", authenticate=sync_check, **options)
Handler("/async", authenticate=async_check, **options)
Handler("/deflate", per_message_deflate=Deflate(strict=True, client_max_window_bits=10), **options)
"""


LOOPS = ["asyncio", pytest.param("uvloop", marks=needs_uvloop)]


def _started(folder: Path, loop: str) -> Shim:
    handlers = folder / "ws"
    handlers.mkdir()
    (handlers / "spy.py").write_text(SPY)
    (handlers / "guarded.py").write_text(GUARDED)
    return Shim(handlers, loop)


# Both event loops: wsside's transport uses each one's reader and writer API.
@pytest.fixture(params=LOOPS)
def shim(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Shim]:
    """A sidecar of its own: for a test that stops it, or whose handlers keep state."""
    running = _started(tmp_path, request.param)
    yield running
    running.stop()


@pytest.fixture(scope="module", params=LOOPS)
def shared(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Shim]:
    """One sidecar per event loop for the tests that each hand over connections of their own
    and leave it serving as it was: a start costs more than most of them."""
    running = _started(tmp_path_factory.mktemp("shared"), request.param)
    yield running
    running.stop()


def test_ready_then_handed_over_socket_echoes_and_shutdown_sends_1001(shim: Shim) -> None:
    ready = shim.ready()
    assert ready["wsside"] == PROTOCOL_VERSION and ready["pid"] == shim.proc.pid
    assert sorted(h["path"] for h in ready["handlers"]) == [
        "/api/async",
        "/api/deflate",
        "/api/gated",
        "/api/opener",
        "/api/spy",
        "/api/sync",
    ]
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
    path = shim.ready()["socket"]
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


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="no /proc")
def test_the_secret_is_not_left_in_the_sidecar_s_initial_environment(shim: Shim) -> None:
    """Another process of the same user reads /proc/<pid>/environ: the environment block
    written at exec, which removing the variable from os.environ does not change."""
    shim.ready()
    environ = Path(f"/proc/{shim.proc.pid}/environ").read_bytes()
    assert b"NODE_CHANNEL_FD=" in environ  # the block is readable, and this is the sidecar's
    assert SECRET.encode() not in environ


def test_channel_eof_stops_the_sidecar_within_2_s(shim: Shim) -> None:
    shim.ready()
    client = shim.hand_over("/api/spy")
    _response_head(client)
    started = time.monotonic()
    shim.sock.close()
    assert shim.proc.wait(WAIT) == 0
    assert time.monotonic() - started < 2.0


def test_protocol_mismatch_is_a_clear_error(shim: Shim) -> None:
    shim.ready()
    shim.send({"wsside": 99, "type": "shutdown"})
    error = shim.read_until("type", "protocol_error")
    assert "shim speaks version 99" in error["message"] and "wsside doctor" in error["message"]
    assert shim.proc.wait(WAIT) == 3


def test_a_handed_over_socket_of_another_protocol_version_is_the_same_clear_error(
    shim: Shim,
) -> None:
    shim.ready()
    client, server = socket.socketpair()
    message = {"wsside": 99, "type": "connection", "head": _upgrade_head("/api/spy").decode()}
    shim.send({"cmd": "NODE_HANDLE", "type": "net.Socket", "msg": message}, [server.fileno()])
    server.close()
    error = shim.read_until("type", "protocol_error")
    assert "shim speaks version 99" in error["message"]
    assert shim.proc.wait(WAIT) == 3
    client.settimeout(WAIT)
    assert client.recv(1) == b""  # the socket was closed, not served
    client.close()


LINGERING = """
from pathlib import Path
from wsside import Handler

h = Handler("/lingering")

@h.on_close
def gone(conn, code, reason, by_client):
    (Path(__file__).parent / "on_close.txt").write_text(str(code))
"""


@pytest.mark.parametrize("how", ["shutdown", "eof"])
def test_a_client_that_never_closes_is_cut_off_in_time_and_its_on_close_runs(
    tmp_path: Path, how: str
) -> None:
    """The shim's budget holds (5 s after `shutdown`, 2 s after the channel's end) and the
    close goes all the way: the silent client is aborted and `on_close` still runs."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "lingering.py").write_text(LINGERING)
    shim = Shim(handlers)
    try:
        shim.ready()
        client = shim.hand_over("/api/lingering")
        assert _response_head(client)[0].startswith(b"HTTP/1.1 101")
        started = time.monotonic()
        if how == "shutdown":
            shim.send({"wsside": PROTOCOL_VERSION, "type": "shutdown"})
        else:
            shim.sock.close()
        assert _read_frame(client)[0] == 0x8  # the close frame, left unanswered
        assert shim.proc.wait(WAIT) == 0
        took = time.monotonic() - started
        assert took < (5.0 if how == "shutdown" else 2.0), took
        assert (handlers / "on_close.txt").read_text() == "1001"
    finally:
        shim.stop()


# What a handed-over socket is answered (wsside's own intake) must be what the same request
# gets through aiohttp (the listener the shim pipes to): status, body, WebSocket headers.
def _swap(name: str, value: str | None, path: str = "/api/spy", extra: str = "") -> bytes:
    head = _upgrade_head(path, extra).decode("latin-1").split("\r\n")
    kept = [h for h in head if not h.lower().startswith(name.lower() + ":")]
    if value is not None:
        kept.insert(2, f"{name}: {value}")
    return "\r\n".join(kept).encode("latin-1")


HEADS = [
    ("valid", _upgrade_head("/api/spy")),
    ("missing key", _swap("Sec-WebSocket-Key", None)),
    ("short key", _swap("Sec-WebSocket-Key", "short")),
    ("key not base64", _swap("Sec-WebSocket-Key", "!" * 22 + "==")),
    ("non-ASCII key", _swap("Sec-WebSocket-Key", "\xff" * 24)),
    ("key twice", _upgrade_head("/api/spy", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n")),
    ("version twice", _upgrade_head("/api/spy", "Sec-WebSocket-Version: 13\r\n")),
    ("version 99", _swap("Sec-WebSocket-Version", "99")),
    ("no version", _swap("Sec-WebSocket-Version", None)),
    ("non-ASCII version", _swap("Sec-WebSocket-Version", "\xff")),
    ("Connection: keep-alive", _swap("Connection", "keep-alive")),
    ("Connection: keep-alive, Upgrade", _swap("Connection", "keep-alive, Upgrade")),
    ("non-ASCII Connection", _swap("Connection", "\x80")),
    ("Upgrade: h2c", _swap("Upgrade", "h2c")),
    ("POST", _upgrade_head("/api/spy").replace(b"GET", b"POST", 1)),
    ("no handler", _upgrade_head("/api/nope")),
    ("outside the prefix", _upgrade_head("/spy")),
    (
        "foreign Origin (the shim judges Origin)",
        _upgrade_head("/api/spy", "Origin: http://evil.example\r\n"),
    ),
    (
        "subprotocols: server order wins",
        _upgrade_head("/api/sync", "Authorization: ok\r\nSec-WebSocket-Protocol: a, b\r\n"),
    ),
    (
        "subprotocols: none shared",
        _upgrade_head("/api/sync", "Authorization: ok\r\nSec-WebSocket-Protocol: c\r\n"),
    ),
    ("sync authenticate refuses", _upgrade_head("/api/sync", "Authorization: no\r\n")),
    ("async authenticate refuses", _upgrade_head("/api/async")),
    ("async authenticate raises", _upgrade_head("/api/async", "Authorization: boom\r\n")),
    (
        "async authenticate, then bad key",
        _swap("Sec-WebSocket-Key", "short", "/api/async", "Authorization: ok\r\n"),
    ),
    (
        "deflate offer",
        _upgrade_head(
            "/api/deflate",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        ),
    ),
    (
        "deflate offer refused (strict)",
        _upgrade_head(
            "/api/deflate",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n",
        ),
    ),
]


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    head, rest = _response_head(sock)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    if int(status_line.split(" ")[1]) != 101:
        while len(rest) < int(headers["content-length"]):
            rest += sock.recv(65536)
        assert sock.recv(1) == b"", "a refusal must close the connection"
    ws_headers = {
        k: v
        for k, v in headers.items()
        if k.startswith("sec-websocket") or k in ("upgrade", "connection", "allow")
    }
    return int(status_line.split(" ")[1]), ws_headers, rest


@pytest.mark.parametrize("case,head", HEADS, ids=[c for c, _ in HEADS])
def test_a_handed_over_request_is_answered_as_through_aiohttp(
    shared: Shim, case: str, head: bytes
) -> None:
    path = shared.ready()["socket"]
    handed = _answer(shared.hand_over("", head))
    with socket.socket(socket.AF_UNIX) as piped_sock:
        piped_sock.settimeout(WAIT)
        piped_sock.connect(path)
        piped_sock.sendall(
            head.replace(b"\r\n\r\n", f"\r\nx-wsside-secret: {SECRET}\r\n\r\n".encode())
        )
        piped = _answer(piped_sock)
    if piped[0] != 101:
        assert handed == piped
        assert (piped[1].get("allow") == "GET") == (piped[0] == 405), piped
    else:  # the first frame (on_connect's report) differs only in `remote`
        assert handed[:2] == piped[:2]
        assert handed[1]["connection"] == "upgrade" and "sec-websocket-accept" in handed[1]


def test_a_handed_over_socket_sees_the_request_and_the_bytes_that_came_with_it(
    shared: Shim,
) -> None:
    shared.ready()
    frame = bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])
    for path in ("/api/sync", "/api/async"):
        head = _upgrade_head(
            f"{path}?a=1&a=2&b=%C3%A9",
            "Authorization: ok\r\nCookie: c=1; d=two; c=of-a-shorter-path\r\n"
            "X-Multi: 1\r\nX-Multi: 2\r\nSec-WebSocket-Protocol: a\r\n",
        )
        client = shared.hand_over("", head + frame)  # a message sent before the 101 arrived
        status, headers, rest = _answer(client)
        assert status == 101 and headers["sec-websocket-protocol"] == "a"
        # on_connect's frame and the echo may come with the 101 or in a later read: what is
        # read past the first is kept.
        _opcode, payload, rest = _next_frame(client, rest)
        seen = json.loads(payload)
        assert seen == {
            "path": path,
            "query": {"a": "1", "b": "é"},
            "cookies": {"c": "1", "d": "two"},
            "remote": "127.0.0.1",
            "subprotocol": "a",
            "metadata": {"user": "ok" if path == "/api/sync" else "async"},
            "x": ["1", "2"],
            "scope": None,  # only ASGIApp has an ASGI scope
        }
        assert _read_frame(client, rest) == (0x1, b"hi")
        _send_text(client, "again")
        assert _read_frame(client) == (0x1, b"again")


def _ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@pytest.mark.parametrize(
    "host,family", [("127.0.0.1", "IPv4"), ("::1", "IPv6"), ("127.0.0.1", None)]
)
def test_a_socket_handed_over_with_its_family_knows_its_peer(
    shared: Shim, host: str, family: str | None
) -> None:
    """The shim names the socket's family (the sidecar then need not ask the kernel); without
    it the sidecar finds out itself."""
    if ":" in host and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    shared.ready()
    fields = {} if family is None else {"family": family}
    client = shared.hand_over(
        "", _upgrade_head("/api/sync", "Authorization: ok\r\n"), host=host, **fields
    )
    status, _, rest = _answer(client)
    assert status == 101
    assert json.loads(_read_frame(client, rest)[1])["remote"] == host


def test_the_sidecar_sets_tcp_nodelay_unless_the_shim_did(shared: Shim) -> None:
    shared.ready()
    ours: list[socket.socket] = []
    for fields in ({}, {"noDelay": True}):
        client = shared.hand_over("/api/spy", server_side=ours, **fields)
        status, _, rest = _answer(client)
        assert status == 101
        # on_connect's message: the session is open
        assert json.loads(_read_frame(client, rest)[1]) == {"secret_seen": False}
    # The same socket as the sidecar's: it set the option on the first; on the second it
    # trusted the shim (which sets it before handing over; this test did not).
    assert [s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0 for s in ours] == [
        True,
        False,
    ]
    for s in ours:
        s.close()


def test_a_client_that_leaves_during_async_authenticate_costs_nothing(shared: Shim) -> None:
    shared.ready()
    gone = shared.hand_over("", _upgrade_head("/api/async", "Authorization: ok\r\n"))
    gone.close()
    survivor = shared.hand_over("/api/spy")
    status, _, rest = _answer(survivor)
    assert status == 101
    assert json.loads(_read_frame(survivor, rest)[1]) == {"secret_seen": False}
    assert shared.proc.poll() is None


def test_a_client_that_resets_or_half_closes_at_once_costs_nothing(shared: Shim) -> None:
    """The client ends its side within the hand-over, before or after its session opens: the
    sidecar lets it go and serves the next one."""
    shared.ready()
    reset = shared.hand_over("/api/spy")
    reset.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reset.close()  # RST
    half = shared.hand_over(
        "", _upgrade_head("/api/spy") + bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])
    )
    half.shutdown(socket.SHUT_WR)  # a message, then EOF
    status, _, rest = _answer(half)
    assert status == 101
    while True:  # whatever frames were sent before the sidecar closed, then the end
        chunk = half.recv(65536)
        if not chunk:
            break
    survivor = shared.hand_over("/api/spy")
    status, _, rest = _answer(survivor)
    assert status == 101
    assert json.loads(_read_frame(survivor, rest)[1]) == {"secret_seen": False}
    _send_text(survivor, "still here")
    assert _read_frame(survivor) == (0x1, b"still here")
    assert shared.proc.poll() is None


def test_bytes_sent_during_an_async_authenticate_are_not_lost(shim: Shim) -> None:
    shim.ready()
    waiting = shim.hand_over("/api/gated")  # ACKed: its authenticate is now waiting
    _send_text(waiting, "early")  # sent before any answer came
    opener = shim.hand_over("/api/opener")
    assert _answer(opener)[0] == 101
    status, _, rest = _answer(waiting)
    assert status == 101
    assert _read_frame(waiting, rest) == (0x1, b"early")


async def test_a_handed_over_connection_gets_its_frame_parser_only_when_it_needs_one(
    tmp_path: Path,
) -> None:
    """In-process: a connection that only listens, or only sends whole small messages, keeps
    no parser; the first frame that is not such a message (a ping here) makes one."""
    import asyncio

    from wsside._edge.handoff import take_over
    from wsside._edge.server import Sidecar
    from wsside._runtime.settings import Settings

    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "spy.py").write_text(SPY)
    sidecar = Sidecar(Settings(handlers_dir=handlers, reload=False, secret=SECRET))
    await sidecar.start()
    loop = asyncio.get_running_loop()
    try:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname())
            accepted, _ = listener.accept()
        with client:
            take_over(sidecar.intake, accepted, _upgrade_head("/api/spy"))
            client.setblocking(False)
            data = b""
            while b"\r\n\r\n" not in data:
                data += await loop.sock_recv(client, 65536)
            assert data.startswith(b"HTTP/1.1 101")
            (session,) = sidecar.intake.sessions
            stream = session._stream
            client.setblocking(True)
            client.settimeout(WAIT)
            # Blocking reads run in a thread: the sidecar's loop is this one.
            report = await asyncio.to_thread(_read_frame, client, data.partition(b"\r\n\r\n")[2])
            assert json.loads(report[1]) == {"secret_seen": False}
            assert stream.reader is None  # on_connect has sent; the client has sent nothing
            _send_text(client, "first")
            assert await asyncio.to_thread(_read_frame, client) == (0x1, b"first")
            assert stream.reader is None  # a whole small text frame skips the parser
            mask = b"\x01\x02\x03\x04"
            client.sendall(
                bytes([0x89, 0x82]) + mask + bytes(b ^ mask[i] for i, b in enumerate(b"hi"))
            )
            assert await asyncio.to_thread(_read_frame, client) == (0xA, b"hi")
            assert stream.reader is not None
            _send_text(client, "second")  # and after it, the next message still arrives
            assert await asyncio.to_thread(_read_frame, client) == (0x1, b"second")
    finally:
        await sidecar.close()


def test_the_ack_goes_before_a_blocking_on_connect_runs(tmp_path: Path) -> None:
    # The shim gives up on a hand-over whose ACK is late (503); a connection the sidecar has
    # already answered with its 101 must never be the one it gives up on.
    handlers = tmp_path / "ws"
    handlers.mkdir()
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    (handlers / "blocking.py").write_text(f"""
from wsside import Handler

def hello(conn, request):
    with open({str(gate)!r}) as released:  # blocks the event loop until the test writes
        conn.send(released.read())

Handler("/blocking", on_connect=hello)
""")
    shim = Shim(handlers)
    try:
        shim.ready()
        client = shim.hand_over("/api/blocking")  # returns once the ACK arrived
        with open(gate, "w") as release:
            release.write("released")
        head, rest = _response_head(client)
        assert head.startswith(b"HTTP/1.1 101")
        assert _read_frame(client, rest) == (0x1, b"released")
    finally:
        shim.stop()


def test_nothing_reaches_a_client_before_the_channel_has_taken_its_ack(shim: Shim) -> None:
    # The shim gives a socket whose sidecar died before Node read its ACK to the restarted
    # sidecar, so that socket must be unanswered: while Node does not read the channel (busy,
    # the channel's buffer full), a handed-over socket waits for its ACK to be written.
    shim.ready()
    query = json.dumps({"cmd": "NODE_SOCKET_GET_COUNT", "key": "k"}).encode() + b"\n"
    shim.sock.sendall(query * 5_000)  # each answered; unread, they fill the channel
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    head = _upgrade_head("/api/spy").decode("latin-1")
    message = {"wsside": PROTOCOL_VERSION, "type": "connection", "head": head}
    shim.send({"cmd": "NODE_HANDLE", "type": "net.Socket", "msg": message}, [accepted.fileno()])
    accepted.close()
    shim.clients.append(client)
    client.settimeout(1.0)  # no event to wait for: nothing must come
    with pytest.raises(TimeoutError):
        client.recv(1)
    assert shim.read_until("cmd", "NODE_HANDLE_ACK")
    client.settimeout(WAIT)
    answer, _ = _response_head(client)
    assert answer.startswith(b"HTTP/1.1 101")


TALK = """
import asyncio
from wsside import Handler

talk = Handler("/talk")

@talk.on_message
async def reply(conn, data):
    if data == "writer?":  # which transport the connection's writer calls (white-box)
        await conn.send(type(conn._link._io.transport).__module__.split(".")[0])
    else:
        await asyncio.sleep(0)  # a handler that waits: a flood queues, and reading pauses
        await conn.send(data)
"""


@pytest.mark.parametrize("loop", ["asyncio", pytest.param("uvloop", marks=needs_uvloop)])
def test_a_connection_that_keeps_talking_moves_to_uvloops_transport_and_loses_nothing(
    tmp_path: Path, loop: str
) -> None:
    from wsside._io.transport import MOVE_AFTER_READS

    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "talk.py").write_text(TALK)
    shim = Shim(handlers, loop)
    try:
        shim.ready()
        client = shim.hand_over("/api/talk")
        status, _, rest = _answer(client)
        assert status == 101

        def ask(text: str) -> bytes:
            nonlocal rest
            _send_text(client, text)
            opcode, payload, rest = _next_frame(client, rest)
            assert opcode == 0x1
            return payload

        assert ask("writer?") == b"wsside"
        for n in range(2 * MOVE_AFTER_READS):  # one read each: the reply comes first
            assert ask(f"m{n}") == f"m{n}".encode()
        assert ask("writer?") == (b"uvloop" if loop == "uvloop" else b"wsside")
        flood = [f"f{n}" for n in range(3000)]  # more than the inbox holds before a pause
        mask = b"\x01\x02\x03\x04"
        client.sendall(
            b"".join(
                bytes([0x81, 0x80 | len(text)])
                + mask
                + bytes(b ^ mask[i % 4] for i, b in enumerate(text.encode()))
                for text in flood
            )
        )
        for text in flood:
            opcode, payload, rest = _next_frame(client, rest)
            assert (opcode, payload) == (0x1, text.encode())
        client.sendall(
            bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i] for i, b in enumerate(b"\x03\xe8"))
        )
        assert _next_frame(client, rest)[:2] == (0x8, b"\x03\xe8")
        client.settimeout(WAIT)
        assert client.recv(1) == b""  # the sidecar closes the TCP connection after the handshake
        assert shim.proc.poll() is None
    finally:
        shim.stop()


def test_a_batch_of_reloads_sends_the_endpoint_table_once_at_its_end(tmp_path: Path) -> None:
    """A helper saved reloads every handler file importing it, one per turn of the loop: the
    table (and the types text) goes with the batch's last event, or as `endpoints` when its
    last file did not load, never with each file (a checkout of a hundred files would rebuild
    and send it a hundred times)."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "_shared.py").write_text("NAME = 'one'\n")
    for n in range(5):
        (handlers / f"h{n}.py").write_text(
            f"from _shared import NAME\nfrom wsside import Handler\nHandler(f'/h{n}/{{NAME}}')\n"
        )
    # One file that will fail with the new helper: the batch may end on it.
    (handlers / "broken.py").write_text(
        "from _shared import NAME\nfrom wsside import Handler\n"
        "assert NAME == 'one', 'needs one'\nHandler('/broken')\n"
    )
    shim = Shim(handlers, reload=True)
    try:
        ready = shim.ready()
        assert len(ready["handlers"]) == 6
        (handlers / "_shared.py").write_text("NAME = 'two'\n")
        seen: list[dict[str, Any]] = []
        while True:
            msg = shim.read()
            if msg.get("type") in ("reloaded", "removed", "load_error", "endpoints"):
                seen.append(msg)
            if sum(m["type"] in ("reloaded", "load_error") for m in seen) == 6:
                break
        # The load errors of a batch are said at its end, after its files' other events.
        applied = [m for m in seen if m["type"] != "load_error"]
        if "handlers" not in applied[-1]:  # the last file failed: the table follows
            applied.append(shim.read_until("type", "endpoints"))
            seen.append(applied[-1])
        with_table = [m for m in seen if "handlers" in m]
        assert with_table == [applied[-1]], [m["type"] for m in seen]
        paths = sorted(h["path"] for h in with_table[0]["handlers"])
        # broken.py failed: its old handler keeps serving, as after any failed reload.
        assert paths == ["/api/broken"] + [f"/api/h{n}/two" for n in range(5)], paths
        assert "types" in with_table[0]
    finally:
        shim.stop()


# A handler that never writes (no heartbeat), and one that tells how many of its connections
# have closed.
QUIET = """
from wsside import Handler

closed = []
quiet = Handler("/quiet")


@quiet.on_close
def gone(conn, code, reason, by_client):
    closed.append(code)


Handler("/closed", on_connect=lambda conn, request: conn.send(len(closed)))
"""


@pytest.mark.parametrize("loop", ["asyncio", pytest.param("uvloop", marks=needs_uvloop)])
def test_a_reset_that_comes_with_unread_bytes_ends_the_connection(
    tmp_path: Path, loop: str
) -> None:
    """A client that sends the start of a frame and resets at once (SO_LINGER 0): its
    connection ends and `on_close` runs. On uvloop the reset came in the same readiness event
    as the bytes, the loop never called the reader again, and the connection stayed (in
    `connections`, with its descriptor) until something wrote to it."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "quiet.py").write_text(QUIET)
    shim = Shim(handlers, loop)
    try:
        shim.ready()
        for _ in range(5):
            client = shim.hand_over("/api/quiet")
            assert _answer(client)[0] == 101
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.sendall(b"\x81\x85\0\0\0\0hel")  # a text frame's first 9 of 11 bytes
            client.close()  # RST
        # Each probe asks the sidecar again, after everything sent before it.
        deadline = time.monotonic() + WAIT
        while True:
            probe = shim.hand_over("/api/closed")
            _, _, rest = _answer(probe)
            count = json.loads(_read_frame(probe, rest)[1])
            probe.close()
            if count == 5 or time.monotonic() > deadline:
                break
        assert count == 5
    finally:
        shim.stop()
