"""Rooms and every broadcast variant; rooms are per endpoint."""

import asyncio
from typing import ClassVar

import aiohttp

ROOMS = """
import probe
from wsside import Handler, Broadcast, Response

def room_of(conn, msg):
    return isinstance(msg, dict) and msg.get("type") == "say"

h = Handler("/ws/r/{name}", responses=[
    Response({"type": "to-my-rooms"}, lambda c, m: {"from": c.params["name"], "mine": True},
             broadcast=True),
    Response({"type": "to-room"}, lambda c, m: {"from": c.params["name"], "room": m["room"]},
             broadcast=Broadcast(room="red", include_self=True)),
    Response({"type": "to-all"}, lambda c, m: {"from": c.params["name"], "all": True},
             broadcast=Broadcast()),
])

@h.on_message
def message(conn, msg):
    kind = msg["type"]
    if kind == "join":
        conn.join_room(msg["room"])
    elif kind == "leave":
        conn.leave_room(msg["room"])
    elif kind == "bcast":
        conn.broadcast({"from": conn.params["name"], "text": msg["text"]},
                       room=msg.get("room"), include_self=msg.get("include_self", False))
    elif kind == "all-rooms":
        conn.broadcast_all_rooms({"from": conn.params["name"], "allrooms": True},
                                 include_self=msg.get("include_self", False))
    elif kind == "rooms":
        conn.send({"rooms": sorted(conn.rooms), "in_red": conn.in_room("red")})
    conn.send({"ack": kind})
"""


class Peers:
    def __init__(self, served) -> None:
        self.s = served
        self.ws: dict[str, aiohttp.ClientWebSocketResponse] = {}

    async def open(self, *names: str, path: str = "/api/ws/r/") -> None:
        for name in names:
            self.ws[name] = await self.s.connect(path + name)

    async def do(self, name: str, **msg) -> None:
        await self.ws[name].send_json(msg)
        # the ack arrives after anything the command sent to its own sender
        while True:
            got = await self.ws[name].receive_json()
            if got.get("ack") == msg["type"]:
                return
            self.early.setdefault(name, []).append(got)

    early: ClassVar[dict[str, list]] = {}

    async def inbox(self, names) -> dict[str, list]:
        """Everything delivered so far: a marker sent to each through its own socket comes
        last, because each connection's frames are ordered."""
        out = {}
        for name in names:
            await self.ws[name].send_json({"type": "rooms"})
            got = list(self.early.pop(name, []))
            while True:
                item = await self.ws[name].receive_json()
                if "rooms" in item:
                    await self.ws[name].receive_json()  # its ack
                    break
                got.append(item)
            out[name] = got
        return out


async def test_broadcast_variants(serve) -> None:
    s = await serve(ROOMS)
    p = Peers(s)
    Peers.early = {}
    await p.open("a", "b", "c", "d")
    for name in ("a", "b"):
        await p.do(name, type="join", room="red")
    await p.do("c", type="join", room="blue")
    await p.do("a", type="join", room="blue")

    await p.do("a", type="bcast", text="red-only", room="red")
    await p.do("a", type="bcast", text="red+self", room="red", include_self=True)
    await p.do("a", type="bcast", text="everyone")
    await p.do("a", type="all-rooms")  # a is in red and blue: b and c, each once
    got = await p.inbox("abcd")
    assert got["a"] == [{"from": "a", "text": "red+self"}]
    assert got["b"] == [
        {"from": "a", "text": "red-only"},
        {"from": "a", "text": "red+self"},
        {"from": "a", "text": "everyone"},
        {"from": "a", "allrooms": True},
    ]
    assert got["c"] == [{"from": "a", "text": "everyone"}, {"from": "a", "allrooms": True}]
    assert got["d"] == [{"from": "a", "text": "everyone"}]


async def test_declarative_broadcast_targets(serve) -> None:
    s = await serve(ROOMS)
    p = Peers(s)
    Peers.early = {}
    await p.open("a", "b", "c")
    await p.do("a", type="join", room="red")
    await p.do("b", type="join", room="red")
    for kind in ("to-my-rooms", "to-room", "to-all"):
        await p.ws["a"].send_json({"type": kind, "room": "red"})
    got = await p.inbox("abc")
    assert got["a"] == [{"from": "a", "room": "red"}]  # Broadcast(include_self=True)
    assert got["b"] == [
        {"from": "a", "mine": True},
        {"from": "a", "room": "red"},
        {"from": "a", "all": True},
    ]
    assert got["c"] == [{"from": "a", "all": True}]  # Broadcast(room=None): whole endpoint


