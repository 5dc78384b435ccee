"""Hostile input against a real sidecar process, from raw sockets: malformed upgrade requests
(a fixed table and property-based heads), invalid frames, invalid UTF-8, lying lengths and a
compression bomb. Each gets its HTTP status or close code; the sidecar stays up and a
well-behaved connection alongside is undisturbed.

The table below is the policy; docs/reliability.md repeats it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import socket
import time
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import SidecarProcess
from .rawws import (
    BINARY,
    CLOSE,
    CONT,
    KEY,
    PING,
    TEXT,
    FrameParser,
    Stream,
    close_payload,
    frame,
    parse_close,
)

STD = [
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    f"Sec-WebSocket-Key: {KEY}",
    "Sec-WebSocket-Version: 13",
]


def head(lines: list[str], line: str = "GET /api/ws/echo HTTP/1.1") -> bytes:
    return (line + "\r\n" + "".join(h + "\r\n" for h in lines) + "\r\n").encode("latin-1")


def drop(name: str) -> list[str]:
    return [h for h in STD if not h.lower().startswith(name.lower() + ":")]


def swap(name: str, value: str) -> list[str]:
    return [f"{name}: {value}" if h.lower().startswith(name.lower() + ":") else h for h in STD]


# (case, request bytes, status). The sidecar does not judge `Host` or `Origin`: the shim does,
# before handing the socket over (403); a sidecar listener others can reach needs the secret.
UPGRADES = [
    ("valid", head(STD), 101),
    ("missing Sec-WebSocket-Key", head(drop("Sec-WebSocket-Key")), 400),
    ("short key", head(swap("Sec-WebSocket-Key", "short")), 400),
    ("key not base64", head(swap("Sec-WebSocket-Key", "!" * 22 + "==")), 400),
    ("version 99", head(swap("Sec-WebSocket-Version", "99")), 426),
    ("version missing", head(drop("Sec-WebSocket-Version")), 400),
    ("Connection without upgrade", head(swap("Connection", "keep-alive")), 400),
    ("no Upgrade header", head(drop("Upgrade")), 426),
    ("Upgrade: h2c", head(swap("Upgrade", "h2c")), 426),
    ("POST", head(STD, "POST /api/ws/echo HTTP/1.1"), 405),
    ("no handler for the path", head(STD, "GET /api/ws/nope HTTP/1.1"), 404),
    ("outside the prefix", head(STD, "GET /ws/echo HTTP/1.1"), 404),
    ("garbage request line", b"GARBAGE\r\n\r\n", 400),
    ("binary junk", bytes(range(256)) + b"\r\n\r\n", 400),
    ("lower-case method", head(STD, "get /api/ws/echo HTTP/1.1"), 400),
    ("16 KiB request target", head(STD, "GET /api/ws/echo?" + "a" * 16384 + " HTTP/1.1"), 400),
    ("16 KiB header value", head([*STD, "X-Big: " + "a" * 16384]), 400),
    ("9000-byte header name", head([*STD, "X" * 9000 + ": a"]), 400),
    ("200 headers", head(STD + [f"X-H{i}: v" for i in range(200)]), 400),
    ("1 MiB of headers", head(STD + [f"X-H{i}: " + "v" * 8000 for i in range(128)]), 400),
    ("space in a header name", head([*STD, "Bad Header: x"]), 400),
    ("NUL in a header value", head([*STD, "X-A: a\x00b"]), 400),
    ("CR in a header value", head([*STD, "X-A: a\rb"]), 400),
    ("obsolete line folding", head([*STD, "X-A: a", " folded"]), 400),
    ("header without colon", head([*STD, "NoColonHere"]), 400),
    ("bare LF line ends", head(STD).replace(b"\r\n", b"\n"), 400),
    (
        "Content-Length and Transfer-Encoding",
        head([*STD, "Content-Length: 5", "Transfer-Encoding: chunked"]),
        400,
    ),
    ("negative Content-Length", head([*STD, "Content-Length: -1"]), 400),
    ("missing Host", head(drop("Host")), 400),
    ("two Host headers", head([*STD, "Host: evil.example"]), 400),
    ("control character in Host", head(swap("Host", "a\x01b")), 400),
    ("non-ASCII Connection", head(swap("Connection", "\x80")), 400),
    ("non-ASCII Sec-WebSocket-Key", head(swap("Sec-WebSocket-Key", "\xff" * 24)), 400),
    ("non-ASCII Sec-WebSocket-Version", head(swap("Sec-WebSocket-Version", "\xff")), 426),
    ("malformed Host [::1", head(swap("Host", "[::1")), 101),
    ("empty Host", head(swap("Host", "")), 101),
]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, head, closed): for a refusal, the whole body by its Content-Length, then EOF."""
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status = int(raw.split(b" ", 2)[1])
    if status == 101:
        return status, raw, False
    length = next(
        int(line.split(b":", 1)[1])
        for line in raw.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await asyncio.wait_for(reader.readexactly(length), 5)
    closed = await asyncio.wait_for(reader.read(1), 5) == b""
    return status, raw, closed


async def echo_ok(bystander: Stream, text: str) -> None:
    bystander.send_text(text)
    assert await bystander.recv_text() == text


@pytest.mark.parametrize("case,request_bytes,status", UPGRADES, ids=[c[0] for c in UPGRADES])
async def test_malformed_upgrade_gets_its_status(
    sidecar: SidecarProcess, raw, case: str, request_bytes: bytes, status: int
) -> None:
    bystander = await raw("/api/ws/echo")
    reader, writer = await asyncio.open_connection("127.0.0.1", sidecar.port)
    try:
        writer.write(request_bytes)
        got, response, closed = await read_response(reader)
    finally:
        writer.close()
    assert got == status, response
    if status != 101:
        assert closed, f"{case}: the connection stays open after {status}"
    if status == 426:  # RFC 6455 §4.2.2: the versions this server speaks
        assert b"\r\nSec-WebSocket-Version: 13, 8, 7\r\n" in response, response
    await echo_ok(bystander, case)
    await bystander.close()
    assert sidecar.alive


# ---- property-based upgrade heads ---------------------------------------------------------

_token = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=1,
    max_size=12,
)
_latin1 = st.text(alphabet=st.characters(max_codepoint=255), max_size=40)
_methods = st.one_of(st.sampled_from(["GET", "POST", "OPTIONS", "get", "GET GET", ""]), _token)
_targets = st.one_of(
    st.sampled_from(
        [
            "/api/ws/echo",
            "/api/ws/echo?x=1",
            "/api/ws/nope",
            "/",
            "*",
            "/api/ws/%00",
            "/api/../api/ws/echo",
            "http://evil.example/api/ws/echo",
            "/api/ws/echo#f",
        ]
    ),
    _latin1.map(lambda s: "/api/" + s),
)
_versions = st.one_of(
    st.sampled_from(
        ["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/0.9", "HTTP/2", "http/1.1", "HTTP/1.1 extra", ""]
    ),
    _latin1,
)
_header_values = st.one_of(
    _latin1,
    st.sampled_from([KEY, "13", "8", "websocket", "Upgrade", "[::1", "a b", "127.0.0.1:99999999"]),
)


