"""`receives` checked on every incoming message, through a real sidecar and real sockets; and
`sends` checked in debug mode only."""

import asyncio
from pathlib import Path

TYPED = """
from __future__ import annotations

from typing import Literal, TypedDict

try:
    from typing import Required
except ImportError:  # Python 3.10
    from typing_extensions import Required

import probe
from wsside import Handler, MessageTypeError, Response


class Item(TypedDict):
    name: str
    price: float


class Order(TypedDict):
    type: Literal["order"]
    items: list[Item]


class Chat(TypedDict, total=False):
    type: Required[Literal["chat"]]
    text: Required[str]
    to: str


with_on_error = Handler("/ws/a", receives=Order | Chat)
without_on_error = Handler(
    "/ws/b",
    receives=Order | Chat,
    responses=[Response({"type": "chat"}, {"type": "rule"})],
)


@with_on_error.on_message
def message_a(conn, data):
    probe.record("message", data)
    conn.send({"type": "ok"})


@with_on_error.on_error
def error_a(conn, exc):
    probe.record("error", type(exc).__name__, isinstance(exc, MessageTypeError), str(exc))
    conn.send({"type": "refused", "why": str(exc)})


@without_on_error.on_message
def message_b(conn, data):
    probe.record("message", data)
"""


async def test_a_misfit_goes_to_on_error_and_not_to_on_message(serve, probe) -> None:
    s = await serve(TYPED)
    ws = await s.connect("/api/ws/a")
    await ws.send_json(
        {"type": "order", "items": [{"name": "a", "price": 1}, {"name": "b", "price": "2"}]}
    )
    assert await ws.receive_json() == {
        "type": "refused",
        "why": "items[1].price: expected float, got str",
    }
    await ws.send_json({"type": "chat", "text": 5})
    assert await ws.receive_json() == {"type": "refused", "why": "text: expected str, got int"}
    # The connection stays open and the next good message reaches on_message.
    await ws.send_json({"type": "chat", "text": "hi"})
    assert await ws.receive_json() == {"type": "ok"}
    assert probe.records == [
        ("error", "MessageTypeError", True, "items[1].price: expected float, got str"),
        ("error", "MessageTypeError", True, "text: expected str, got int"),
        ("message", {"type": "chat", "text": "hi"}),
    ]
    handler = s.sidecar.registry.endpoints()[0]
    client = f"127.0.0.1:{ws.get_extra_info('sockname')[1]}"
    assert [e["message"] for e in s.events if e.get("level") == "warning"] == [
        f"/api/ws/a: refused a message from {client} that does not fit receives= "
        f"({handler.file}:{handler.line}): {why}"
        for why in ("items[1].price: expected float, got str", "text: expected str, got int")
    ]
    assert not [e for e in s.events if e["type"] == "runtime_error"]  # nothing in the overlay


async def test_a_flood_of_misfits_is_one_line_and_a_count(serve) -> None:
    """A client decides how many misfits it sends: the log gets the first, then a count."""
    from wsside._runtime.repeats import flush_all

    flush_all()  # a window another test left open is not this test's
    s = await serve(TYPED)
    ws = await s.connect("/api/ws/b")
    for _ in range(300):
        await ws.send_str("garbage")
    for _ in range(300):  # every one answered: every one seen
        assert (await ws.receive_json())["type"] == "error"
    flush_all()  # as when the process stops: the window's count is written
    client = f"127.0.0.1:{ws.get_extra_info('sockname')[1]}"
    handler = s.sidecar.registry.endpoints()[1]
    assert [e["message"] for e in s.events if e.get("level") == "warning"] == [
        f"/api/ws/b: refused a message from {client} that does not fit receives= "
        f"({handler.file}:{handler.line}): expected Order or Chat, got str",
        "refused 299 more messages that did not fit receives= in the last 5 s (the last: "
        f"/api/ws/b from {client}: expected Order or Chat, got str)",
    ]


async def test_without_on_error_the_client_gets_the_error_frame(serve, probe) -> None:
    s = await serve(TYPED)
    ws = await s.connect("/api/ws/b")
    await ws.send_str("hello")
    assert await ws.receive_json() == {
        "type": "error",
        "message": "expected Order or Chat, got str",
    }
    await ws.send_json({"type": "chat"})  # fits the rule's dict, but not the type: no rule
    assert await ws.receive_json() == {"type": "error", "message": "text: missing"}
    await ws.send_json({"type": "nope"})
    assert await ws.receive_json() == {
        "type": "error",
        "message": "type: expected 'order' or 'chat', got 'nope'",
    }
    await ws.send_json({"type": "chat", "text": "x"})
    assert await ws.receive_json() == {"type": "rule"}
    await ws.send_json({"type": "order", "items": []})
    await probe.wait("message")
    assert probe.records == [("message", {"type": "order", "items": []})]
    assert not ws.closed


