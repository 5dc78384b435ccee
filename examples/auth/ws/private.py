"""Token authentication before the handshake: a token in the query string (browsers) or an
`Authorization: Bearer ...` header (other clients; browsers cannot set WebSocket headers).

`authenticate` runs before the connection is accepted: returning False answers HTTP 401,
returning a dict accepts it and merges the dict into `conn.metadata`.
"""

from wsside import Handler

# Demo tokens. A real app verifies a JWT or asks its session store here.
TOKENS = {"alice-secret": "alice", "bob-secret": "bob"}


def authenticate(request):
    token = request.query.get("token")
    if token is None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = value if scheme.lower() == "bearer" else None
    user = TOKENS.get(token)
    return {"user": user} if user else False


private = Handler("/ws/private", authenticate=authenticate)


@private.on_connect
async def welcome(conn, request):
    await conn.send({"type": "authenticated", "user": conn.metadata["user"]})


@private.on_message
async def whoami(conn, data):
    await conn.send({"type": "reply", "user": conn.metadata["user"], "received": data})
