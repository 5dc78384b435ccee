"""Connection API: send types, ping/pong, close validation and idempotence, attributes."""

import asyncio
import json
import socket

import aiohttp
import pytest

from wsside.connection import Connection

SEND_ALL = """
from wsside import Handler
h = Handler("/ws/send")

@h.on_connect
def go(conn, request):
    conn.send({"a": 1})
    conn.send([1, "two"])
    conn.send(42)
    conn.send(1.5)
    conn.send(True)
    conn.send(None)
    conn.send("plain text")
    conn.send("{\\"not\\": \\"reparsed\\"}")
    conn.send(b"\\x00\\x01")
    conn.send(bytearray(b"ba"))
    conn.send(memoryview(b"mv"))
    try:
        conn.send(object())
    except TypeError as exc:
        conn.send({"type_error": str(exc)})
    conn.send("done")
"""


async def test_send_encodes_each_type(serve) -> None:
    s = await serve(SEND_ALL)
    ws = await s.connect("/api/ws/send")
    got = []
    while True:
        msg = await ws.receive()
        got.append((msg.type, msg.data))
        if msg.data == "done":
            break
    T, B = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
    assert got[:11] == [
        (T, '{"a":1}'),
        (T, '[1,"two"]'),
        (T, "42"),
        (T, "1.5"),
        (T, "true"),
        (T, "null"),
        (T, "plain text"),
        (T, '{"not": "reparsed"}'),
        (B, b"\x00\x01"),
        (B, b"ba"),
        (B, b"mv"),
    ]
    assert "cannot send a object" in json.loads(got[11][1])["type_error"]


MISFITS = """
import datetime, decimal
from wsside import Handler
h = Handler("/ws/misfits")

async def fetch():
    return {"n": 1}

# numpy's types, by name (the hint goes by the type's name; numpy is not a test dependency).
float32 = type("float32", (), {})
ndarray = type("ndarray", (), {})

@h.on_connect
def go(conn, request):
    for value in (
        {"at": datetime.datetime(2026, 12, 6, 12, 0)},
        datetime.date(2026, 12, 6),
        [decimal.Decimal("1.10")],
        {"rooms": frozenset({"a"})},
        {1, 2},
        fetch(),
        {"loss": float32()},
        ndarray(),
    ):
        try:
            conn.send(value)
        except TypeError as exc:
            conn.send(str(exc))
"""


async def test_a_value_json_cannot_spell_says_what_to_send_instead(serve) -> None:
    # What a Django or SQLAlchemy row holds, and a coroutine passed without its await.
    s = await serve(MISFITS)
    ws = await s.connect("/api/ws/misfits")
    got = [(await ws.receive_str()) for _ in range(8)]
    assert got == [
        "Object of type datetime is not JSON serializable: send its .isoformat() (a str)",
        "cannot send a date: send its .isoformat() (a str)",
        "Object of type Decimal is not JSON serializable: send str() of it (exact) or "
        "float() of it",
        "Object of type frozenset is not JSON serializable: send a list (sorted(), or list())",
        "cannot send a set: send a list (sorted(), or list())",
        "cannot send a coroutine: await it first (conn.send(await fetch()))",
        "Object of type float32 is not JSON serializable: send .item() of it (a Python number)",
        "cannot send a ndarray: send .tolist() of it (JSON), or .tobytes() of it (binary)",
    ]


async def test_another_librarys_name_says_what_does_its_job(serve) -> None:
    # socket.io's, Starlette's and the JavaScript plugin's names for what a connection does.
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/names")

        @h.on_message
        def message(conn, data):
            try:
                getattr(conn, data)
            except AttributeError as exc:
                conn.send(str(exc))
    """)
    ws = await s.connect("/api/ws/names")
    said = {}
    names = ("emit", "send_json", "getRooms", "sid", "broadcastAllRooms", "bufferedAmount")
    for name in (*names, "nonesuch"):
        await ws.send_str(name)
        said[name] = await ws.receive_str()
    assert said == {
        "emit": "'Connection' object has no attribute 'emit': conn.send({'type': event, ...}) "
        "sends to this client, conn.broadcast(...) to the others (docs/patterns.md maps "
        "python-socketio)",
        "send_json": "'Connection' object has no attribute 'send_json': conn.send(data) sends "
        "to this client (JSON for a dict, text for a str, binary for bytes)",
        "getRooms": "'Connection' object has no attribute 'getRooms': sorted(conn.rooms)",
        "sid": "'Connection' object has no attribute 'sid': conn.id",
        "broadcastAllRooms": "'Connection' object has no attribute 'broadcastAllRooms': "
        "conn.broadcast_all_rooms(data, include_self=False)",
        "bufferedAmount": "'Connection' object has no attribute 'bufferedAmount': "
        "conn.buffered_amount",
        "nonesuch": "'Connection' object has no attribute 'nonesuch'",
    }


async def test_async_send_awaits_and_closed_send_is_a_noop(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/a")

        @h.on_message
        async def echo(conn, data):
            await conn.send({"echo": data})

        @h.on_close
        async def closed(conn, code, reason, by_client):
            result = conn.send("after close")
            await result
            probe.record("close", conn.closed)
    """)
    ws = await s.connect("/api/ws/a")
    await ws.send_str('{"x": [1, 2]}')
    assert await ws.receive_json() == {"echo": {"x": [1, 2]}}
    await ws.close()
    assert (await probe.wait("close"))[0] == ("close", True)


