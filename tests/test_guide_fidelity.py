"""The upstream guide's examples, ported line for line, behave as the guide says (the README's
"Coming from the JavaScript plugin", and docs/migration.md):
NaN is not JSON, protocol errors reach on_error, shorter callbacks, authenticate returning {},
the 1009 reason, and coroutine callbacks after a 1009."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import aiohttp
import pytest

from reliability.rawws import BINARY, TEXT, Stream
from support import raw_upgrade

RELAY = """
import probe
from wsside import Handler
h = Handler("/ws/relay")

@h.on_message
async def relay(conn, data):
    probe.record("message", data)
    await conn.send(data)
"""


@pytest.mark.parametrize("text", ["[NaN]", '{"a": Infinity}', "-Infinity", "[1, -Infinity]"])
async def test_nan_and_infinity_are_not_json_so_the_text_arrives_as_str(serve, probe, text) -> None:
    s = await serve(RELAY)
    ws = await s.connect("/api/ws/relay")
    await ws.send_str(text)
    assert await ws.receive_str() == text  # relayed back as the same text, no error frame
    assert probe.all("message") == [("message", text)]


async def test_json_still_parses_and_nan_inside_a_string_is_fine(serve, probe) -> None:
    s = await serve(RELAY)
    ws = await s.connect("/api/ws/relay")
    await ws.send_str('{"a": 1.5, "b": "NaN", "c": [null, true]}')
    assert await ws.receive_json() == {"a": 1.5, "b": "NaN", "c": [None, True]}


PROTOCOL_ERRORS = """
import probe
from wsside import Handler, ProtocolError
h = Handler("/ws/p", max_message_size=100)

@h.on_error
{kind}def error(conn, exc):
    probe.record("error", type(exc).__name__, isinstance(exc, ProtocolError),
                 isinstance(exc, ConnectionError), exc.code, str(exc))

@h.on_close
{kind}def close(conn, code, reason, by_client):
    probe.record("close", code, reason, by_client)
"""


@pytest.mark.parametrize("kind", ["", "async "])
@pytest.mark.parametrize(
    "send, code, reason",
    [
        # one frame larger than the limit (refused from its header)
        (
            lambda s: s.send(BINARY, b"x" * 200),
            1009,
            "Frame of 200 bytes exceeds the message size limit of 100",
        ),
        # a message just over the limit (checked on the whole message)
        (
            lambda s: s.send(BINARY, b"x" * 101),
            1009,
            "Message of 101 bytes exceeds the limit of 100",
        ),
        (lambda s: s.send(TEXT, b"\xff\xfe"), 1007, "Invalid UTF-8"),  # the rest is aiohttp's
        (lambda s: s.send(TEXT, b"hi", mask=False), 1002, "Client frames must be masked"),
    ],
    ids=["1009-frame", "1009-message", "1007", "1002"],
)
async def test_protocol_errors_call_on_error_before_on_close_naming_the_code(
    serve, probe, kind, send, code, reason
) -> None:
    s = await serve(PROTOCOL_ERRORS.format(kind=kind))
    client = await Stream.open(s.port, "/api/ws/p")
    send(client)
    assert (await client.closed_with())[0] == code
    client.writer.close()
    await probe.wait("close")
    (error, close) = probe.records
    assert error[:5] == ("error", "ProtocolError", True, True, code)
    assert close[0:2] == ("close", code) and close[3] is False
    assert close[2].startswith(reason) and error[5] == f"{close[2]} (close code {code})"


async def test_without_on_error_a_protocol_error_only_closes(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/q", max_message_size=10)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code)
    """)
    client = await Stream.open(s.port, "/api/ws/q")
    client.send(TEXT, b"x" * 11)
    assert (await client.closed_with())[0] == 1009
    client.writer.close()
    assert await probe.wait("close") == [("close", 1009)]
    assert not [e for e in s.events if e["type"] == "runtime_error"]