async def test_no_rooms_means_broadcast_all_rooms_reaches_nobody(serve) -> None:
    s = await serve(ROOMS)
    p = Peers(s)
    Peers.early = {}
    await p.open("a", "b")
    await p.do("a", type="all-rooms", include_self=True)
    got = await p.inbox("ab")
    assert got == {"a": [], "b": []}


async def test_leave_room_and_closed_members_are_skipped(serve) -> None:
    s = await serve(ROOMS)
    p = Peers(s)
    Peers.early = {}
    await p.open("a", "b", "c")
    for name in "abc":
        await p.do(name, type="join", room="red")
    await p.do("b", type="leave", room="red")
    await p.ws["c"].close()
    await p.do("a", type="bcast", text="hi", room="red")
    got = await p.inbox("ab")
    assert got == {"a": [], "b": []}
    hub = s.sidecar.registry.hubs["/ws/r/{name}"]
    assert set(hub.rooms) == {"red"} and len(hub.rooms["red"]) == 1  # c left with its socket


async def test_leave_before_any_join_then_join(serve) -> None:
    """Until its first join a connection shares one empty room set, which is never written."""
    s = await serve(ROOMS)
    p = Peers(s)
    Peers.early = {}
    await p.open("a", "b")
    await p.ws["a"].send_json({"type": "leave", "room": "red"})  # in no room yet: a no-op
    assert await p.ws["a"].receive_json() == {"ack": "leave"}  # not an error frame
    await p.do("a", type="join", room="red")
    got = await p.inbox("ab")
    assert got == {"a": [], "b": []}
    hub = s.sidecar.registry.hubs["/ws/r/{name}"]
    rooms = {c.params["name"]: c.rooms for c in hub.connections}
    assert rooms == {"a": {"red"}, "b": set()}
    await p.do("a", type="leave", room="red")
    assert hub.rooms == {} and not any(c.rooms for c in hub.connections)


async def test_rooms_are_per_endpoint(serve) -> None:
    s = await serve("""
        from wsside import Handler
        for path in ("/ws/ga", "/ws/gb"):
            h = Handler(path, default_room="lobby")
            h.on_message(lambda conn, msg: conn.broadcast(msg, room="lobby", include_self=True))
            h.on_connect(lambda conn, req: conn.send("ready"))
    """)
    a1, a2, b1 = [await s.connect(p) for p in ("/api/ws/ga", "/api/ws/ga", "/api/ws/gb")]
    for ws in (a1, a2, b1):
        assert await ws.receive_str() == "ready"
    await b1.send_str("b-first")
    assert await b1.receive_str() == "b-first"
    await a1.send_str("from-a")
    assert await a2.receive_str() == "from-a"
    await b1.send_str("b-second")
    # b1's frames are ordered: had a1's broadcast leaked into gb's lobby it would come first
    assert await b1.receive_str() == "b-second"


async def test_server_side_push_connections_and_background_task(serve, probe) -> None:
    s = await serve("""
        import asyncio, probe
        from wsside import Handler
        game = Handler("/ws/game", default_room="lobby")

        @game.background
        async def tick(handler):
            n = 0
            while True:
                await asyncio.sleep(0.02)
                if handler.connections:
                    n += 1
                    handler.broadcast({"tick": n, "players": len(handler.connections)},
                                      room="lobby")
                    handler.broadcast({"all": n})
    """)
    ws = await s.connect("/api/ws/game")
    first = await ws.receive_json()
    assert first["players"] == 1 and first["tick"] >= 1
    assert (await ws.receive_json()) == {"all": first["tick"]}
    tasks = s.sidecar.registry.background.running("/ws/game")
    assert len(tasks) == 1 and not tasks[0].done()
    task = tasks[0]
    s.sidecar.registry.remove_file(next(iter(s.sidecar.registry.files)))
    msg = await ws.receive()
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await ws.receive()
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1012, "Service Restart")
    await asyncio.wait_for(asyncio.wait([task]), 1)
    assert task.cancelled()


