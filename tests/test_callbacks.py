"""Callbacks: when each runs, with what, in which order; and the error policy."""

import asyncio

import aiohttp
import pytest
from tests.reliability.rawws import (
    CLOSE,
    PING,
    PONG,
    TEXT,
    FrameParser,
    close_payload,
    frame,
    upgrade_head,
)

from wsside._runtime.callback_queue import INBOX_HIGH_WATER

RECORDER = """
import probe
from wsside import Handler
h = Handler("/ws/r", default_room="lobby")

@h.on_connect
async def connect(conn, request):
    probe.record("connect", conn.in_room("lobby"), request.query.get("u"))
    await conn.send("welcome")

@h.on_message
def message(conn, data):
    probe.record("message", data)

@h.on_close
def close(conn, code, reason, by_client):
    probe.record("close", code, reason, by_client)

@h.on_ping
def ping(conn, payload):
    probe.record("ping", payload, type(payload))

@h.on_pong
def pong(conn, payload):
    probe.record("pong", payload, type(payload))
"""


async def test_each_callback_fires_with_its_arguments(serve, probe) -> None:
    s = await serve(RECORDER)
    ws = await s.connect("/api/ws/r?u=ann", autoping=False)
    assert await ws.receive_str() == "welcome"
    await ws.send_str('{"type": "chat"}')
    await ws.send_str("not json")
    await ws.send_str("123")
    await ws.send_bytes(b"\x01\x02")
    await ws.ping(b"hi")
    await ws.pong(b"yo")
    await probe.wait("pong")
    await ws.close(code=4000, message=b"bye")
    await probe.wait("close")
    assert probe.records == [
        ("connect", True, "ann"),  # default room joined before on_connect
        ("message", {"type": "chat"}),
        ("message", "not json"),
        ("message", 123),
        ("message", b"\x01\x02"),
        ("ping", b"hi", bytes),  # bytes, as the type says, not the parser's bytearray
        ("pong", b"yo", bytes),
        ("close", 4000, "bye", True),
    ]


async def test_on_ping_decides_and_default_answers_exactly_one_pong(serve, probe) -> None:
    s = await serve(
        RECORDER,
        """
        from wsside import Handler
        plain = Handler("/ws/plain")

        @plain.on_message
        def reply(conn, data):
            conn.send("after")
    """,
    )
    default = await s.connect("/api/ws/plain", autoping=False)
    await default.ping(b"one")
    await default.send_str("x")
    first, second = await default.receive(), await default.receive()
    # exactly one pong, then the reply (a second pong would come before it)
    assert (first.type, first.data) == (aiohttp.WSMsgType.PONG, b"one")
    assert (second.type, second.data) == (aiohttp.WSMsgType.TEXT, "after")

    custom = await s.connect("/api/ws/r", autoping=False)
    assert await custom.receive_str() == "welcome"
    await custom.ping(b"two")
    await probe.wait("ping")
    await custom.send_str("marker")
    await probe.wait("message")
    await custom.close()
    # on_ping did not call conn.pong(): nothing but the close reached the client
    assert (await custom.receive()).type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE)


