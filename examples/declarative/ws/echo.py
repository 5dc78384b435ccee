"""An endpoint made of declarative rules: no code runs per message except the rules.

The first matching rule answers; a message no rule matches goes to `on_message`.
Also shown: subprotocol negotiation (server preference order) and permessage-deflate.
"""

from wsside import Broadcast, Handler, Response

echo = Handler(
    "/ws/echo",
    default_room="lobby",
    subprotocols=["echo.v2", "echo.v1"],
    per_message_deflate=True,
    responses=[
        Response({"type": "ping"}, {"type": "pong"}),
        Response({"type": "echo"}, lambda conn, msg: {"type": "echo", "data": msg.get("data")}),
        Response(
            {"type": "announce"},
            lambda conn, msg: {"type": "announcement", "text": msg.get("text")},
            broadcast=Broadcast(room="lobby", include_self=True),
        ),
    ],
)

# The same kind of rule, added with a call; a match may be any function of (conn, msg).
echo.respond(lambda conn, msg: isinstance(msg, str), lambda conn, msg: msg.upper())


@echo.on_message
async def fallback(conn, data):
    if isinstance(data, bytes):  # a binary message goes back as it came
        await conn.send(data)
    else:
        await conn.send({"type": "unmatched", "received": data})