async def test_connection_attributes(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/room/{name}", subprotocols=["v1"])

        @h.on_connect
        def hello(conn, request):
            conn.send({
                "id": conn.id, "path": conn.path, "params": conn.params,
                "q": conn.query.get("user"), "hdr": conn.headers.get("X-Test"),
                "sub": conn.subprotocol, "closed": conn.closed, "rooms": sorted(conn.rooms),
                "metadata": conn.metadata,
                "rq": [request.path, request.params, request.query_string],
            })
    """)
    ws = await s.connect("/api/ws/room/blue?user=ann", headers={"X-Test": "yes"}, protocols=["v1"])
    info = await ws.receive_json()
    assert len(info["id"]) == 36 and info["id"][14] == "4"  # uuid4
    assert info["path"] == "/api/ws/room/blue"
    assert info["params"] == {"name": "blue"}
    assert info["q"] == "ann" and info["hdr"] == "yes" and info["sub"] == "v1"
    assert info["closed"] is False and info["rooms"] == [] and info["metadata"] == {}
    assert info["rq"] == ["/api/ws/room/blue", {"name": "blue"}, "user=ann"]


async def test_each_connection_keeps_its_own_id(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/ids")

        @h.on_message
        def tell(conn, data):
            conn.send(conn.id)
    """)
    first, second = await s.connect("/api/ws/ids"), await s.connect("/api/ws/ids")
    ids = []
    for ws in (first, second, first):
        await ws.send_str("id?")
        ids.append(await ws.receive_str())
    assert ids[0] == ids[2] != ids[1]
    assert all(len(i) == 36 and i[14] == "4" for i in ids)


async def test_metadata_is_per_connection_and_can_be_replaced(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/m/{name}")

        @h.on_message
        def go(conn, data):
            if data == "replace":
                conn.metadata = {"replaced": True}
            else:
                conn.metadata.setdefault("seen", []).append(data)
            conn.send(conn.metadata)
    """)
    a = await s.connect("/api/ws/m/a")
    b = await s.connect("/api/ws/m/b")
    for ws, text, expected in [
        (a, "x", {"seen": ["x"]}),
        (b, "y", {"seen": ["y"]}),
        (a, "z", {"seen": ["x", "z"]}),
        (a, "replace", {"replaced": True}),
    ]:
        await ws.send_str(text)
        assert await ws.receive_json() == expected


async def test_ping_pong_methods_reach_the_client(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/p")

        @h.on_message
        def go(conn, data):
            conn.ping(b"p1")
            conn.pong("p2")
    """)
    ws = await s.connect("/api/ws/p", autoping=False)
    await ws.send_str("go")
    first, second = await ws.receive(), await ws.receive()
    assert (first.type, first.data) == (aiohttp.WSMsgType.PING, b"p1")
    assert (second.type, second.data) == (aiohttp.WSMsgType.PONG, b"p2")


@pytest.mark.parametrize(
    "code, reason, error",
    [
        (1004, "", "invalid close code"),
        (1005, "", "invalid close code"),
        (999, "", "invalid"),
        (5000, "", "invalid"),
        ("1000", "", "must be an int"),
    ],
)
async def test_close_validates_code_and_reason(serve, code, reason, error) -> None:
    s = await serve(f"""
        from wsside import Handler
        h = Handler("/ws/c")

        @h.on_message
        def go(conn, data):
            try:
                conn.close({code!r}, {reason!r})
            except ValueError as exc:
                conn.send("ValueError: " + str(exc))
    """)
    ws = await s.connect("/api/ws/c")
    await ws.send_str("x")
    reply = await ws.receive_str()
    assert reply.startswith("ValueError") and error.split("|")[0] in reply
    assert not ws.closed  # a rejected close leaves the connection fully usable