async def test_on_close_once_when_the_server_closes(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/c")

        @h.on_message
        def go(conn, data):
            conn.close(4100, "go away")
            conn.close(4100, "go away")

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, reason, by_client)
    """)
    ws = await s.connect("/api/ws/c")
    await ws.send_str("x")
    msg = await ws.receive()
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4100, "go away")
    await probe.wait("close")
    assert probe.all("close") == [("close", 4100, "go away", False)]


async def test_on_close_once_when_the_client_drops_without_a_close_frame(serve, probe) -> None:
    s = await serve(RECORDER)
    reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
    writer.write(
        b"GET /api/ws/r HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await reader.readuntil(b"\r\n\r\n")
    await probe.wait("connect")
    writer.transport.abort()
    closes = await probe.wait("close")
    assert closes == [("close", 1006, "", True)]


async def test_finished_and_close_resolve_whether_asked_for_before_or_after_the_end(
    serve, probe
) -> None:
    """A session's futures are made on demand: one asked for after the end is born resolved."""
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/f/{name}")

        @h.on_connect
        def connect(conn, request):
            probe.record("connect", conn)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", conn)
    """)
    early_ws = await s.connect("/api/ws/f/early")
    late_ws = await s.connect("/api/ws/f/late")
    conns = {conn.params["name"]: conn for _, conn in await probe.wait("connect", 2)}
    sessions = {session.conn: session for session in s.sidecar.intake.sessions}
    finished = sessions[conns["early"]].finished
    assert not finished.done()
    await early_ws.close()
    await late_ws.close()
    await asyncio.wait_for(finished, 5)
    await probe.wait("close", 2)
    late = conns["late"]
    assert sessions[late] not in s.sidecar.intake.sessions  # ended, futures never asked for
    assert sessions[late].finished.done()
    await asyncio.wait_for(late.close(), 5)  # the socket is already closed


async def test_messages_are_handled_in_order_one_at_a_time(serve, probe) -> None:
    s = await serve("""
        import asyncio, probe
        from wsside import Handler
        h = Handler("/ws/o")
        busy = []

        @h.on_connect
        async def connect(conn, request):
            await asyncio.sleep(0.05)
            probe.record("step", "connect-done")

        @h.on_message
        async def message(conn, data):
            busy.append(data)
            probe.record("step", f"start {data} overlap={len(busy)}")
            await asyncio.sleep(0.01 * (5 - int(data)))
            probe.record("step", f"end {data}")
            busy.remove(data)
    """)
    ws = await s.connect("/api/ws/o")
    for i in range(5):
        await ws.send_str(str(i))
    steps = [r[1] for r in await probe.wait("step", 11)]
    expected = ["connect-done"]
    for i in range(5):
        expected += [f"start {i} overlap=1", f"end {i}"]
    assert steps == expected


async def test_a_slow_handler_does_not_delay_pongs_or_heartbeat(serve, probe) -> None:
    s = await serve("""
        import asyncio, probe
        from wsside import Handler
        h = Handler("/ws/slow", heartbeat=0.1)

        @h.on_message
        async def slow(conn, data):
            await asyncio.sleep(1.0)  # ten heartbeat intervals
            probe.record("done")
            await conn.send("finished")
    """)
    ws = await s.connect("/api/ws/slow", autoping=False)
    await ws.send_str("work")
    pings = 0
    while True:
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.PING:
            pings += 1
            await ws.pong(msg.data)
            await ws.ping(b"are you there")
        elif msg.type == aiohttp.WSMsgType.PONG:
            assert msg.data == b"are you there"
        else:
            break
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.TEXT, "finished")
    assert pings >= 5  # pings kept flowing and our pongs kept the connection alive


async def test_error_in_on_message_sends_an_error_frame_and_keeps_the_connection(
    serve, probe
) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/e")

        @h.on_message
        def boom(conn, data):
            if data == "boom":
                raise RuntimeError("crash manual")
            conn.send("still here")
    """)
    ws = await s.connect("/api/ws/e")
    await ws.send_str("boom")
    assert await ws.receive_json() == {"type": "error", "message": "crash manual"}
    await ws.send_str("again")
    assert await ws.receive_str() == "still here"
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert event["file"].endswith("h0.py") and event["line"] == 8
    assert event["callback"] == "on_message" and "RuntimeError: crash manual" in event["traceback"]


# asyncio.run refuses the coroutine without running it: Python then warns it was never awaited.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_asyncio_run_in_a_plain_def_is_told_to_await_instead(serve) -> None:
    # A synchronous program's way to call a coroutine: inside wsside's loop it cannot work.
    s = await serve("""
        import asyncio
        from wsside import Handler
        h = Handler("/ws/sync")

        async def count():
            return 1

        @h.on_message
        def message(conn, data):
            conn.send(asyncio.run(count()))
    """)
    ws = await s.connect("/api/ws/sync")
    await ws.send_str("x")
    assert (await ws.receive_json())["type"] == "error"
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert event["message"] == (
        "RuntimeError: asyncio.run() cannot be called from a running event loop (on_message "
        "runs on wsside's event loop: make it async def and await the coroutine instead)"
    )
    assert event["line"] == 11


