"""One or more tests per row of the README's Handler options table (its "Handler API" section)."""

import asyncio
import time

import aiohttp
import pytest

from support import raw_upgrade


async def test_heartbeat_closes_after_three_unanswered_pings(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/hb", heartbeat=0.1)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, reason, by_client)
    """)
    ws = await s.connect("/api/ws/hb", autoping=False)
    started = time.monotonic()
    pings = []
    while True:
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.PING:
            break
        pings.append(msg.data)
    elapsed = time.monotonic() - started
    assert pings == [b"heartbeat"] * 3
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1000, "No pong received")
    assert 0.35 <= elapsed < 1.5
    assert await probe.wait("close") == [("close", 1000, "No pong received", False)]


async def test_heartbeat_answered_keeps_the_connection(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/hb", heartbeat=0.05)
    """)
    ws = await s.connect("/api/ws/hb", autoping=False)
    for _ in range(8):  # 8 intervals, well past the 3-missed limit
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.PING
        await ws.pong(msg.data)
    assert not ws.closed


async def test_inactivity_timeout_counts_data_and_pings_but_not_pongs(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/idle", inactivity_timeout=0.3)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, reason, by_client)
    """)
    ws = await s.connect("/api/ws/idle", autoping=False)
    started = time.monotonic()
    for _ in range(3):  # keep it alive with data, then with a ping
        await asyncio.sleep(0.15)  # time itself is under test here
        await ws.send_str("still here")
    await ws.ping()
    assert (await ws.receive()).type == aiohttp.WSMsgType.PONG
    last_activity = time.monotonic()

    async def pong_forever() -> None:  # pongs do not count as activity
        while True:
            await asyncio.sleep(0.05)
            await ws.pong(b"unsolicited")

    ponger = asyncio.create_task(pong_forever())
    msg = await ws.receive()
    ponger.cancel()
    now = time.monotonic()
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1000, "Inactivity timeout")
    assert 0.25 <= now - last_activity < 1.0
    assert now - started >= 0.75  # the data and the ping had kept it open
    assert await probe.wait("close") == [("close", 1000, "Inactivity timeout", False)]


@pytest.mark.parametrize("setting, expect", [("True", True), ("False", False)])
async def test_per_message_deflate_on_and_off(serve, setting, expect) -> None:
    s = await serve(f"""
        from wsside import Handler
        h = Handler("/ws/z", per_message_deflate={setting})

        @h.on_message
        def echo(conn, data):
            conn.send(data)
    """)
    head = await raw_upgrade(
        s.port, "/api/ws/z", "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    )
    assert head.startswith(b"HTTP/1.1 101")
    assert (b"permessage-deflate" in head.lower()) is expect
    ws = await s.connect("/api/ws/z", compress=15)
    big = "abc" * 5000
    await ws.send_str(big)
    assert await ws.receive_str() == big


@pytest.mark.parametrize(
    "offered, chosen",
    [(["b", "a"], "b"), (["a", "b"], "b"), (["a"], "a"), (["x"], None), ([], None)],
)
async def test_subprotocols_follow_the_server_preference(serve, offered, chosen) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/p", subprotocols=["b", "a"])

        @h.on_connect
        def hello(conn, request):
            conn.send({"sub": conn.subprotocol})
    """)
    extra = f"Sec-WebSocket-Protocol: {', '.join(offered)}\r\n" if offered else ""
    head = await raw_upgrade(s.port, "/api/ws/p", extra)
    assert head.startswith(b"HTTP/1.1 101")
    if chosen:
        assert f"sec-websocket-protocol: {chosen}\r\n".encode() in head.lower()
    else:
        assert b"sec-websocket-protocol" not in head.lower()


