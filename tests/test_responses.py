"""Declarative responses: match forms, response forms, first rule wins, on_message fallback."""

import aiohttp

RULES = """
import asyncio, probe
from wsside import Handler, Response

async def slow_echo(conn, msg):
    await asyncio.sleep(0)
    return {"echo": msg["data"]}

def quiet(conn, msg):
    probe.record("quiet", msg)
    return None  # sends nothing

def boom(conn, msg):
    raise RuntimeError("rule failed")

h = Handler("/ws/rules", responses=[
    Response({"type": "ping"}, {"type": "pong"}),
    Response({"type": "echo"}, slow_echo),
    Response(lambda conn, msg: msg == "shout", lambda conn, msg: "SHOUT"),
    Response({"type": "quiet"}, quiet),
    Response({"type": "quiet"}, {"never": "reached"}),
    Response({"type": "boom"}, boom),
])
h.respond({"type": "ping", "extra": 1}, "shadowed by the first rule")
h.respond({"type": "late"}, [1, 2, 3])

@h.on_message
def fallback(conn, msg):
    conn.send({"fallback": msg})
"""


async def test_rules_in_order_then_on_message(serve, probe) -> None:
    s = await serve(RULES)
    ws = await s.connect("/api/ws/rules")

    async def ask(message) -> object:
        if isinstance(message, str):
            await ws.send_str(message)
        else:
            await ws.send_json(message)
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.TEXT
        return msg.data

    assert await ask({"type": "ping", "extra": 1}) == '{"type":"pong"}'  # dict subset, first wins
    assert await ask({"type": "echo", "data": [1]}) == '{"echo":[1]}'  # async response
    assert await ask("shout") == "SHOUT"  # callable match
    assert await ask({"type": "late"}) == "[1,2,3]"  # h.respond rule
    # None sends nothing and stops the search: the next frame is the fallback's reply
    await ws.send_json({"type": "quiet"})
    assert await ask({"type": "other"}) == '{"fallback":{"type":"other"}}'
    assert probe.all("quiet") == [("quiet", {"type": "quiet"})]
    # a rule that raises gets the error policy and the connection stays open
    assert await ask({"type": "boom"}) == '{"type":"error","message":"rule failed"}'
    assert not ws.closed


async def test_a_raising_match_gets_the_error_policy(serve) -> None:
    s = await serve("""
        from wsside import Handler
        h = Handler("/ws/m")
        h.respond(lambda conn, msg: msg["type"] == "x", "x")  # KeyError on messages without type
        h.on_message(lambda conn, msg: conn.send("fallback"))
    """)
    ws = await s.connect("/api/ws/m")
    await ws.send_json({"no": "type"})
    assert await ws.receive_json() == {"type": "error", "message": "'type'"}
    await ws.send_json({"type": "y"})
    assert await ws.receive_str() == "fallback"


async def test_a_match_function_that_returns_an_awaitable_is_awaited(serve) -> None:
    """A plain function that calls an async one (a lambda, a decorator's wrapper) returns a
    coroutine: its answer is what the coroutine returns, not the coroutine (which is always
    true), as for an `async def` match."""
    s = await serve("""
        import asyncio
        from wsside import Handler

        async def is_admin(msg):
            await asyncio.sleep(0)
            return msg.get("user") == "root"

        async def says(msg, word):
            return msg.get("say") == word

        h = Handler("/ws/m")
        h.respond(lambda conn, msg: is_admin(msg), "admin")
        h.respond(lambda conn, msg: says(msg, "hi"), "hello")
        h.respond({"say": "bye"}, "goodbye")
        h.on_message(lambda conn, msg: conn.send("fallback"))
    """)
    ws = await s.connect("/api/ws/m")
    for message, answer in [
        ({"user": "root"}, "admin"),
        ({"say": "hi"}, "hello"),  # the first rule's coroutine said no
        ({"say": "bye"}, "goodbye"),  # after two that said no, a dict rule
        ({"user": "ada"}, "fallback"),
    ]:
        await ws.send_json(message)
        assert await ws.receive_str() == answer