async def test_an_error_raised_outside_the_handler_file_is_reported_at_the_declaration(
    serve,
) -> None:
    """A callback that is a builtin, or a function of another module, has no frame in the
    handler's file: the report names the Handler line instead of no place at all."""
    s = await serve("""
        import operator
        from wsside import Handler

        h = Handler("/ws/div", on_message=operator.truediv)
    """)
    ws = await s.connect("/api/ws/div")
    await ws.send_str("x")
    assert (await ws.receive_json())["type"] == "error"
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert event["file"].endswith("h0.py") and event["line"] == 5, event
    assert "TypeError: unsupported operand" in event["traceback"]


@pytest.mark.parametrize("kind", ["def", "async def"])
async def test_an_error_in_transform_raw_data_is_reported_as_the_transforms(
    serve, probe, kind: str
) -> None:
    s = await serve(f"""
        from wsside import Handler

        {kind} parse(raw):
            return int(raw)

        h = Handler("/ws/t", transform_raw_data=parse, on_message=lambda c, d: c.send(d + 1))
    """)
    ws = await s.connect("/api/ws/t")
    await ws.send_str("x")
    assert (await ws.receive_json())["type"] == "error"
    await ws.send_str("41")
    assert await ws.receive_json() == 42
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert event["callback"] == "transform_raw_data" and event["line"] == 5, event


async def test_without_error_details_the_frame_says_internal_error(serve, probe) -> None:
    s = await serve("""
        from typing import TypedDict
        from wsside import Handler

        class Note(TypedDict):
            text: str

        h = Handler("/ws/quiet", error_details=False, receives=Note)

        @h.on_message
        def boom(conn, data):
            raise RuntimeError("cannot reach postgres://app:s3cret@db/prod")
    """)
    ws = await s.connect("/api/ws/quiet")
    await ws.send_str('{"text": "hi"}')
    assert await ws.receive_json() == {"type": "error", "message": "Internal error"}
    # What was wrong with the client's own message is still said.
    await ws.send_str('{"text": 42}')
    assert await ws.receive_json() == {"type": "error", "message": "text: expected str, got int"}
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert "s3cret" in event["traceback"]  # the log keeps it


async def test_on_error_replaces_the_error_frame_and_its_own_errors_are_contained(
    serve, probe
) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/e")

        @h.on_message
        def boom(conn, data):
            raise ValueError(data)

        @h.on_error
        async def err(conn, exc):
            probe.record("error", type(exc).__name__, str(exc))
            if str(exc) == "twice":
                raise KeyError("on_error failed too")
            await conn.send("handled")
    """)
    ws = await s.connect("/api/ws/e")
    await ws.send_str("once")
    assert await ws.receive_str() == "handled"
    await ws.send_str("twice")
    await probe.wait("error", 2)
    await ws.send_str("thrice")
    assert await ws.receive_str() == "handled"  # still serving after on_error raised
    assert [e["callback"] for e in s.events if e["type"] == "runtime_error"] == [
        "on_message",
        "on_message",
        "on_error",
        "on_message",
    ]


async def test_on_connect_error_closes_1011(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/e")

        @h.on_connect
        def connect(conn, request):
            raise RuntimeError("no welcome")

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, reason, by_client)
    """)
    ws = await s.connect("/api/ws/e")
    assert await ws.receive_json() == {"type": "error", "message": "no welcome"}
    msg = await ws.receive()
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1011, "Internal error")
    assert await probe.wait("close") == [("close", 1011, "Internal error", False)]


