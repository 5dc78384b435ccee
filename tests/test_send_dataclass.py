"""Dataclass instances are sent as the JSON object of their fields, as `dataclasses.asdict`
gives them (nested dataclasses, lists and dicts of them, fields named `_x` too), by `send`
and the broadcasts, with orjson and with the standard encoder alike; `sends=` takes a
dataclass, so sending one must work (it was "TypeError: cannot send a Pos", and in
`on_connect` a 1011). A real `wsside serve` per JSON engine, a real client; and mypy --strict
accepts `conn.send(Pos(...))` (tests/types/python/right.py, tests/test_types_mypy.py). Enum
members and UUIDs inside a message go as their value and string with either engine (the
standard encoder refused them where orjson sent them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import aiohttp
import pytest

from asgi_server import write_files
from serve_process import ServeProcess, free_port

HANDLER = """
    import enum
    import uuid
    from dataclasses import dataclass, field

    from wsside import Handler


    class Shape(enum.Enum):
        ROUND = "round"
        SIZE = (2, 3)


    @dataclass
    class Pos:
        x: int
        y: float


    @dataclass
    class Trail:
        name: str
        start: Pos
        points: list[Pos]
        tags: dict[str, Pos] = field(default_factory=dict)
        _seen: int = 0


    h = Handler("/ws/pos", sends=Pos)


    @h.on_connect
    def hello(conn, request):
        conn.send(Pos(1, 2.5))
        conn.send(Trail("t", Pos(0, 0.0), [Pos(1, 1.5), Pos(2, -1.0)], {"end": Pos(9, 9.0)}, 3))
        conn.send([Pos(3, 4.0), Pos(5, 6.0)])
        conn.send({"at": Pos(7, 8.0)})
        conn.send({"id": uuid.UUID(int=5), "shapes": [Shape.ROUND, Shape.SIZE]})
        conn.broadcast(Pos(10, 0.5), include_self=True)
        for wrong in (Pos, Pos(1, float("nan"))):
            try:
                conn.send(wrong)
            except TypeError as exc:
                conn.send({"refused": str(exc)})
        conn.send("done")
"""


NAN_REFUSED = (
    '{"refused":"cannot send Pos(x=1, y=nan) as JSON: Out of range float values are not JSON '
    "compliant"
)


NO_ORJSON = importlib.util.find_spec("orjson") is None  # `make test-py310` runs without it


@pytest.mark.parametrize(
    "engine",
    [pytest.param("orjson", marks=pytest.mark.skipif(NO_ORJSON, reason="no orjson")), "json"],
)
async def test_dataclass_instances_are_sent_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    monkeypatch.setenv("WSSIDE_JSON", engine)
    write_files(tmp_path, {"ws/pos.py": HANDLER})
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await server.expect("serving on")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/pos")
            got = []
            while (msg := await ws.receive(timeout=5)).data != "done":
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                got.append(msg.data)
            await ws.close()
    finally:
        assert await server.stop() == 0, "".join(server.lines)
    # Python 3.13's json names the value too (`...not JSON compliant: nan`).
    assert got[-1] in (f'{NAN_REFUSED}"}}', f'{NAN_REFUSED}: nan"}}'), got[-1]
    assert got[:-1] == [
        '{"x":1,"y":2.5}',
        '{"name":"t","start":{"x":0,"y":0.0},"points":[{"x":1,"y":1.5},{"x":2,"y":-1.0}],'
        '"tags":{"end":{"x":9,"y":9.0}},"_seen":3}',
        '[{"x":3,"y":4.0},{"x":5,"y":6.0}]',
        '{"at":{"x":7,"y":8.0}}',
        '{"id":"00000000-0000-0000-0000-000000000005","shapes":["round",[2,3]]}',
        '{"x":10,"y":0.5}',
        '{"refused":"cannot send a type: send a dict, list, number, bool, None, str, bytes or '
        'a dataclass instance (convert other objects first)"}',
    ]


def test_both_encoders_send_a_dataclass_as_asdict_does() -> None:
    import dataclasses
    import json

    from wsside._protocol import codec
    from wsside._protocol.frames import TEXT

    @dataclasses.dataclass
    class Pos:
        x: int
        _y: float  # orjson's own way leaves it out; dataclasses.asdict keeps it

    @dataclasses.dataclass
    class Box:
        at: Pos
        all: list[Pos]

    box = Box(Pos(1, 2.5), [Pos(3, 4.5)])
    before = codec.JSON_ENGINE
    try:
        for engine in ("json", "orjson"):
            codec.set_json_engine(engine)
            opcode, payload = codec.encode(box)
            assert opcode == TEXT
            assert json.loads(payload) == dataclasses.asdict(box), engine
    finally:
        codec.set_json_engine(before)
