"""Chat: usernames from the query string, a default room, more rooms, a typing indicator.

Browser (main.js, with vite-plugin-wsside/client):
    connect("/ws/chat", { query: { username: "Alice" } })
"""

from wsside import Handler

chat = Handler("/ws/chat", default_room="general", heartbeat=30)


@chat.on_connect
async def joined(conn, request):
    name = request.query.get("username", "").strip() or "Guest"
    conn.metadata["username"] = name
    await conn.send({"type": "connected", "id": conn.id, "username": name, "room": "general"})
    conn.broadcast({"type": "user-joined", "username": name, "room": "general"}, room="general")


@chat.on_message
async def message(conn, data):
    if not isinstance(data, dict):
        await conn.send({"type": "error", "message": "send JSON objects with a 'type'"})
        return
    name = conn.metadata["username"]
    room = str(data.get("room") or "general")
    kind = data.get("type")
    if kind == "chat":
        if not conn.in_room(room):
            await conn.send({"type": "error", "message": f"join #{room} first"})
            return
        conn.broadcast({"type": "chat-message", "from": name, "text": str(data.get("text", "")),
                        "room": room}, room=room, include_self=True)
    elif kind == "typing":
        # Everyone in the room but the typist.
        conn.broadcast({"type": "typing", "username": name, "room": room}, room=room)
    elif kind == "join-room":
        conn.join_room(room)
        await conn.send({"type": "room-joined", "room": room})
        conn.broadcast({"type": "user-joined", "username": name, "room": room}, room=room)
    elif kind == "leave-room":
        conn.broadcast({"type": "user-left", "username": name, "room": room}, room=room)
        conn.leave_room(room)
        await conn.send({"type": "room-left", "room": room})
    else:
        await conn.send({"type": "error", "message": f"unknown message type {kind!r}"})


@chat.on_close
def left(conn, code, reason, initiated_by_client):
    # Still a member of its rooms here: tell each of them once.
    for room in conn.rooms:
        conn.broadcast({"type": "user-left", "username": conn.metadata.get("username"),
                        "room": room}, room=room)