async def test_on_connect_that_closes_itself_then_raises_is_not_closed_twice(serve, probe) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/e")

        @h.on_connect
        def connect(conn, request):
            conn.close(4000, "mine")
            raise RuntimeError("after close")
    """)
    ws = await s.connect("/api/ws/e")
    msg = await ws.receive()
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4000, "mine")


async def test_messages_queued_behind_an_on_connect_that_closes_are_not_handled(
    serve, probe
) -> None:
    """A page refused in `on_connect` (`conn.close(4001)` after a lookup) had the messages it
    sent meanwhile handled once the close was sent: a refused client acted (a walkthrough's
    spam reached the room). Once the server has closed, queued messages are dropped, as
    what comes after its close frame is."""
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/gate")

        @h.on_connect
        async def connect(conn, request):
            await probe.gate.wait()  # a token lookup
            await conn.close(4001, "bad token")

        @h.on_message
        def message(conn, data):
            probe.record("message", data)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, reason, by_client)
    """)
    probe.gate = asyncio.Event()
    ws = await s.connect("/api/ws/gate", autoping=False)
    await ws.send_str("spam")
    await ws.ping(b"read")  # its pong: the server has read (and queued) the message before it
    assert (await ws.receive()).type == aiohttp.WSMsgType.PONG
    probe.gate.set()
    msg = await ws.receive()
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4001, "bad token")
    assert await probe.wait("close") == [("close", 4001, "bad token", False)]
    assert probe.all("message") == []


async def test_a_close_while_reading_is_paused_sends_its_frame_before_the_held_answer(
    serve, probe
) -> None:
    """A flood paused reading with the client's own close frame held; the handler then
    closed with 4000. Resuming the reading first delivered the held close frame, taken for
    the answer to ours, which then never went: the client saw the socket end, no 4000."""
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/flood")

        @h.on_message
        async def message(conn, data):
            if data == "first":
                probe.record("first")
                await probe.gate.wait()
                await conn.close(4000, "bye")
    """)
    probe.gate = asyncio.Event()
    reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
    writer.write(upgrade_head("/api/ws/flood"))
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    flood = [frame(TEXT, b"first"), *(frame(TEXT, b"m") for _ in range(INBOX_HIGH_WATER + 100))]
    writer.write(b"".join([frame(PING, b"p"), *flood, frame(CLOSE, close_payload(1000))]))
    await probe.wait("first")  # the read was handled: reading paused, the close frame held
    probe.gate.set()
    parser, got = FrameParser(), []
    while not got or got[-1][0] != CLOSE:
        data = await asyncio.wait_for(reader.read(65536), 5)
        assert data, f"the socket ended without our close frame: {got}"
        got += parser.feed(data)
    assert got == [(PONG, b"p"), (CLOSE, close_payload(4000, b"bye"))]
    writer.close()


async def test_a_stop_handles_the_messages_already_received(serve, probe) -> None:
    """`conn.close()` drops the messages its handler has not got yet; a stop (1001) does not:
    what the client sent before it is handled, as before."""
    s = await serve("""
        import asyncio
        import probe
        from wsside import Handler
        h = Handler("/ws/save")

        @h.on_message
        async def message(conn, data):
            await asyncio.sleep(0.05)  # a write to a database
            probe.record("saved", data)
    """)
    ws = await s.connect("/api/ws/save", autoping=False)
    for n in range(5):
        await ws.send_str(f"m{n}")
    await ws.ping(b"read")  # its pong: the five were read before it
    assert (await ws.receive()).type == aiohttp.WSMsgType.PONG
    await s.sidecar.close()
    assert [data for _, data in await probe.wait("saved", 5)] == ["m0", "m1", "m2", "m3", "m4"]


async def test_a_feed_awaiting_send_after_its_connection_closed_lets_the_server_run(
    serve, probe
) -> None:
    """`while True: await conn.send(...)` once its connection had closed: each send returned
    at once without yielding, so the loop spun and nothing else ran again, every client
    frozen. Once the connection closes, awaiting a send gives the loop a turn."""
    s = await serve("""
        import asyncio
        import probe
        from wsside import Handler
        h = Handler("/ws/feed")

        async def feed(conn):
            conn.close()  # (or its client left)
            probe.record("closing")
            spins = 0
            while True:
                await conn.send("x")
                spins += 1
                if probe.other_ran:
                    probe.record("yielded")
                    return
                if spins > 300_000:  # no turn for anyone else: ends the test's wait
                    probe.record("spun")
                    return

        @h.on_message
        def message(conn, data):
            if data == "feed":
                probe.tasks.append(asyncio.create_task(feed(conn)))
            else:
                probe.other_ran = True
    """)
    probe.other_ran, probe.tasks = False, []
    other = await s.connect("/api/ws/feed")
    fed = await s.connect("/api/ws/feed")
    await fed.send_str("feed")
    await probe.wait("closing")
    await other.send_str("hello")
    while not probe.all("spun") and not probe.all("yielded"):
        await probe.wait("yielded")
    assert [kind for kind, *_ in probe.records if kind in ("spun", "yielded")] == ["yielded"]


async def test_on_close_errors_are_logged_not_raised(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/e")

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close")
            raise RuntimeError("on_close broke")

        @h.on_message
        def echo(conn, data):
            conn.send(data)
    """)
    first = await s.connect("/api/ws/e")
    await first.close()
    await probe.wait("close")
    second = await s.connect("/api/ws/e")
    await second.send_str("alive")
    assert await second.receive_str() == "alive"
    assert any(e["type"] == "runtime_error" and e["callback"] == "on_close" for e in s.events)


