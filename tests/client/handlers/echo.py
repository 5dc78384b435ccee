"""The endpoint the client's tests talk to (Node and Chromium alike).

On connect it says hello with what it saw of the handshake; then it echoes each message as
it came (JSON as JSON, text as text, binary as binary), except `{"type": "close", "code": N}`,
which it answers by closing with that code, as a handler deciding to close would.
"""

from wsside import Handler

echo = Handler("/ws/echo", subprotocols=["v2", "v1"], max_message_size=4096)


@echo.on_connect
async def hello(conn, request):
    hello = {"type": "hello", "query": dict(request.query), "protocol": conn.subprotocol}
    if "tag" in request.query:  # a repeated key: every value
        hello["tags"] = request.query.getall("tag")
    await conn.send(hello)


@echo.on_message
async def back(conn, data):
    if isinstance(data, dict) and data.get("type") == "close":
        await conn.close(data["code"], data.get("reason", ""))
    else:
        await conn.send(data)
