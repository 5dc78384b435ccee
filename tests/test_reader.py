"""StrictReader on a real socket: close frames, fail-fast UTF-8, masking, limits, fragments.

A raw client sends hand-made frames to an in-process sidecar and reads the close code back;
where a test needs bytes split into reads a certain way, which a socket does not promise, it
feeds them to a parser with no connection behind it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import zlib

import pytest
from aiohttp import WebSocketError
from aiohttp._websocket.reader import WebSocketDataQueue

from compliance.wsclient import RawClient, encode
from wsside._io.reader import StrictReader

TEXT, BINARY, CONT, CLOSE, PING = 0x1, 0x2, 0x0, 0x8, 0x9
LIMIT = 100

ECHO = f"""
    from wsside import Handler
    echo = Handler("/echo", max_message_size={LIMIT}, per_message_deflate=True,
                   transform_raw_data=lambda raw: raw)

    @echo.on_message
    async def reply(conn, data):
        await conn.send(data)
"""


@pytest.fixture(autouse=True)
async def _close_raw_clients():
    yield
    await RawClient.close_all()


@pytest.fixture
async def client(serve):
    served = await serve(ECHO)
    clients = []

    async def connect(extensions: str | None = None) -> RawClient:
        c = await RawClient.connect(served.port, "/api/echo", extensions)
        assert c.status == 101
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()


def close_frame(code: int, reason: bytes = b"") -> tuple[int, bytes]:
    return CLOSE, struct.pack("!H", code) + reason


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
async def test_invalid_close_code_gets_1002(client, code):
    c = await client()
    c.send(*close_frame(code))
    assert await c.close_code() == 1002


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999])
async def test_valid_close_code_is_answered_normally(client, code):
    c = await client()
    c.send(*close_frame(code, b"bye"))
    assert await c.close_code() != 1002


async def test_close_reason_must_be_utf8(client):
    c = await client()
    c.send(*close_frame(1000, b"\xce\xba\xff"))
    assert await c.close_code() == 1007


async def test_one_byte_close_payload_is_a_protocol_error(client):
    c = await client()
    c.send(CLOSE, b"\x03")
    assert await c.close_code() == 1002


PART1 = "κόσμε".encode()
BAD = b"\xf4\x90\x80\x80"  # beyond U+10FFFF: invalid from its second byte on


async def test_invalid_utf8_fails_at_the_offending_fragment(client):
    c = await client()
    c.send(TEXT, PART1, fin=False)
    c.send(CONT, BAD, fin=False)
    # The last fragment is never sent: the server must not wait for it.
    assert await c.close_code(timeout=2) == 1007


async def test_invalid_utf8_fails_inside_a_frame_still_arriving():
    """Two reads, fed to the parser as a socket would: the frame's valid start, then two
    bytes that are invalid already; the frame is still incomplete and the 1007 required."""
    queue = _data_queue(asyncio.get_running_loop())
    reader = StrictReader(queue, LIMIT)
    frame = encode(TEXT, PART1 + BAD + b"edited")
    head = 6  # 2 header bytes + 4 mask bytes
    assert reader.feed_data(frame[: head + len(PART1)]) == (False, b"")
    assert queue.exception() is None
    reader.feed_data(frame[head + len(PART1) : head + len(PART1) + 2])  # f4 90: already invalid
    failure = queue.exception()
    assert isinstance(failure, WebSocketError) and failure.code == 1007, failure


async def test_utf8_split_across_fragments_is_fine(client):
    c = await client()
    data = "héllo wörld €".encode()
    c.send(TEXT, data[:2], fin=False)  # splits the é
    c.send(PING, b"x")
    c.send(CONT, data[2:13], fin=False)
    c.send(CONT, data[13:])
    frames = [await c.frame(), await c.frame()]
    assert (True, False, TEXT, data) in [f for f in frames]


async def test_truncated_utf8_at_message_end_is_1007(client):
    c = await client()
    c.send(TEXT, b"abc", fin=False)
    c.send(CONT, "€".encode()[:2])
    assert await c.close_code() == 1007


async def test_unmasked_client_frame_is_1002(client):
    c = await client()
    c.send(TEXT, b"hello", mask=False)
    assert await c.close_code() == 1002


async def test_64_bit_length_with_its_top_bit_set_is_1002(client):
    """RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0. The frame is
    malformed, not merely too big for the limit."""
    c = await client()
    c.send_raw(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 2**63 + 5) + b"mask")
    assert await c.close_code() == 1002


@pytest.mark.parametrize("fragments", [1, 4])
async def test_message_of_exactly_the_limit_passes(client, fragments):
    c = await client()
    data = b"x" * LIMIT
    step = LIMIT // fragments
    for i in range(fragments):
        last = i == fragments - 1
        c.send(
            BINARY if i == 0 else CONT, data[i * step : None if last else (i + 1) * step], fin=last
        )
    assert await c.frame() == (True, False, BINARY, data)
    c.send(*close_frame(1000))
    assert await c.close_code() == 1000


@pytest.mark.parametrize("fragments", [1, 4])
async def test_one_byte_over_the_limit_is_1009(client, fragments):
    c = await client()
    data = b"x" * (LIMIT + 1)
    step = len(data) // fragments
    for i in range(fragments):
        last = i == fragments - 1
        c.send(
            TEXT if i == 0 else CONT, data[i * step : None if last else (i + 1) * step], fin=last
        )
    assert await c.close_code() == 1009


async def test_compressed_message_limit_is_on_the_inflated_size(client):
    c = await client("permessage-deflate")
    for size, expect in ((LIMIT, None), (LIMIT + 1, 1009)):
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = (z.compress(b"a" * size) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
        assert len(body) < 20  # a small frame, a large message
        c.send(TEXT, body, rsv1=True)
        if expect is None:
            fin, _, opcode, _ = await c.frame()
            assert (fin, opcode) == (True, TEXT)
        else:
            assert await c.close_code() == expect


def deflated(data: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]


async def test_assembled_messages_of_each_kind_in_turn(client):
    """Each fragmented or compressed message gets its own buffer, dropped when it ends."""
    c = await client("permessage-deflate")
    text = "κόσμε".encode()
    z = deflated(text)
    c.send(TEXT, z[:3], fin=False, rsv1=True)
    c.send(CONT, z[3:])
    c.send(BINARY, b"\x00\x01", fin=False)
    c.send(CONT, b"\x02")
    c.send(BINARY, deflated(b"\xff" * 50), rsv1=True)
    c.send(TEXT, deflated(b"again"), rsv1=True)
    c.send(TEXT, text[:3], fin=False)  # splits the ό
    c.send(CONT, text[3:])
    c.send(TEXT, b"whole")
    # Replies are below the compression threshold, so they come back uncompressed.
    for opcode, payload in [
        (TEXT, text),
        (BINARY, b"\x00\x01\x02"),
        (BINARY, b"\xff" * 50),
        (TEXT, b"again"),
        (TEXT, text),
        (TEXT, b"whole"),
    ]:
        assert await c.frame() == (True, False, opcode, payload)


async def test_frames_that_came_with_the_handshake_wait_for_the_session(serve):
    """Messages and an error in the same write as the upgrade request are held, then handled
    in order once the session starts."""
    served = await serve(ECHO)
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    c = RawClient(reader, writer, 0, {})
    RawClient.opened.append(c)
    writer.write(
        b"GET /api/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
        + encode(TEXT, b"one")
        + encode(BINARY, b"two")
        + encode(TEXT, b"x", mask=False)
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    assert await c.frame() == (True, False, TEXT, b"one")
    assert await c.frame() == (True, False, BINARY, b"two")
    assert await c.close_code() == 1002


async def test_endless_empty_fragments_are_cut_off(client):
    c = await client()
    c.send(TEXT, b"a", fin=False)
    # max_fragments defaults to max(1024, limit // 64): 1024 here.
    c.send_raw(encode(CONT, b"", fin=False) * 1100)
    assert await c.close_code() == 1009


async def test_fragments_below_the_bound_pass(client):
    c = await client()
    c.send(BINARY, b"a", fin=False)
    c.send_raw(encode(CONT, b"", fin=False) * 1000)
    c.send(CONT, b"b")
    assert await c.frame() == (True, False, BINARY, b"ab")


async def test_new_message_inside_a_fragmented_one_is_1002(client):
    c = await client()
    c.send(TEXT, b"a", fin=False)
    c.send(TEXT, b"b")
    assert await c.close_code() == 1002


async def test_rsv1_without_agreement_is_1002(client):
    c = await client()
    c.send(TEXT, b"hello", rsv1=True)
    assert await c.close_code() == 1002


def _upgraded(port: int) -> socket.socket:
    """A blocking client socket past its 101, with nothing read beyond the response head."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"GET /api/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, "closed during the handshake"
        head += byte
    assert head.startswith(b"HTTP/1.1 101")
    return sock


