"""Messages on the backplane's channel that no wsside process publishes: anyone who may
PUBLISH on `wsside:<db>` can put bytes there. A real `redis-server`, a real `wsside serve`, a
raw client that sees every frame the server writes, and a Redis client of the test's own that
publishes what the audit forged: none of it reaches the client, and the warnings are few and
plain. A well-formed text or binary broadcast is delivered, whoever published it (by design:
docs/backplane.md, "Who can reach the clients")."""

from __future__ import annotations

import asyncio
import re
import struct
from pathlib import Path

import pytest
import redis

from cluster import ROOMS_HANDLER, RedisServer, start_serve, write_handlers
from serve_process import ServeProcess
from wsside._runtime.backplane_wire import (
    HEAD,
    MAX_BYTES,
    VERSION,
    Refused,
    decode_records,
    encode_record,
    read,
)

PATTERN = "/ws/rooms"
SENDER = b"ATTACKER"
REFUSED = "that no wsside process publishes"


def message(*records: bytes) -> bytes:
    return HEAD.pack(VERSION, SENDER) + b"".join(records)


def record(opcode: int, payload: bytes, pattern: str = PATTERN) -> bytes:
    return encode_record(pattern, None, opcode, payload)


# ---- the wire format, without a server ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (record(1, b"\xff\xfe ok"), "record 1 is a text message that is not UTF-8"),
        (record(2, b"x") + record(3, b"x"), "record 2 has opcode 3: only text (1) and binary"),
        (record(8, b"\x03\xe8"), "record 1 has opcode 8"),
        (record(9, b"p" * 300), "record 1 has opcode 9"),
        (record(1, b"hello")[:-1], "record 1 is cut short"),
        (record(1, b"hello")[:10], "record 1 is cut short"),
        (struct.pack("!BIII", 2, 5, 9, 0) + b"/ws/rooms", "record 1 is cut short"),
        (struct.pack("!BIII", 2, 0xFFFFFFFF, 2, 0) + b"\xc3(", "has a pattern or room that is"),
        (b"\x01" * (MAX_BYTES + 1), "more than any wsside process publishes at once"),
    ],
    ids=[
        "text-not-utf8",
        "opcode-3-after-a-good-one",
        "close",
        "300-byte-ping",
        "cut-in-payload",
        "cut-in-head",
        "cut-in-rooms",
        "pattern-not-utf8",
        "over-8-MiB",
    ],
)
def test_what_no_wsside_process_publishes_is_refused_in_plain_words(
    data: bytes, words: str
) -> None:
    with pytest.raises(Refused, match=re.escape(words)) as refused:
        decode_records(data, 0)
    assert "unpack" not in str(refused.value) and "buffer" not in str(refused.value)


def test_the_head_is_read_before_the_records() -> None:
    with pytest.raises(Refused, match="3 bytes, shorter than any message's head"):
        read(b"\x01ab", b"12345678")
    with pytest.raises(Refused) as refused:
        read(HEAD.pack(VERSION + 1, SENDER) + b"\x00", b"12345678")
    assert refused.value.version == VERSION + 1
    # Its own messages are skipped unread: they were delivered locally already.
    assert read(HEAD.pack(VERSION, SENDER) + b"\x00", SENDER) == []
    mixed = [("/ws/a", None, 1, "é ✓".encode()), ("/ws/b", ("lobby",), 2, b"\xff")]
    data = message(*(encode_record(*r) for r in mixed))
    assert read(data, b"12345678") == mixed


# ---- through Redis, to a client that sees every frame ------------------------------------


class RawClient:
    """A WebSocket client that reads every frame the server writes, control frames too."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, path: str) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next frame: (opcode, payload)."""
        return await asyncio.wait_for(self._frame(), timeout)

    async def _frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(size)

    def close(self) -> None:
        self.writer.close()


async def subscribed(publisher: redis.Redis, deadline: float = 10.0) -> None:
    """Wait until the serve's backplane is subscribed to the channel (it is, as a rule, by
    the time it serves: `START_WAIT`)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while publisher.pubsub_numsub("wsside:0")[0][1] < 1:
        assert loop.time() < end, "the serve never subscribed to wsside:0"
        await asyncio.sleep(0.02)  # polling Redis's own count: there is no event to wait on


async def served(tmp_path: Path) -> tuple[RedisServer, ServeProcess, int, redis.Redis]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
        serve, port, _ = await start_serve(tmp_path, "--backplane", server.url)
    except BaseException:
        server.stop()
        raise
    publisher = redis.Redis(port=server.port)
    await subscribed(publisher)
    return server, serve, port, publisher


@pytest.mark.slow
async def test_forged_frames_never_reach_a_client(tmp_path: Path) -> None:
    """The audit's four (bad UTF-8 text, reserved opcode 3, a close the server never sent, a
    300-byte ping), each alone and one hidden behind a well-formed record, are not delivered;
    well-formed text and binary broadcasts published the same way are, in order after them."""
    server, serve, port, publisher = await served(tmp_path)
    client = await RawClient.connect(port, "/api/ws/rooms")
    try:
        opcode, greeting = await client.frame()
        assert opcode == 1 and b'"pid"' in greeting
        forged = [
            record(1, b"\xc3\x28 not UTF-8"),
            record(3, b"reserved"),
            record(8, struct.pack("!H", 1000) + b"bye"),
            record(9, b"p" * 300),
            record(1, b"fine") + record(9, b"behind a good one"),
        ]
        for one in forged:
            publisher.publish("wsside:0", message(one))
        publisher.publish("wsside:0", message(record(1, "fence ✓".encode())))
        publisher.publish("wsside:0", message(record(2, b"\x00\xffbinary")))
        assert await client.frame() == (1, "fence ✓".encode())
        assert await client.frame() == (2, b"\x00\xffbinary")
        lines = await serve.expect_all(REFUSED, "more messages on wsside:0", timeout=15)
        assert "record 1 is a text message that is not UTF-8" in lines[0], lines
        assert "(the last: record 2 has opcode 9: only text (1) and binary (2))" in lines[1]
        assert "4 more messages" in lines[1], lines
    finally:
        client.close()
        await serve.stop()
        publisher.close()
        server.stop()


@pytest.mark.slow
async def test_300_garbled_messages_make_two_plain_lines(tmp_path: Path) -> None:
    """Before, each made a line of its own with a raw struct error (`backplane: unpack_from
    requires a buffer of at least 22 bytes …`)."""
    server, serve, _, publisher = await served(tmp_path)
    try:
        for i in range(300):
            publisher.publish("wsside:0", message(record(1, b"x" * 20)[: 5 + i % 10]))
        first = await serve.expect(REFUSED, timeout=15)
        assert "record 1 is cut short" in first, first
        assert "anyone who may PUBLISH there can send to this process's clients" in first, first
        counted = 0
        while counted < 299:
            line = await serve.expect("more messages on wsside:0", timeout=15)
            found = re.search(r"(\d+) more messages", line)
            assert found, line
            counted += int(found.group(1))
        assert counted == 299
    finally:
        await serve.stop()
        publisher.close()
        server.stop()
    refusals = [line for line in serve.lines if REFUSED in line]
    assert len(refusals) <= 3, "".join(refusals)
    assert not [line for line in serve.lines if "unpack" in line or "Traceback" in line]
