# Handler used by the shim tests (node and pytest): tells whether the per-run secret
# header reached user code (it must not), then echoes.
from wsside import Handler

spy = Handler("/spy")


@spy.on_connect
async def hello(conn, request):
    await conn.send({"secret_seen": "x-wsside-secret" in request.headers})


@spy.on_message
async def message(conn, data):
    await conn.send(data)