@st.composite
def upgrade_heads(draw: st.DrawFn) -> bytes:
    headers = [h.split(": ", 1) for h in STD]
    for i in range(len(headers)):
        what = draw(st.sampled_from(["keep", "keep", "keep", "drop", "value", "name"]))
        if what == "drop":
            headers[i] = []
        elif what == "value":
            headers[i] = [headers[i][0], draw(_header_values)]
        elif what == "name":
            headers[i] = [draw(st.one_of(_token, _latin1)), headers[i][1]]
    extra = draw(st.lists(st.tuples(st.one_of(_token, _latin1), _header_values), max_size=4))
    lines = [": ".join(h) for h in headers if h] + [f"{n}: {v}" for n, v in extra]
    line = f"{draw(_methods)} {draw(_targets)} {draw(_versions)}"
    return head(lines, line)


def accept_for(key: str) -> bytes:
    digest = hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    return base64.b64encode(digest)


def recv_by(sock: socket.socket, deadline: float) -> bytes:
    """One recv within the time left before `deadline` (a `time.monotonic()`): the waits of
    one exchange share it, however the bytes trickle in."""
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    return sock.recv(65536)


def sync_exchange(port: int, data: bytes) -> bytes:
    deadline = time.monotonic() + 5
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        out = b""
        while chunk := recv_by(sock, deadline):
            out += chunk
            if out[8:13] == b" 101 " and b"\r\n\r\n" in out:
                break
        return out