async def test_close_is_idempotent_and_carries_code_and_reason(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/c")

        @h.on_message
        async def go(conn, data):
            first = conn.close(4001, "server-bye")
            conn.close(4002, "ignored")
            await first
            probe.record("closed", conn.closed)

        @h.on_close
        def closed(conn, code, reason, by_client):
            probe.record("on_close", code, reason, by_client)
    """)
    ws = await s.connect("/api/ws/c")
    await ws.send_str("x")
    msg = await ws.receive()
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert (msg.data, msg.extra) == (4001, "server-bye")
    await probe.wait("closed")
    assert probe.all("on_close") == [("on_close", 4001, "server-bye", False)]


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client's frame, masked with 0 (the payload as is), of up to 125 bytes."""
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


async def small_window_client(
    port: int, path: str, first: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw client of `path` with a 4 KiB receive buffer (so that what the server sends it
    stays queued on the server's side while it reads nothing), upgraded; `first` follows the
    request."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=raw)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n".encode()
        + b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + b"Sec-WebSocket-Version: 13\r\n\r\n"
        + first
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def test_buffered_amount_grows_for_a_client_that_reads_nothing(serve) -> None:
    """`conn.buffered_amount` (a browser WebSocket's `bufferedAmount`, server side): what
    waits in this process for a client that reads nothing grows past the kernel's buffers;
    a client that reads has 0."""
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/buf")

        @h.on_message
        def act(conn, data):
            if data == "fill":
                conn.send(b"x" * (4 << 20))  # more than the sockets' buffers take at once
            elif data == "amounts":
                conn.send(sorted(c.buffered_amount for c in h.connections))
    """)
    # After the request, a masked text frame (mask 0): "fill".
    _, writer = await small_window_client(s.port, "/api/ws/buf", _masked(0x1, b"fill"))
    try:
        reading = await s.connect("/api/ws/buf")
        for _ in range(100):  # until the stalled one's "fill" ran (another connection)
            await reading.send_str("amounts")
            amounts = await reading.receive_json(timeout=5)
            if amounts[-1] > 0:
                break
        assert amounts[0] == 0, amounts  # the reading client
        assert amounts[-1] > 1 << 20, amounts  # most of the 4 MiB waits here
    finally:
        writer.close()


def test_attribute_lookup_of_a_connection_stays_on_the_fast_path() -> None:
    # A class with __getattr__ has every attribute lookup of its instances take CPython's
    # slow path: the other libraries' names are properties instead (bench/instructions.py:
    # 23,900 instructions per raw echo with __getattr__, 22,800 without).
    assert not hasattr(Connection, "__getattr__")  # nor from a base class or a mixin
    assert type.__getattribute__(Connection, "__getattribute__") is object.__getattribute__


async def test_pings_from_a_client_that_reads_nothing_get_one_pong_once_it_reads(serve) -> None:
    """A client that sends pings and reads nothing: while its pongs cannot be written, only
    the last ping's waits (RFC 6455 §5.5.3), so its buffer stays near the transport's 64 KiB
    instead of growing with every ping up to the 16 MiB of a 1013; it comes once the client
    reads."""
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/pings")

        @h.on_message
        def report(conn, data):  # to the other client: what waits for this one
            for other in h.connections:
                if other is not conn:
                    other.send(conn.buffered_amount)
    """)
    watcher = await s.connect("/api/ws/pings")
    reader, writer = await small_window_client(s.port, "/api/ws/pings")
    try:
        pings = 100_000  # 12 MB of pongs, more than the kernels' buffers hold
        # One write: a write per ping would cost this client O(n) each on Python 3.12+, whose
        # asyncio sums its whole write buffer (a deque of every write) at each write.
        writer.write(
            b"".join(_masked(0x9, f"{i:06d}".encode() * 20) for i in range(pings))  # 120 bytes
            + _masked(0x1, b"report")  # after every ping, on this connection
        )
        await writer.drain()
        waiting = await watcher.receive_json(timeout=30)
        assert waiting < 256 * 1024, waiting
        # Once it reads: what was written before the pause, then the last ping's pong.
        last = f"{pings - 1:06d}".encode() * 20
        seen = 0
        while True:
            frame = await asyncio.wait_for(reader.readexactly(2), 10)
            payload = await reader.readexactly(frame[1] & 0x7F)
            if frame[0] == 0x8A:
                seen += 1
                if payload == last:
                    break
        assert seen < pings // 2, seen
    finally:
        writer.close()