@pytest.mark.parametrize(
    "options, accepts",
    [
        ("", "declares none (no subprotocols=)"),
        (", subprotocols=['v1']", "accepts none of them (subprotocols=['v1'])"),
    ],
)
async def test_protocols_offered_that_a_handler_does_not_accept_are_warned_of_once(
    serve, options, accepts
) -> None:
    # The JavaScript plugin accepted the first one offered; browsers and Node's ws refuse a
    # 101 without it.
    s = await serve(f"""
        from wsside import Handler
        h = Handler("/ws/plain"{options})
    """)
    for _ in range(2):
        head = await raw_upgrade(s.port, "/api/ws/plain", "Sec-WebSocket-Protocol: x, y\r\n")
        assert head.startswith(b"HTTP/1.1 101") and b"sec-websocket-protocol" not in head.lower()
    head = await raw_upgrade(s.port, "/api/ws/plain")
    assert head.startswith(b"HTTP/1.1 101")
    warned = [e["message"] for e in s.events if e.get("level") == "warning"]
    assert len(warned) == 1 and warned[0].endswith(
        f"/ws0/h0.py:3: a client offered the subprotocols 'x', 'y' and /ws/plain {accepts}, "
        "so the connection opens without one, which browsers and Node's ws refuse (they close "
        "with 1006): list the ones to accept in subprotocols="
    ), warned


AUTH = """
import probe
from wsside import Handler

def check(request):
    probe.record("auth", dict(request.params))
    token = request.query.get("token")
    if token == "boom":
        raise RuntimeError("auth backend down")
    return {"user": "ann", "room": request.params["room"]} if token == "good" else False

async def check_async(request):
    return request.headers.get("X-Token") == "ok"

fn = Handler("/ws/fn/{room}", authenticate=check)
afn = Handler("/ws/afn", authenticate=check_async)
bearer = Handler("/ws/bearer", authenticate=True)
header = Handler("/ws/header", authenticate="X-Api-Key")

@fn.on_connect
def hello(conn, request):
    conn.send(conn.metadata)
"""


@pytest.mark.parametrize(
    "path, extra, status",
    [
        ("/api/ws/fn/blue?token=good", "", b"101"),
        ("/api/ws/fn/blue?token=bad", "", b"401"),
        ("/api/ws/fn/blue?token=boom", "", b"500"),
        ("/api/ws/afn", "X-Token: ok\r\n", b"101"),
        ("/api/ws/afn", "X-Token: no\r\n", b"401"),
        ("/api/ws/bearer", "Authorization: Bearer x\r\n", b"101"),
        ("/api/ws/bearer", "Authorization:   \r\n", b"401"),
        ("/api/ws/bearer", "", b"401"),
        ("/api/ws/header", "X-Api-Key: k\r\n", b"101"),
        ("/api/ws/header", "", b"401"),
    ],
)
async def test_authenticate_forms(serve, probe, path, extra, status) -> None:
    s = await serve(AUTH)
    head = await raw_upgrade(s.port, path, extra)
    assert head.split(b"\r\n")[0].split(b" ")[1] == status
    if status != b"101":
        assert b"\r\nconnection: close\r\n" in head.lower()
        assert b"\r\ncontent-length: " in head.lower()


async def test_authenticate_sees_params_and_its_dict_becomes_metadata(serve, probe) -> None:
    s = await serve(AUTH)
    ws = await s.connect("/api/ws/fn/blue?token=good")
    assert await ws.receive_json() == {"user": "ann", "room": "blue"}
    assert probe.all("auth") == [("auth", {"room": "blue"})]


async def test_authenticate_error_is_reported(serve, probe) -> None:
    s = await serve(AUTH)
    await raw_upgrade(s.port, "/api/ws/fn/x?token=boom")
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert event["callback"] == "authenticate" and "auth backend down" in event["message"]
    assert event["file"].endswith("h0.py")
    # Which client's upgrade failed: its address, as the refused upgrade's access line has it.
    assert event["client"] == "127.0.0.1" and event["path"] == "/api/ws/fn/x"


async def test_transform_raw_data_gets_text_and_bytes(serve) -> None:
    s = await serve("""
        from wsside import Handler

        def transform(raw):
            return {"kind": type(raw).__name__, "size": len(raw)}

        h = Handler("/ws/t", transform_raw_data=transform)

        @h.on_message
        def echo(conn, data):
            conn.send(data)
    """)
    ws = await s.connect("/api/ws/t")
    await ws.send_str('{"a": 1}')
    assert await ws.receive_json() == {"kind": "str", "size": 8}
    await ws.send_bytes(b"\x00" * 3)
    assert await ws.receive_json() == {"kind": "bytes", "size": 3}


async def test_transform_raw_data_error_drops_the_message(serve) -> None:
    s = await serve("""
        from wsside import Handler

        def transform(raw):
            raise ValueError("cannot parse")

        h = Handler("/ws/t", transform_raw_data=transform, on_message=lambda c, d: c.send("nope"))
    """)
    ws = await s.connect("/api/ws/t")
    await ws.send_str("x")
    assert await ws.receive_json() == {"type": "error", "message": "cannot parse"}