class SyncBystander:
    """A well-behaved blocking WebSocket client kept open beside the attack."""

    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + 5
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            self.sock.sendall(head(STD))
            data = b""
            while b"\r\n\r\n" not in data:
                data += self._recv(deadline)
            assert data.startswith(b"HTTP/1.1 101")
            self.parser = FrameParser()
            self.parser.feed(data.split(b"\r\n\r\n", 1)[1])
        except BaseException:
            self.sock.close()  # no fixture will close it
            raise

    def _recv(self, deadline: float) -> bytes:
        data = recv_by(self.sock, deadline)
        assert data, "the sidecar closed the bystander's connection"
        return data

    def echo(self, text: str) -> None:
        """Send `text` and read its echo, within 5 s however its bytes trickle in."""
        deadline = time.monotonic() + 5
        self.sock.sendall(frame(TEXT, text.encode()))
        frames: list[tuple[int, bytes]] = []
        while not frames:
            frames = self.parser.feed(self._recv(deadline))
        assert frames == [(TEXT, text.encode())]


@pytest.fixture(scope="module")
def sync_bystander(sidecar: SidecarProcess) -> Iterator[SyncBystander]:
    bystander = SyncBystander(sidecar.port)
    yield bystander
    bystander.sock.close()


@settings(
    max_examples=int(os.environ.get("WSSIDE_HYPOTHESIS_EXAMPLES", "250")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request_bytes=upgrade_heads())
def test_any_upgrade_head_gets_a_complete_response(
    sidecar: SidecarProcess, sync_bystander: SyncBystander, request_bytes: bytes
) -> None:
    out = sync_exchange(sidecar.port, request_bytes)
    first = out.split(b"\r\n", 1)[0]
    # aiohttp answers in the request's HTTP version, whatever it is
    assert re.match(rb"HTTP/\d\.\d \d\d\d ", first), (request_bytes, out)
    status = int(first[9:12])
    assert status in (101, 400, 404, 405, 426), (request_bytes, out)
    if status == 101:
        # only a real upgrade of a real endpoint, answered for the key that was sent
        text = request_bytes.decode("latin-1")
        assert text.startswith("GET /api/ws/echo"), text
        assert (
            f"Sec-WebSocket-Key: {KEY}" in text
            and b"Sec-WebSocket-Accept: " + accept_for(KEY) in out
        )
    else:
        headers, _, body = out.partition(b"\r\n\r\n")
        length = [
            int(h.split(b":", 1)[1])
            for h in headers.split(b"\r\n")
            if h.lower().startswith(b"content-length:")
        ]
        assert length == [len(body)], out  # complete, then EOF (sync_exchange read to the end)
    sync_bystander.echo("still here")
    assert sidecar.alive


# ---- frames -----------------------------------------------------------------------------


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]  # RFC 7692: the sender drops the 00 00 ff ff trailer


BOMB = deflate_raw(b"\0" * (1 << 20))  # about 1 KiB on the wire, 1 MiB inflated

# (case, endpoint, bytes after the handshake, close code). /ws/tiny: max_message_size=1024;
# /ws/deflate: permessage-deflate, max_message_size=64 KiB; /ws/echo: the 16 MiB default.
FRAMES = [
    ("reserved opcode 0x3", "echo", frame(0x3, b"x"), 1002),
    ("reserved control opcode 0xB", "echo", frame(0xB, b"x"), 1002),
    ("RSV1 without an extension", "echo", frame(TEXT, b"x", rsv=4), 1002),
    ("RSV2", "echo", frame(TEXT, b"x", rsv=2), 1002),
    ("RSV3", "echo", frame(TEXT, b"x", rsv=1), 1002),
    ("unmasked client frame", "echo", frame(TEXT, b"x", mask=False), 1002),
    ("ping of 126 bytes", "echo", frame(PING, b"x" * 126), 1002),
    ("fragmented ping", "echo", frame(PING, b"x", fin=False), 1002),
    ("close frame of 1 byte", "echo", frame(CLOSE, b"\x03"), 1002),
    ("close code 999", "echo", frame(CLOSE, close_payload(999)), 1002),
    ("close code 1005 on the wire", "echo", frame(CLOSE, close_payload(1005)), 1002),
    ("close code 5000", "echo", frame(CLOSE, close_payload(5000)), 1002),
    ("close reason not UTF-8", "echo", frame(CLOSE, close_payload(1000, b"\xff")), 1007),
    ("continuation without a message", "echo", frame(CONT, b"x"), 1002),
    (
        "new message inside a fragmented one",
        "echo",
        frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"),
        1002,
    ),
    ("invalid UTF-8", "echo", frame(TEXT, b"\xff\xfe"), 1007),
    (
        "invalid UTF-8 across fragments",
        "echo",
        frame(TEXT, b"ok\xe2\x82", fin=False) + frame(CONT, b"\x28"),
        1007,
    ),
    ("overlong UTF-8", "echo", frame(TEXT, b"\xc0\xaf"), 1007),
    ("UTF-16 surrogate in UTF-8", "echo", frame(TEXT, b"\xed\xa0\x80"), 1007),
    ("declared length 2^63-1", "echo", frame(BINARY, length=2**63 - 1), 1009),
    # the top bit of a 64-bit length must be 0 (RFC 6455 §5.2): malformed, not just too big
    ("declared length 2^64-1", "echo", bytes([0x82, 0xFF]) + b"\xff" * 8 + b"\0" * 4, 1002),
    ("declared length 1 GiB", "echo", frame(BINARY, length=1 << 30), 1009),
    ("1025 bytes over a 1024 limit", "tiny", frame(BINARY, b"x" * 1025), 1009),
    (
        "fragments adding up past the limit",
        "tiny",
        frame(BINARY, b"x" * 600, fin=False) + frame(CONT, b"x" * 600),
        1009,
    ),
    (
        "2,000 empty fragments",
        "tiny",
        frame(TEXT, b"", fin=False) + frame(CONT, b"", fin=False) * 2000,
        1009,
    ),
    ("compression bomb: 1 KiB inflating to 1 MiB", "deflate", frame(BINARY, BOMB, rsv=4), 1009),
    ("not a DEFLATE stream", "deflate", frame(BINARY, b"\xff" * 5, rsv=4), 1007),
    (
        "RSV1 on a continuation frame",
        "deflate",
        frame(BINARY, deflate_raw(b"a"), rsv=4, fin=False) + frame(CONT, deflate_raw(b"b"), rsv=4),
        1002,
    ),
    ("RSV1 on a control frame", "deflate", frame(PING, b"", rsv=4), 1002),
]


