"""StrictReader on a real socket: close frames, fail-fast UTF-8, masking, limits, fragments.

A raw client sends hand-made frames to an in-process sidecar and reads the close code back.
"""

from __future__ import annotations

import asyncio
import struct
import zlib

import pytest
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


async def test_invalid_utf8_fails_inside_a_frame_still_arriving(client):
    c = await client()
    frame = encode(TEXT, PART1 + BAD + b"edited")
    head = 6  # 2 header bytes + 4 mask bytes
    c.send_raw(frame[: head + len(PART1)])
    await asyncio.sleep(0.05)
    c.send_raw(frame[head + len(PART1) : head + len(PART1) + 2])  # f4 90: already invalid
    assert await c.close_code(timeout=2) == 1007


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


@pytest.mark.parametrize("fragments", [1, 4])
async def test_message_of_exactly_the_limit_passes(client, fragments):
    c = await client()
    data = b"x" * LIMIT
    step = LIMIT // fragments
    for i in range(fragments):
        last = i == fragments - 1
        c.send(BINARY if i == 0 else CONT, data[i * step : None if last else (i + 1) * step],
               fin=last)
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
        c.send(TEXT if i == 0 else CONT, data[i * step : None if last else (i + 1) * step],
               fin=last)
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
    for opcode, payload in [(TEXT, text), (BINARY, b"\x00\x01\x02"), (BINARY, b"\xff" * 50),
                            (TEXT, b"again"), (TEXT, text), (TEXT, b"whole")]:
        assert await c.frame() == (True, False, opcode, payload)


async def test_frames_that_came_with_the_handshake_wait_for_the_session(serve):
    """Messages and an error in the same write as the upgrade request are held, then handled
    in order once the session starts."""
    served = await serve(ECHO)
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    c = RawClient(reader, writer, 0, {})
    RawClient.opened.append(c)
    writer.write(b"GET /api/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n"
                 + encode(TEXT, b"one") + encode(BINARY, b"two") + encode(TEXT, b"x", mask=False))
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


def test_handle_frame_override_is_called_by_the_c_parser():
    """aiohttp's compiled `_feed_data` dispatches to a Python `_handle_frame` (cpdef)."""
    seen = []

    class Spy(StrictReader):
        __slots__ = ()  # no __dict__, like StrictReader: the override must still be seen

        def _handle_frame(self, fin, opcode, payload, compressed):  # type: ignore[override]
            seen.append(opcode)
            super()._handle_frame(fin, opcode, payload, compressed)

    from aiohttp._websocket.reader import WebSocketDataQueue

    class Proto:
        _reading_paused = False

    loop = asyncio.new_event_loop()
    try:
        queue = WebSocketDataQueue(Proto(), 1 << 16, loop=loop)  # type: ignore[arg-type]
        assert StrictReader.__mro__[1].__module__ == "aiohttp._websocket.reader_c"
        spy = Spy(queue, LIMIT)
        assert not hasattr(spy, "__dict__")
        spy.feed_data(encode(TEXT, b"hi") + encode(PING, b""))
    finally:
        loop.close()
    assert seen == [TEXT, PING]