def _read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


# A frame with a reserved opcode (3), then a flood of valid frames still in flight: Autobahn
# 4.2.5's shape, large enough that most of it is unread when the server fails the connection.
RESERVED_THEN_FLOOD = encode(0x3, b"") + encode(BINARY, b"x" * LIMIT) * 10_000  # ~1 MB


async def test_a_client_still_sending_gets_the_close_frame_then_eof(serve):
    """Closing the socket with the client's bytes unread would send RST instead of FIN, and
    the client's kernel may then drop our close frame unread: the server half-closes after
    it and reads on (RFC 6455 §7.1.1), so the client gets 1002 then EOF."""
    served = await serve(ECHO)

    def client() -> bytes:
        with _upgraded(served.port) as sock:
            sock.sendall(RESERVED_THEN_FLOOD)
            return _read_to_eof(sock)

    try:
        received = await asyncio.to_thread(client)
    except (ConnectionResetError, BrokenPipeError) as exc:
        pytest.fail(f"the server reset the connection instead of closing it: {exc!r}")
    # One close frame (unmasked, its length in one byte), then EOF.
    assert received[0] == 0x88 and len(received) == 2 + received[1]
    assert struct.unpack("!H", received[2:4]) == (1002,)


FAILING = """
    import probe
    from wsside import Handler
    h = Handler("/echo")

    @h.on_message
    def message(conn, data):
        probe.record("message", data)

    @h.on_error
    def error(conn, exc):
        probe.record("error", exc.code)

    @h.on_close
    def close(conn, code, reason, by_client):
        probe.record("close", code, by_client)
"""


