"""Floods a hostile client can send without reading a byte back, against a real
`wsside serve` process on 127.0.0.1: what it may cost the sidecar is bounded, and the client
is closed with the code reliability.md gives (a ping flood costs one pong instead)."""

from __future__ import annotations

import socket
import zlib
from collections.abc import Iterator

import pytest
from tests.reliability.harness import SidecarProcess, serving
from tests.reliability.rawws import PING, PONG, TEXT, FrameParser, frame, parse_close, upgrade_head
from tests.reliability.test_slow_consumer import RssSampler

from wsside._io.writer import SEND_BUFFER_LIMIT

APP = """
from wsside import Handler

def _raw(raw):
    return raw

echo = Handler("/ws/echo", transform_raw_data=_raw, on_message=lambda c, d: c.send(d))
# The default limit (16 MiB): a bomb's inflated size must be stopped at it, not after it.
packed = Handler("/ws/packed", transform_raw_data=_raw, per_message_deflate=True,
                 on_message=lambda c, d: c.send(str(len(d))))
"""

MiB = 1 << 20


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    yield from serving(tmp_path_factory.mktemp("ws"), APP)


def connect(port: int, path: str, extra: str = "", rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_head(path, extra=extra))
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # nothing past the head is consumed
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def close_code(sock: socket.socket) -> tuple[int, str]:
    """Read (everything queued before it) up to the server's close frame."""
    parser = FrameParser()
    while True:
        data = sock.recv(MiB)
        assert data, "EOF before a close frame"
        for opcode, payload in parser.feed(data):
            if opcode == 0x8:
                return parse_close(payload)


def test_a_ping_flood_from_a_client_that_never_reads_costs_one_pong(
    sidecar: SidecarProcess,
) -> None:
    # 200,000 pings of 125 bytes: 25 MiB of pongs, over the 16 MiB that closes a client 1013.
    # While the client reads nothing, only the last ping's pong is kept (RFC 6455 §5.5.3):
    # what waits for it stays near the transport's 64 KiB, and it is not closed.
    sock = connect(sidecar.port, "/api/ws/echo", rcvbuf=4096)
    burst = frame(PING, b"p" * 125) * 1000
    base = sidecar.rss()
    with RssSampler(sidecar) as rss, sock:
        for _ in range(200):
            sock.sendall(burst)
        sock.sendall(frame(PING, b"last"))
        # Once it reads: the pongs written before the pause, then the last ping's.
        parser, pongs = FrameParser(), 0
        while True:
            data = sock.recv(MiB)
            assert data, "EOF before the last pong"
            answered = [payload for opcode, payload in parser.feed(data) if opcode == PONG]
            pongs += len(answered)
            if b"last" in answered:
                break
    assert pongs < 100_000, pongs
    assert rss.peak - base < SEND_BUFFER_LIMIT // 2, rss.peak - base
    assert not any("1013" in line for line in sidecar.output), sidecar.output[-5:]
    assert sidecar.alive


def test_a_deflate_bomb_is_stopped_at_the_size_limit_while_inflating(
    sidecar: SidecarProcess,
) -> None:
    # One frame of about 1 MiB (under the 16 MiB limit) that would inflate to 1 GiB.
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    bomb = b"".join(deflate.compress(zeros) for _ in range(1024))
    bomb = (bomb + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]  # the trailer a sender removes
    assert len(bomb) < 2 * MiB
    sock = connect(
        sidecar.port, "/api/ws/packed", "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    )
    base = sidecar.rss()
    with RssSampler(sidecar) as rss, sock:
        sock.sendall(frame(TEXT, bomb, rsv=4))
        assert close_code(sock)[0] == 1009
    # The limit's worth of inflated bytes, at most twice over (the message and its text).
    assert rss.peak - base < 48 * MiB, rss.peak - base
    assert sidecar.alive