async def test_sync_and_async_callbacks_mix(serve) -> None:
    s = await serve("""
        import asyncio
        from wsside import Handler

        async def later(conn, data):
            await asyncio.sleep(0)
            return data.upper()

        h = Handler("/ws/m", transform_raw_data=lambda raw: raw.strip(),
                    on_message=lambda conn, data: conn.send(data))
        h.respond({"type": "x"}, later)
    """)
    ws = await s.connect("/api/ws/m")
    await ws.send_str("  padded  ")
    assert await ws.receive_str() == "padded"


@pytest.mark.parametrize(
    "queued, dropped",
    [
        (0, ""),
        (1, ", and the message queued after it was dropped"),
        (500, ", and the 500 messages queued after it were dropped"),
    ],
)
async def test_a_callback_hanging_after_close_is_cancelled_and_on_close_still_runs(
    serve, probe, monkeypatch, tmp_path, queued, dropped
) -> None:
    from wsside._runtime import callback_queue

    monkeypatch.setattr(callback_queue, "CALLBACK_GRACE", 0.2)
    monkeypatch.chdir(tmp_path)  # the handler file is named from here, as in every other line
    s = await serve("""
        import asyncio, probe
        from wsside import Handler
        h = Handler("/ws/hang")

        @h.on_message
        async def forever(conn, data):
            probe.record("hung")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                probe.record("cancelled")
                raise

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, by_client)
    """)
    ws = await s.connect("/api/ws/hang", autoping=False)
    await ws.send_str("x")
    for i in range(queued):
        await ws.send_str(f"queued behind it {i}")
    await probe.wait("hung")
    await ws.ping()  # answered once the messages before it were read, so all were queued
    assert (await ws.receive()).type == aiohttp.WSMsgType.PONG
    await ws.close()
    assert await probe.wait("close") == [("close", 1000, True)]
    assert probe.all("cancelled") == [("cancelled",)] and len(probe.all("hung")) == 1
    warning = next(e for e in s.events if e["type"] == "log")
    assert "still running 0.2 s after the connection closed" in warning["message"]
    assert warning["message"].endswith(" at ws0/h0.py:10; it was cancelled" + dropped)
    assert not s.sidecar.registry.hubs["/ws/hang"].connections