SLIPS = {
    # A port of the JavaScript plugin's options object, include_self in room's place, a list.
    "options": "conn.broadcast(data, {'room': 'lobby', 'includeSelf': True})",
    "flag": "conn.broadcast(data, True)",
    "list": "conn.join_room(['a', 'b'])",
    "number": "conn.leave_room(7)",
    "asked": "conn.in_room(None)",
    "pushed": "h.broadcast(data, {'room': 'lobby'})",
}


async def test_a_room_that_is_not_a_str_is_refused_naming_the_call_and_the_likely_slip() -> None:
    from wsside import Handler
    from wsside.testing import serve

    h = Handler("/ws/slips")

    @h.on_message
    def slip(conn, data):
        eval(SLIPS[data["slip"]], {"conn": conn, "data": {"n": 1}, "h": h})
        conn.send({"ok": data["slip"]})  # not reached

    said = {}
    async with serve([h], raise_errors=False) as server:
        client = await server.connect("/ws/slips")
        for slip in SLIPS:
            await client.send({"slip": slip})
            said[slip] = (await client.receive_json())["message"]
    assert said == {
        "options": "conn.broadcast(): a room is a str, its name; got dict {'room': 'lobby', "
        "'includeSelf': True}: options go by keyword, conn.broadcast(data, room='lobby', ...)",
        "flag": "conn.broadcast(): a room is a str, its name; got bool True: to include the "
        "sender, conn.broadcast(data, include_self=True)",
        "list": "conn.join_room(): a room is a str, its name; got list ['a', 'b']: one room per "
        "call",
        "number": "conn.leave_room(): a room is a str, its name; got int 7",
        "asked": "conn.in_room(): a room is a str, its name; got NoneType None",
        "pushed": "handler.broadcast(): a room is a str, its name; got dict {'room': 'lobby'}: "
        "options go by keyword, handler.broadcast(data, room='lobby', ...)",
    }
    assert len(server.errors) == len(SLIPS)
    assert all(error.splitlines()[-1].startswith("TypeError: ") for error in server.errors)


async def test_a_str_enum_is_a_room_by_its_value() -> None:
    from enum import Enum

    from wsside import Handler
    from wsside.testing import serve

    class Room(str, Enum):
        LOBBY = "lobby"

    h = Handler("/ws/enum")

    @h.on_message
    def joined(conn, data):
        conn.join_room(Room.LOBBY)
        conn.broadcast({"in": conn.in_room("lobby")}, room=Room.LOBBY, include_self=True)

    async with serve([h]) as server:
        client = await server.connect("/ws/enum")
        await client.send("join")
        assert await client.receive_json() == {"in": True}


async def test_connections_in_a_room_are_its_open_members_in_join_order(serve) -> None:
    """`handler.connections_in(room)`: a presence check that costs the room's size (walking
    `handler.connections` in every `on_close` made closing everyone quadratic)."""
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/who/{name}")

        @h.on_message
        def act(conn, msg):
            if "join" in msg:
                conn.join_room(msg["join"])
            elif "who" in msg:
                try:
                    conn.send([c.params["name"] for c in h.connections_in(msg["who"])])
                except TypeError as exc:
                    conn.send({"error": str(exc)})
            conn.send({"ok": True})
    """)
    ws = {n: await s.connect(f"/api/ws/who/{n}") for n in "abc"}

    async def ask(sender: str, **msg: object) -> object:
        await ws[sender].send_json(msg)
        got = await ws[sender].receive_json()
        if got != {"ok": True}:
            assert await ws[sender].receive_json() == {"ok": True}
        return got

    for name, room in (("c", "red"), ("a", "red"), ("b", "blue")):
        await ask(name, join=room)
    assert await ask("b", who="red") == ["c", "a"]
    assert await ask("b", who="green") == []
    assert await ask("a", who=None) == ["a", "b", "c"]  # None: every open connection
    await ws["c"].close()
    assert await ask("b", who="red") == ["a"]
    said = await ask("b", who=["red"])
    assert said == {
        "error": "handler.connections_in(): a room is a str, its name; got list ['red']"
        ": one room per call"
    }