async def test_delay_applies_to_each_data_message(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/d", delay=0.2)

        @h.on_message
        def echo(conn, data):
            conn.send(data)
    """)
    ws = await s.connect("/api/ws/d")
    started = time.monotonic()
    await ws.send_str("a")
    await ws.send_str("b")
    assert await ws.receive_str() == "a"
    assert await ws.receive_str() == "b"
    assert time.monotonic() - started >= 0.4  # one delay per message, in order


async def test_max_message_size_is_inclusive_and_larger_closes_1009(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/m", max_message_size=1000)

        @h.on_message
        def echo(conn, data):
            conn.send(len(data))

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code, by_client)
    """)
    ws = await s.connect("/api/ws/m")
    await ws.send_bytes(b"x" * 1000)
    assert await ws.receive_json() == 1000
    await ws.send_bytes(b"x" * 1001)
    msg = await ws.receive()
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    assert await probe.wait("close") == [("close", 1009, False)]


async def test_disabled_handler_is_skipped(serve) -> None:
    s = await serve("""
        from wsside import Handler
        off = Handler("/ws/x", disabled=True, on_connect=lambda c, r: c.send("disabled"))
        only_off = Handler("/ws/only", disabled=True)
        fallback = Handler("/ws/*", on_connect=lambda c, r: c.send("fallback"))
    """)
    ws = await s.connect("/api/ws/x")
    assert await ws.receive_str() == "fallback"
    head = await raw_upgrade(s.port, "/api/ws/only/deeper")
    assert head.startswith(b"HTTP/1.1 404")


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ("heartbeat=-1", "heartbeat: expected seconds > 0, or 0 (off), got -1"),
        ("inactivity_timeout='30'", "inactivity_timeout: expected seconds > 0, or 0 (off)"),
        ("delay='1'", "delay: expected seconds >= 0"),
        ("heartbeat=float('nan')", "heartbeat: expected seconds > 0, or 0 (off), got nan"),
        ("delay=float('inf')", "delay: expected seconds >= 0, got inf"),
        ("error_details='no'", "error_details: expected True or False, got 'no'"),
        ("disabled='no'", "disabled: expected True or False, got 'no'"),
        ("responses=5", "responses: expected a list of Response(...) rules, got 5"),
        ("responses=[5]", "responses: expected Response(...) rules, got 5 in the list"),
        ("max_message_size=0", "max_message_size"),
        ("subprotocols='v1'", "subprotocols: expected a list"),
        ("authenticate=42", "authenticate: expected"),
        ("per_message_deflate='yes'", "per_message_deflate"),
        ("on_message='nope'", "on_message: expected a function"),
        ("per_message_deflate=Deflate(server_max_window_bits=7)", "8 to 15"),
    ],
)
async def test_bad_options_are_load_errors_naming_the_option(serve, kwargs, error) -> None:
    s = await serve(f"""
        from wsside import Handler, Deflate
        h = Handler("/ws/bad", {kwargs})
    """)
    event = next(e for e in s.events if e["type"] == "load_error")
    assert error in event["message"]
    assert event["file"].endswith("h0.py") and event["line"] == 3


async def test_a_token_offered_as_a_subprotocol_is_not_written_to_the_log(serve) -> None:
    """Browsers send no header of their own, so some send a token as a subprotocol: the
    warning names what was offered with such parts as `…`."""
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/plain", subprotocols=["chat.v1"])
    """)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    offered = (
        f"chat.v2, token.s3cret-bob-token, base64url.bearer.authorization.k8s.io.Zm9vYmFy, {jwt}"
    )
    head = await raw_upgrade(s.port, "/api/ws/plain", f"Sec-WebSocket-Protocol: {offered}\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    warned = [e["message"] for e in s.events if e.get("level") == "warning"]
    assert len(warned) == 1, warned
    assert "s3cret" not in warned[0] and "c2lnbmF0dXJl" not in warned[0], warned
    assert (
        "a client offered the subprotocols 'chat.v2', 'token.…', "
        "'base64url.be…', 'eyJhbGciOiJI…' and /ws/plain"
    ) in warned[0], warned