async def test_an_on_close_that_waits_past_the_grace_goes_on_after_its_connection_left(
    serve, probe, monkeypatch
) -> None:
    """A presence clean-up waits before saying "offline" (a reload should not flap): past
    `CALLBACK_GRACE` the connection leaves its rooms, but `on_close` itself is not cancelled,
    what it sends at the end still goes out, and the session is finished once it returns."""
    from wsside._runtime import callback_queue

    monkeypatch.setattr(callback_queue, "CALLBACK_GRACE", 0.2)
    s = await serve("""
        import asyncio, probe
        from wsside import Handler
        h = Handler("/ws/presence", default_room="contacts")
        probe.gate = asyncio.Event()

        @h.on_message
        def count(conn, data):
            conn.send(str(len(h.connections)))

        @h.on_close
        async def close(conn, code, reason, by_client):
            probe.record("closing")
            try:
                await probe.gate.wait()
            except asyncio.CancelledError:
                probe.record("cancelled")
                raise
            h.broadcast("alice went offline", room="contacts")
            probe.record("done")
    """)
    alice = await s.connect("/api/ws/presence")
    (alice_session,) = s.sidecar.intake.sessions
    bob = await s.connect("/api/ws/presence")
    await alice.close()
    await probe.wait("closing")
    # Bob asks how many are connected until alice has left (at the grace, 0.2 s on).
    for _ in range(200):
        await bob.send_str("count")
        if await bob.receive_str() == "1":
            break
    else:
        raise AssertionError("alice never left the endpoint")
    assert probe.all("cancelled") == [] and probe.all("done") == []
    assert not alice_session.finished.done()  # on_close runs on
    probe.gate.set()
    assert await bob.receive_str() == "alice went offline"
    assert await probe.wait("done") == [("done",)]
    await asyncio.wait_for(asyncio.shield(alice_session.finished), 5)
    assert not [e for e in s.events if e["type"] == "log" and "cancelled" in e["message"]]


async def test_a_flood_pauses_reading_then_everything_is_handled_in_order(
    serve, probe, monkeypatch
) -> None:
    from wsside._runtime import callback_queue

    monkeypatch.setattr(callback_queue, "INBOX_HIGH_WATER", 8)
    s = await serve("""
        import asyncio, probe
        from wsside import Handler
        h = Handler("/ws/flood")
        gate = asyncio.Event()
        probe.gate = gate

        @h.on_message
        async def slow(conn, data):
            await gate.wait()
            await conn.send(data)
    """)
    ws = await s.connect("/api/ws/flood")
    for i in range(40):  # well past the high-water mark: the sidecar stops reading
        await ws.send_str(str(i))
    await ws.send_str("last")
    probe.gate.set()
    got = [await ws.receive_str() for _ in range(41)]
    assert got == [str(i) for i in range(40)] + ["last"]  # reading resumed, nothing lost


async def test_a_flood_of_pings_for_on_ping_pauses_reading_too(serve, probe, monkeypatch) -> None:
    """Pings (and pongs) for `on_ping` / `on_pong` behind a slow handler are queued like
    messages and count toward the same high-water mark: they grew the queue without bound
    (800,000 pings: 166 MiB) while the socket was still read."""
    from wsside._runtime import callback_queue

    monkeypatch.setattr(callback_queue, "INBOX_HIGH_WATER", 8)
    s = await serve("""
        import asyncio, gc, probe
        from wsside import Handler
        from wsside._runtime.session import Session
        h = Handler("/ws/pinged")
        gate = asyncio.Event()
        probe.gate = gate
        pings = []

        @h.on_message
        async def slow(conn, data):
            if data == "report":  # the flooding session: reading paused? jobs queued
                for o in gc.get_objects():
                    if type(o) is Session and o.conn is not conn:
                        conn.send([o._reading_paused, len(o._inbox)])
                return
            await gate.wait()
            if data == "last":
                conn.send(pings)

        @h.on_ping
        def ping(conn, payload):
            pings.append(int(payload))
    """)
    ws = await s.connect("/api/ws/pinged", autoping=False)
    watcher = await s.connect("/api/ws/pinged")
    await ws.send_str("first")  # the handler now waits: what follows queues
    for i in range(100):
        await ws.ping(str(i).encode())
    await ws.send_str("last")
    while True:  # until the sidecar stops reading the flooding client
        await watcher.send_str("report")
        paused, queued = await watcher.receive_json(timeout=5)
        if paused:
            break
    assert queued <= 8 + 1, queued  # paused by the pings, not only by "last" after them
    probe.gate.set()
    assert await ws.receive_json(timeout=5) == list(range(100))  # every ping, in order


