"""The error frame and a binary or plain-text protocol: a handler whose `sends=` is all bytes,
str and string literals sends no `{"type": "error", ...}` (a y-websocket client fails on a
JSON object), while the error is reported as ever; every other handler still sends it. And a
message of the wrong kind (text to a binary endpoint, binary to a text one) is named in the
wire's words. Over real sockets, through `wsside.testing`."""

from __future__ import annotations

import logging
from typing import Any, Literal, TypedDict

import pytest

from wsside import Connection, Handler
from wsside.testing import serve


class Reply(TypedDict):
    type: Literal["reply"]


def failing(pattern: str, **types: Any) -> Handler:
    """A handler whose on_message raises at `boom` (text or binary) and echoes the rest,
    reversed."""
    handler = Handler(pattern, **types)

    @handler.on_message
    def message(conn: Connection, data: Any) -> None:
        if data in ("boom", b"boom"):
            raise RuntimeError("boom")
        conn.send(data[::-1])

    return handler


async def test_a_binary_endpoint_sends_no_error_frame_and_reports_the_error() -> None:
    doc = failing(r"/ws/doc/{room:[\w-]+}", receives=bytes, sends=bytes)
    async with serve([doc], raise_errors=False) as server:
        client = await server.connect("/ws/doc/abc")
        await client.send(b"boom")
        await client.send(b"ab")
        # receive_bytes fails on a text message: the echo is the next message, so no frame
        # came before it, and the connection stayed open.
        assert await client.receive_bytes() == b"ba"
    [report] = server.errors
    assert "error in on_message of " in report and "RuntimeError: boom" in report


@pytest.mark.parametrize(
    ("sends", "sent"),
    [
        (str, "ab"),
        (str | bytes, "ab"),
        # A str Literal is sent as text, as a str is: `ok`, not `"ok"`.
        (Literal["ok"], "ko"),
        (Literal["ok", "no"] | bytes, "ko"),
    ],
)
async def test_a_plain_text_endpoint_sends_no_error_frame_and_reports_the_error(
    sends: object, sent: str
) -> None:
    log = failing("/ws/log", sends=sends)
    async with serve([log], raise_errors=False) as server:
        client = await server.connect("/ws/log")
        await client.send("boom")
        await client.send(sent)
        assert await client.receive_text() == sent[::-1]
    [report] = server.errors
    assert "RuntimeError: boom" in report


@pytest.mark.parametrize(
    "sends",
    [
        None,
        Reply,
        dict[str, int],
        list[int],
        Literal[1],
        Literal["ok", None],
        Literal["ok"] | Reply,
        str | None,
        bytes | Reply,
    ],
)
async def test_an_endpoint_that_sends_json_still_gets_the_error_frame(sends: object) -> None:
    json_out = failing("/ws/json", sends=sends)
    async with serve([json_out], raise_errors=False) as server:
        client = await server.connect("/ws/json")
        await client.send("boom")
        assert await client.receive_json() == {"type": "error", "message": "boom"}
    [report] = server.errors
    assert "RuntimeError: boom" in report


async def test_a_binary_endpoints_failed_on_connect_closes_1011_with_no_frame_before() -> None:
    doc = Handler("/ws/doc", sends=bytes)

    @doc.on_connect
    def hello(conn: Connection) -> None:
        raise RuntimeError("no room")

    async with serve([doc], raise_errors=False) as server:
        client = await server.connect("/ws/doc")
        # receive_close fails on a message that comes before the close.
        assert await client.receive_close() == (1011, "Internal error")
    [report] = server.errors
    assert "error in on_connect of " in report and "RuntimeError: no room" in report


async def test_text_to_a_binary_endpoint_is_refused_without_a_frame_and_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = failing("/ws/doc", receives=bytes, sends=bytes)
    with caplog.at_level(logging.WARNING, logger="wsside"):
        async with serve([doc]) as server:
            client = await server.connect("/ws/doc")
            await client.send({"hello": 1})
            await client.send(b"ab")
            assert await client.receive_bytes() == b"ba"
    [line] = [r.getMessage() for r in caplog.records if "refused a message" in r.getMessage()]
    assert line.startswith("wsside: /api/ws/doc: refused a message from 127.0.0.1:"), line
    assert line.endswith("): expected a binary message, got text"), line


@pytest.mark.parametrize(
    ("receives", "sent", "said"),
    [
        (bytes, {"hello": 1}, "expected a binary message, got text"),
        (bytes, "plain", "expected a binary message, got text"),
        (str, b"\x00", "expected a text message, got binary"),
        (Reply, b"\x00", "expected a text message, got binary"),
        # A union that takes both kinds names the value, as before.
        (bytes | Reply, [1], "expected bytes or Reply, got list"),
    ],
)
async def test_a_message_of_the_wrong_kind_is_named_in_the_wires_words(
    receives: object, sent: object, said: str
) -> None:
    typed = failing("/ws/typed", receives=receives)
    async with serve([typed]) as server:
        client = await server.connect("/ws/typed")
        await client.send(sent)
        assert await client.receive_json() == {"type": "error", "message": said}


async def test_a_binary_endpoint_sending_an_error_frame_itself_is_checked_as_any_message() -> None:
    # Without on_error, a JSON handler's own error frame is wsside's, not a slip; a binary
    # endpoint never sends one, so one it sends is checked against sends= like the rest.
    doc = Handler("/ws/doc", receives=bytes, sends=bytes)

    @doc.on_message
    def message(conn: Connection, data: bytes) -> None:
        conn.send({"type": "error", "message": "mine"})

    async with serve([doc], raise_errors=False) as server:
        client = await server.connect("/ws/doc")
        await client.send(b"x")
        assert await client.receive_json() == {"type": "error", "message": "mine"}
    [report] = server.errors
    assert report.endswith("does not fit sends=: expected bytes, got dict (it was sent anyway)")