@pytest.mark.parametrize("case,endpoint,data,code", FRAMES, ids=[c[0] for c in FRAMES])
async def test_invalid_frame_gets_its_close_code(
    sidecar: SidecarProcess, raw, case: str, endpoint: str, data: bytes, code: int
) -> None:
    bystander = await raw("/api/ws/echo")
    rss0 = sidecar.rss()
    extra = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if endpoint == "deflate" else ""
    attacker = await raw(f"/api/ws/{endpoint}", extra=extra)
    assert attacker.status == 101
    attacker.writer.write(data)
    # the close frame comes, and then the sidecar drops the socket (closed_with waits for EOF)
    assert (await attacker.closed_with(5))[0] == code
    await echo_ok(bystander, case)
    await bystander.close()
    # refused from the header or while inflating: nothing near the declared size was allocated
    assert sidecar.rss() - rss0 < 8 << 20
    assert sidecar.alive


async def test_attack_frames_end_the_attacker_only_after_what_came_before(raw) -> None:
    """A valid message followed by an invalid frame in the same packet: the valid one is
    handled, then the connection fails (the bad frame cannot poison what preceded it)."""
    attacker = await raw("/api/ws/echo")
    attacker.writer.write(frame(TEXT, b"first") + frame(TEXT, b"\xff"))
    op, payload = await attacker.recv()
    assert (op, payload) == (TEXT, b"first")
    op, payload = await attacker.recv()
    assert op == CLOSE and parse_close(payload)[0] == 1007


@pytest.mark.parametrize(
    "before",
    [frame(TEXT, b"before"), frame(TEXT, b"bef", fin=False) + frame(CONT, b"ore")],
    ids=["whole frames", "through the parser"],
)
async def test_data_after_the_clients_close_frame_is_discarded(raw, before: bytes) -> None:
    """A message behind the client's close frame, in the same packet, never reaches
    `on_message` (RFC 6455 §5.5.1): here it would be broadcast to the listener."""
    listener = await raw("/api/ws/fan")
    attacker = await raw("/api/ws/fan")
    attacker.writer.write(before + frame(CLOSE, close_payload(1000)) + frame(TEXT, b"after"))
    assert await listener.recv_text() == "before"
    assert (await attacker.closed_with(5))[0] == 1000
    listener.send_text("next")  # broadcast back to itself, behind anything queued before it
    assert await listener.recv_text() == "next"


def test_no_attack_caused_an_internal_error(sidecar: SidecarProcess) -> None:
    """Runs last in this module. aiohttp logs each malformed HTTP head it refuses (400) with a
    traceback of its parser error; any other traceback would be an internal error."""
    blocks = "".join(sidecar.output).split("Traceback (most recent call last):")[1:]
    raised = [
        next(line for line in b.splitlines() if line and not line[0].isspace()) for b in blocks
    ]
    unexpected = [r for r in raised if not r.startswith("aiohttp.http_exceptions.")]
    assert not unexpected, unexpected