EXITING = """
import asyncio, sys
from wsside import Handler

async def async_message(conn, data):
    await asyncio.sleep(0)
    sys.exit(4)

def sync_message(conn, data):
    sys.exit("bad input")  # as argparse and click do

def refuse(request):
    sys.exit(5)

async def async_refuse(request):
    sys.exit(5)

def on_connect(conn, request):
    sys.exit(4)

def on_close(conn, code, reason, by_client):
    sys.exit(6)

def caught(conn, exc):
    conn.send({"caught": type(exc).__name__, "said": str(exc)})

Handler("/async", on_message=async_message)
Handler("/sync", on_message=sync_message)
Handler("/auth", authenticate=refuse)
Handler("/async-auth", authenticate=async_refuse)
Handler("/connect", on_connect=on_connect)
Handler("/close", on_close=on_close)
Handler("/caught", on_message=sync_message, on_error=caught)
ticker = Handler("/ticker")

@ticker.background
async def tick(handler):
    sys.exit(7)
"""


async def test_sys_exit_in_a_callback_fails_that_callback_not_the_server(tmp_path) -> None:
    """argparse and click call sys.exit() on bad input: in a handler that is the handler's
    error, answered as any other (error frame, 500, 1011), and the server serves on."""
    from serve_process import ServeProcess, free_port

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "exiting.py").write_text(EXITING)
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    base = f"http://127.0.0.1:{port}/api"
    try:
        await server.expect("a background task called sys.exit(7)")
        await server.expect("serving on")
        async with aiohttp.ClientSession() as client:
            bystander = await client.ws_connect(base + "/sync")
            for path, said in (("/async", "4"), ("/sync", "'bad input'")):
                ws = await client.ws_connect(base + path)
                await ws.send_str("hi")
                assert await ws.receive_json(timeout=5) == {
                    "type": "error",
                    "message": f"on_message called sys.exit({said})",
                }
                await ws.close()
            # on_error is typed to get an Exception, and does.
            ws = await client.ws_connect(base + "/caught")
            await ws.send_str("hi")
            assert await ws.receive_json(timeout=5) == {
                "caught": "RuntimeError",
                "said": "on_message called sys.exit('bad input')",
            }
            await ws.close()
            for path in ("/auth", "/async-auth"):
                try:
                    await client.ws_connect(base + path)
                except aiohttp.WSServerHandshakeError as refused:
                    assert refused.status == 500
                else:
                    raise AssertionError(f"{path} was accepted")
            ws = await client.ws_connect(base + "/connect")
            assert await ws.receive_json(timeout=5) == {
                "type": "error",
                "message": "on_connect called sys.exit(4)",
            }
            msg = await ws.receive(timeout=5)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1011)
            ws = await client.ws_connect(base + "/close")
            await ws.close()
            await server.expect("error in on_close of ws/exiting.py:")
            await server.expect("RuntimeError: on_close called sys.exit(6)")
            await bystander.send_str("still here")
            assert await bystander.receive_json(timeout=5) == {
                "type": "error",
                "message": "on_message called sys.exit('bad input')",
            }
        assert server.proc.returncode is None
    finally:
        assert await server.stop() == 0


async def test_a_message_no_rule_matches_without_on_message_is_said_once(
    serve, monkeypatch, tmp_path
) -> None:
    """A handler of rules only: a `type` with a typo got nothing and no line said why."""
    monkeypatch.chdir(tmp_path)  # the handler file is named from here, as in every other line
    s = await serve("""
        from wsside import Handler, Response
        h = Handler("/ws/echo", responses=[
            Response({"type": "ping"}, {"type": "pong"}),
            Response({"type": "time"}, {"type": "now"}),
        ])
    """)
    ws = await s.connect("/api/ws/echo")
    await ws.send_str('{"type": "pnig", "secret": "not logged"}')
    await ws.send_str("[1, 2]")
    await ws.send_str('{"type": "ping"}')
    assert await ws.receive_json() == {"type": "pong"}  # the two before got no answer
    said = [e["message"] for e in s.events if e["type"] == "log" and "matched no" in e["message"]]
    assert said == [
        'a message to /ws/echo ({"type": "pnig"}) matched no Response rule of ws0/h0.py:3 and '
        "it has no on_message, so it was dropped without an answer; its rules match "
        '{"type": "ping"}, {"type": "time"}; said once (an on_message gets every message no '
        "rule takes)"
    ]