async def test_text_that_reads_as_json_fits_a_str_type_as_sent(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler

        h = Handler("/ws/t", receives=str)

        @h.on_message
        def message(conn, data):
            probe.record("message", data)
    """)
    ws = await s.connect("/api/ws/t")
    for text in ("42", '{"a": 1}', "plain"):
        await ws.send_str(text)
    await ws.send_bytes(b"\x00")
    assert await ws.receive_json() == {
        "type": "error",
        "message": "expected a text message, got binary",
    }
    assert probe.records == [("message", "42"), ("message", '{"a": 1}'), ("message", "plain")]


async def test_what_transform_raw_data_returns_is_checked(serve, probe) -> None:
    s = await serve("""
        import probe
        from wsside import Handler

        h = Handler("/ws/t", receives=list[int], transform_raw_data=lambda raw: raw.split(","))

        @h.on_message
        def message(conn, data):
            probe.record("message", data)
    """)
    ws = await s.connect("/api/ws/t")
    await ws.send_str("1,2")
    assert await ws.receive_json() == {"type": "error", "message": "[0]: expected int, got str"}
    assert probe.records == []


async def test_binary_messages_fit_bytes(serve, probe) -> None:
    s = await serve("""
        import probe
        from typing import Literal, TypedDict
        from wsside import Handler

        class Hello(TypedDict):
            type: Literal["hello"]

        h = Handler("/ws/t", receives=bytes | Hello)

        @h.on_message
        def message(conn, data):
            probe.record("message", data)
    """)
    ws = await s.connect("/api/ws/t")
    await ws.send_bytes(b"\x01\x02")
    await ws.send_json({"type": "hello"})
    await ws.send_json([1])
    assert await ws.receive_json() == {
        "type": "error",
        "message": "expected bytes or Hello, got list",
    }
    assert probe.records == [("message", b"\x01\x02"), ("message", {"type": "hello"})]


async def test_tagged_records_beside_bytes_are_told_apart_by_their_tag(serve, probe) -> None:
    # A binary + JSON protocol: an object's problem is its own record's, named by its tag,
    # not every record's at once.
    s = await serve("""
        import probe
        from typing import Literal, TypedDict
        from wsside import Handler

        class SetLr(TypedDict):
            type: Literal["set-lr"]
            lr: float

        class Pause(TypedDict):
            type: Literal["pause"]

        h = Handler("/ws/t", receives=SetLr | Pause | bytes)

        @h.on_message
        def message(conn, data):
            probe.record("message", data)
    """)
    ws = await s.connect("/api/ws/t")
    await ws.send_json({"type": "set-lr", "lr": "0.1"})
    assert await ws.receive_json() == {
        "type": "error",
        "message": "lr: expected float, got str",
    }
    await ws.send_json({"type": "stop"})
    assert await ws.receive_json() == {
        "type": "error",
        "message": "type: expected 'set-lr' or 'pause', got 'stop'",
    }
    await ws.send_json("go")
    assert await ws.receive_json() == {
        "type": "error",
        "message": "expected SetLr, Pause or bytes, got str",
    }
    await ws.send_str('{"type": "set-lr", "lr": 1e400}')  # past float's range: inf
    assert await ws.receive_json() == {
        "type": "error",
        "message": "lr: expected a finite float, got inf",
    }
    await ws.send_bytes(b"\x01")
    await ws.send_json({"type": "pause"})
    await probe.wait("message", 2)
    assert probe.records == [("message", b"\x01"), ("message", {"type": "pause"})]


SENDER = """
from typing import Literal, TypedDict
from wsside import Handler

class Out(TypedDict):
    type: Literal["out"]
    n: int

h = Handler("/ws/s", sends=Out, default_room="all")

@h.on_message
def message(conn, data):
    if data == "send":
        conn.send({"type": "out", "n": "one"})
    elif data == "broadcast":
        conn.broadcast({"type": "out"}, room="all", include_self=True)
    else:
        conn.send({"type": "out", "n": 1})
"""


def sends_warnings(events: list[dict]) -> list[str]:
    return [
        e["message"] for e in events if e.get("level") == "warning" and "sends=" in e["message"]
    ]


async def test_debug_mode_checks_what_is_sent_and_still_sends_it(serve, probe, monkeypatch) -> None:
    s = await serve(SENDER, log_level="debug")
    file = Path(s.sidecar.registry.endpoints()[0].file)
    monkeypatch.chdir(file.parent.parent)  # as under Vite: lines name files from the project
    ws = await s.connect("/api/ws/s")
    await ws.send_str("send")
    assert await ws.receive_json() == {"type": "out", "n": "one"}
    await ws.send_str("broadcast")
    assert await ws.receive_json() == {"type": "out"}
    await ws.send_str("fine")
    assert await ws.receive_json() == {"type": "out", "n": 1}
    shown = f"{file.parent.name}/{file.name}"
    assert sends_warnings(s.events) == [
        f"/ws/s: a message sent at {shown}:14 does not fit sends=: n: expected int, got str "
        "(it was sent anyway)",
        f"/ws/s: a message sent at {shown}:16 does not fit sends=: n: missing (it was sent anyway)",
    ]


async def test_debug_mode_takes_wsside_s_own_error_frame_as_sent_by_the_endpoint(
    serve, probe
) -> None:
    """Without on_error, the error frame is part of what the endpoint sends (the generated
    types say so too): it is not reported as not fitting sends=."""
    s = await serve(
        SENDER.replace(
            "    else:", "    elif data == 'raise':\n        raise ValueError('no')\n    else:"
        ),
        log_level="debug",
    )
    ws = await s.connect("/api/ws/s")
    await ws.send_str("raise")
    assert await ws.receive_json() == {"type": "error", "message": "no"}
    await ws.send_str("send")
    assert (await ws.receive_json())["n"] == "one"
    assert len(sends_warnings(s.events)) == 1, s.events  # the user's own unfit send only


async def test_outside_debug_mode_sends_are_not_checked(serve, probe) -> None:
    s = await serve(SENDER)
    ws = await s.connect("/api/ws/s")
    await ws.send_str("send")
    assert await ws.receive_json() == {"type": "out", "n": "one"}
    await ws.send_str("broadcast")
    assert await ws.receive_json() == {"type": "out"}
    assert sends_warnings(s.events) == []


async def test_handler_broadcast_is_checked_in_debug_mode(serve, probe) -> None:
    s = await serve(SENDER, log_level="debug")
    ws = await s.connect("/api/ws/s")
    await ws.send_str("fine")
    await ws.receive_json()
    (handler,) = s.sidecar.registry.endpoints()
    handler.broadcast(["not", "out"])
    assert await asyncio.wait_for(ws.receive_json(), 5) == ["not", "out"]
    assert sends_warnings(s.events)[-1].endswith(
        "does not fit sends=: expected Out, got list (it was sent anyway)"
    )


async def test_debug_mode_takes_a_dataclass_sent_as_the_object_of_its_fields(serve, probe) -> None:
    s = await serve(
        "from dataclasses import dataclass\nfrom wsside import Handler\n\n"
        "@dataclass\nclass Pos:\n    x: int\n    y: int\n\n"
        "h = Handler('/ws/p', sends=Pos)\n\n"
        "@h.on_message\ndef message(conn, data):\n"
        "    conn.send(Pos(1, 2) if data == 'fits' else Pos('one', 2))\n",
        log_level="debug",
    )
    ws = await s.connect("/api/ws/p")
    await ws.send_str("fits")
    assert await ws.receive_json() == {"x": 1, "y": 2}
    await ws.send_str("misfit")
    assert await ws.receive_json() == {"x": "one", "y": 2}
    warned = sends_warnings(s.events)
    assert len(warned) == 1 and warned[0].endswith(
        "does not fit sends=: x: expected int, got str (it was sent anyway)"
    ), warned


async def test_debug_mode_takes_a_dataclass_in_a_union_as_its_own_class(serve, probe) -> None:
    """In `sends=Out | Msg` (tagged) and `sends=Out | Pos` (not), a right instance fits and a
    wrong one names its field, as with `sends=Out` alone."""
    s = await serve(
        "from dataclasses import dataclass\nfrom typing import Literal, TypedDict\n"
        "from wsside import Handler\n\n"
        "@dataclass\nclass Out:\n    type: Literal['out']\n    n: int\n\n"
        "@dataclass\nclass Pos:\n    x: int\n\n"
        "class Msg(TypedDict):\n    type: Literal['msg']\n\n"
        "tagged = Handler('/ws/t', sends=Out | Msg)\nplain = Handler('/ws/p', sends=Out | Pos)\n\n"
        "@tagged.on_message\nasync def message(conn, data):\n"
        "    await conn.send(Out('out', 1) if data == 'fits' else Out('out', 'x'))\n\n"
        "@plain.on_message\nasync def message_p(conn, data):\n"
        "    await conn.send(Out('out', 1) if data == 'fits' else Out('out', 'x'))\n"
        "    await conn.send(Pos(1) if data == 'fits' else Pos('y'))\n",
        log_level="debug",
    )
    for path, count in (("/api/ws/t", 1), ("/api/ws/p", 2)):
        ws = await s.connect(path)
        for data in ("fits", "misfit"):
            await ws.send_str(data)
            for _ in range(count):
                await ws.receive_json()
    warned = [w.split(" does not fit sends=: ")[1] for w in sends_warnings(s.events)]
    assert warned == [
        "n: expected int, got str (it was sent anyway)",
        "n: expected int, got str (it was sent anyway)",
        "x: expected int, got str (it was sent anyway)",
    ], warned


async def errors_for(serve, source: str, messages: list[object]) -> list[str | None]:
    """The error frame each of `messages` gets from /ws/x (None: it fitted, and was echoed)."""
    s = await serve(
        "from wsside import Handler\n" + source + "\nh = Handler('/ws/x', receives=In)\n\n"
        "@h.on_message\ndef message(conn, data):\n    conn.send({'type': 'echo'})\n"
    )
    ws = await s.connect("/api/ws/x")
    found = []
    for message in messages:
        await ws.send_json(message)
        reply = await ws.receive_json()
        found.append(reply["message"] if reply["type"] == "error" else None)
    return found


async def test_a_recursive_alias_checks_each_level_and_a_too_deep_value(serve, probe) -> None:
    deep = "[" * 500 + "1" + "]" * 500  # JSON decodes it; checking it goes deeper than Python
    s = await serve(
        "from typing import TypedDict, Union\nfrom wsside import Handler\n"
        'Json = Union[str, int, float, bool, None, list["Json"], dict[str, "Json"]]\n'
        'Ints = Union[int, list["Ints"]]\n'
        "class In(TypedDict):\n    j: Json\n    i: Ints\n"
        "h = Handler('/ws/x', receives=In)\n\n"
        "@h.on_message\ndef message(conn, data):\n    conn.send({'type': 'echo'})\n"
    )
    ws = await s.connect("/api/ws/x")
    for message, reply in [
        ('{"j": {"a": [1, null, {"b": ["c", 2.5, true]}]}, "i": [1, [2, [3]]]}', "echo"),
        ('{"j": [], "i": [1, [2, ["3"]]]}', "i[1][1][0]: expected int or list, got str"),
        ('{"j": ' + deep + ', "i": 1}', "nested too deeply to check"),
    ]:
        await ws.send_str(message)
        got = await ws.receive_json()
        assert got.get("message", got["type"]) == reply


async def test_dict_keys_of_a_literal_or_a_str_enum_are_checked(serve, probe) -> None:
    assert await errors_for(
        serve,
        "from enum import Enum\nfrom typing import Literal, TypedDict\n"
        "class Color(str, Enum):\n    RED = 'red'\n    BLUE = 'blue'\n"
        "class In(TypedDict):\n    score: dict[Literal['a', 'b'], int]\n"
        "    paint: dict[Color, int]\n",
        [
            {"score": {"a": 1}, "paint": {"red": 2, "blue": 3}},
            {"score": {}, "paint": {}},
            {"score": {"c": 1}, "paint": {}},
            {"score": {"b": "1"}, "paint": {}},
            {"score": {}, "paint": {"green": 1}},
        ],
    ) == [
        None,
        None,
        "score.c: not a key it takes ('a' or 'b')",
        "score.b: expected int, got str",
        "paint.green: not a key it takes ('red' or 'blue')",
    ]


async def test_a_new_type_is_checked_as_its_base_type(serve, probe) -> None:
    assert await errors_for(
        serve,
        "from typing import NewType, TypedDict\nUserId = NewType('UserId', int)\n"
        "class In(TypedDict):\n    user: UserId\n",
        [{"user": 7}, {"user": "7"}],
    ) == [None, "user: expected int, got str"]