async def _fail_then_send_more(port: int) -> tuple[socket.socket, float]:
    """A client that sends a reserved opcode, reads the close frame and the FIN behind it,
    then sends more (dropped by the server, a close frame included) and leaves its side open.
    Returns its socket and when it sent the reserved opcode (the loop's clock)."""

    def client() -> tuple[socket.socket, float]:
        sock = _upgraded(port)
        sent = time.monotonic()
        sock.sendall(encode(TEXT, b"before") + encode(0x3, b""))
        received = _read_to_eof(sock)
        assert received[0] == 0x88 and struct.unpack("!H", received[2:4]) == (1002,)
        sock.sendall(encode(TEXT, b"after") + encode(*close_frame(1000)))
        return sock, sent

    return await asyncio.to_thread(client)


async def test_a_failed_connection_ends_at_the_clients_eof(serve, probe):
    from wsside._runtime import close_handshake

    served = await serve(FAILING)
    sock, _ = await _fail_then_send_more(served.port)
    with sock:
        sock.shutdown(socket.SHUT_WR)
        # Well before the close timer: the client's EOF closes the transport.
        await probe.wait("close", timeout=close_handshake.CLOSE_TIMEOUT / 2)
    assert probe.records == [("message", "before"), ("error", 1002), ("close", 1002, False)]


async def test_a_failed_connection_whose_client_never_ends_is_closed_by_the_close_timer(
    serve, probe, monkeypatch
):
    from wsside._runtime import close_handshake

    monkeypatch.setattr(close_handshake, "CLOSE_TIMEOUT", 0.5)
    served = await serve(FAILING)
    sock, sent = await _fail_then_send_more(served.port)
    with sock:
        await probe.wait("close", timeout=close_handshake.CLOSE_TIMEOUT + 5)
        # The timer, not the close frame that came after the failure, ended it (loop timers
        # may fire up to a clock tick early).
        assert time.monotonic() - sent >= close_handshake.CLOSE_TIMEOUT * 0.9
    assert probe.records == [("message", "before"), ("error", 1002), ("close", 1002, False)]


async def test_a_failed_connection_whose_reading_was_paused_still_reads_to_the_eof(
    serve, probe, monkeypatch
):
    """A flood paused reading behind a stuck callback when the failure came: reading resumes
    (what arrives is dropped), so the client's EOF ends the connection, not the close timer."""
    from wsside._runtime import callback_queue, close_handshake

    monkeypatch.setattr(callback_queue, "INBOX_HIGH_WATER", 8)
    monkeypatch.setattr(callback_queue, "CALLBACK_GRACE", 0.2)  # then `on_close` runs without it
    served = await serve("""
        import asyncio, probe
        from wsside import Handler
        h = Handler("/echo")

        @h.on_message
        async def stuck(conn, data):
            await asyncio.Event().wait()

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, by_client)
    """)

    def client() -> None:
        with _upgraded(served.port) as sock:
            # One write, so one read: past the high-water mark, then the failure.
            sock.sendall(encode(TEXT, b"m") * 20 + encode(0x3, b""))
            received = _read_to_eof(sock)
            assert received[0] == 0x88 and struct.unpack("!H", received[2:4]) == (1002,)
            sock.shutdown(socket.SHUT_WR)

    await asyncio.to_thread(client)
    closed = await probe.wait("close", timeout=close_handshake.CLOSE_TIMEOUT / 2)
    assert closed == [("close", 1002, False)]


def test_handle_frame_override_is_called_by_the_c_parser():
    """aiohttp's compiled `_feed_data` dispatches to a Python `_handle_frame` (cpdef)."""
    seen = []

    class Spy(StrictReader):
        __slots__ = ()  # no __dict__, like StrictReader: the override must still be seen

        def _handle_frame(self, fin, opcode, payload, compressed):  # type: ignore[override]
            seen.append(opcode)
            super()._handle_frame(fin, opcode, payload, compressed)

    loop = asyncio.new_event_loop()
    try:
        queue = _data_queue(loop)
        assert "aiohttp._websocket.reader_c" in {c.__module__ for c in StrictReader.__mro__}
        spy = Spy(queue, LIMIT)
        assert not hasattr(spy, "__dict__")
        spy.feed_data(encode(TEXT, b"hi") + encode(PING, b""))
    finally:
        loop.close()
    assert seen == [TEXT, PING]


def _data_queue(loop: asyncio.AbstractEventLoop) -> WebSocketDataQueue:
    """The data queue a parser feeds, with no connection behind it."""

    class Proto:
        _reading_paused = False

    return WebSocketDataQueue(Proto(), 1 << 16, loop=loop)  # type: ignore[arg-type]