async def test_callbacks_may_declare_fewer_parameters(serve, probe) -> None:
    """The guide's game example: `onConnect: (conn) => ...`, `onClose: (conn) => ...`."""
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/short", max_message_size=10)

        @h.on_connect
        def hello(conn):
            conn.send("welcome")

        @h.on_message
        async def message(conn):
            probe.record("message")
            await conn.send("got one")

        @h.on_error
        def error(conn):
            probe.record("error")

        @h.on_close
        async def close(conn, code, reason):
            probe.record("close", code, reason)

        def pinged(conn, payload, extra="kept"):  # a default beyond what is passed is fine
            probe.record("ping", payload, extra)

        h.on_ping(pinged)
        h.on_pong(lambda *args: probe.record("pong", len(args)))
    """)
    ws = await s.connect("/api/ws/short", autoping=False)
    assert await ws.receive_str() == "welcome"
    await ws.send_str("hi")
    assert await ws.receive_str() == "got one"
    await ws.ping(b"p")
    await ws.pong(b"q")
    await probe.wait("pong")
    await ws.send_bytes(b"x" * 11)
    msg = await ws.receive()
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    await probe.wait("close")
    assert probe.records == [
        ("message",),
        ("ping", b"p", "kept"),
        ("pong", 2),
        ("error",),
        ("close", 1009, "Message of 11 bytes exceeds the limit of 10"),
    ]
    assert not [e for e in s.events if e["type"] == "runtime_error"]


@pytest.mark.parametrize(
    "source, error",
    [
        (
            "def close(conn, code, reason, by_client, extra):\n    pass\nh.on_close(close)",
            "on_close: close() at {file}:3 requires 5 parameters; wsside passes 4 "
            "(conn, code, reason, initiated_by_client)",
        ),
        (
            "def connect(conn, request, *, user):\n    pass\n"
            "h = Handler('/ws/y', on_connect=connect)",
            "on_connect: connect() at {file}:3 has a required keyword-only parameter 'user'",
        ),
        (
            "def auth(request, user):\n    return True\nh = Handler('/ws/y', authenticate=auth)",
            "authenticate: auth() at {file}:3 requires 2 parameters; wsside passes 1 (request)",
        ),
        (
            "h = Handler('/ws/y', transform_raw_data=lambda raw, kind: raw)",
            "transform_raw_data: <lambda>() at {file}:3 requires 2 parameters; wsside passes 1",
        ),
        (
            "h.respond(lambda conn, msg, extra: True, None)",
            "Response(match=...): <lambda>() at {file}:3 requires 3 parameters; wsside passes 2",
        ),
        (
            "h.respond({'type': 'a'}, lambda conn, msg, extra: msg)",
            "Response(response=...): <lambda>() at {file}:3 requires 3 parameters",
        ),
        # A background task that could not take the handler ended `wsside serve` at start-up.
        (
            "@h.background\nasync def tick(handler, world):\n    pass",
            "background: tick() at {file}:3 requires 2 parameters; wsside passes 1 (handler)",
        ),
    ],
)
async def test_a_callback_that_cannot_take_the_arguments_is_a_load_error_naming_it(
    serve, source, error
) -> None:
    s = await serve("from wsside import Handler\nh = Handler('/ws/x')\n" + source + "\n")
    event = next(e for e in s.events if e["type"] == "load_error")
    assert error.format(file=event["file"]) in event["message"]
    assert event["file"].endswith("h0.py")


async def test_every_function_a_declaration_takes_may_declare_fewer_parameters(
    serve, probe
) -> None:
    """As callbacks do: `lambda: ...` for a response, `async def tick()` for a background task
    (which ended `wsside serve` at start-up before), an `authenticate` that needs no request."""
    s = await serve("""
        import asyncio, probe
        from wsside import Handler, Response
        h = Handler("/ws/few", authenticate=lambda: {"who": "anyone"},
                    transform_raw_data=lambda: {"type": "ping"},
                    responses=[Response(lambda conn: True, lambda: {"type": "pong"})])

        @h.background
        async def tick():
            while True:
                probe.record("tick")
                await asyncio.sleep(0.05)

        @h.on_connect
        def hello(conn):
            conn.send(conn.metadata)
    """)
    await probe.wait("tick")
    ws = await s.connect("/api/ws/few")
    assert await ws.receive_json() == {"who": "anyone"}
    await ws.send_str("anything")
    assert await ws.receive_json() == {"type": "pong"}
    assert not [e for e in s.events if e["type"] in ("runtime_error", "load_error")]


AUTH_EMPTY = """
from wsside import Handler
empty = Handler("/ws/empty", authenticate=lambda request: {})
none = Handler("/ws/none", authenticate=lambda request: None)

async def later(request):
    return {}

later_h = Handler("/ws/later", authenticate=later)

@empty.on_connect
def hello(conn, request):
    conn.send(conn.metadata)
"""


@pytest.mark.parametrize(
    "path, status", [("/api/ws/empty", b"101"), ("/api/ws/later", b"101"), ("/api/ws/none", b"401")]
)
async def test_authenticate_returning_an_empty_dict_accepts(serve, path, status) -> None:
    s = await serve(AUTH_EMPTY)
    head = await raw_upgrade(s.port, path)
    assert head.split(b" ")[1] == status


async def test_coroutine_on_close_after_1009_leaves_no_task_error_and_finishes(
    serve, probe
) -> None:
    """It once raised "Task exception was never retrieved ... assert worker is not None" and
    skipped the session's last clean-up step (leaving the hub and the open sessions)."""
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    s = await serve("""
        import probe
        from wsside import Handler
        h = Handler("/ws/big", max_message_size=10)

        @h.on_close
        async def close(conn, code, reason, by_client):
            probe.record("close", code)
    """)
    for _ in range(3):
        ws = await s.connect("/api/ws/big")
        await ws.send_bytes(b"x" * 11)
        msg = await ws.receive()
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    await probe.wait("close", 3)
    sessions = tuple(s.sidecar.intake.sessions)
    if sessions:  # on_close ran; the last step may still be one turn of the loop away
        await asyncio.wait([session.finished for session in sessions], timeout=5)
    gc.collect()
    assert [context.get("message") for context in unhandled] == []
    assert not s.sidecar.intake.sessions, "sessions never finished"
    found = s.sidecar.registry.match("/ws/big")
    assert found is not None and not found[0].connections
