"""Chat: usernames from the query string, a default room, more rooms, a typing indicator.

Browser (main.js, with vite-plugin-wsside/client):
    connect("/ws/chat", { query: { username: "Alice" } })

The message types below are what main.js is checked against: the plugin writes them into
wsside-env.d.ts as TypeScript, and any message that does not fit `receives` gets an error
frame without reaching `message`.
"""

from typing import Literal, TypedDict

from wsside import Handler


class Chat(TypedDict):
    """A line for a room the user is in."""

    type: Literal["chat"]
    room: str
    text: str


class Typing(TypedDict):
    type: Literal["typing"]
    room: str


class JoinRoom(TypedDict):
    type: Literal["join-room"]
    room: str


class LeaveRoom(TypedDict):
    type: Literal["leave-room"]
    room: str


class Connected(TypedDict):
    """Sent first by `joined` (after a reconnect too): the connection is in `room` only. With
    a backplane, a broadcast to that room from another process can arrive before it."""

    type: Literal["connected"]
    id: str
    username: str
    room: str


# `from` is a Python keyword, so this one cannot use the class syntax.
ChatMessage = TypedDict(
    "ChatMessage", {"type": Literal["chat-message"], "from": str, "text": str, "room": str}
)


class UserTyping(TypedDict):
    type: Literal["typing"]
    username: str
    room: str


class UserJoined(TypedDict):
    type: Literal["user-joined"]
    username: str
    room: str


class UserLeft(TypedDict):
    type: Literal["user-left"]
    username: str
    room: str


class RoomJoined(TypedDict):
    type: Literal["room-joined"]
    room: str


class RoomLeft(TypedDict):
    type: Literal["room-left"]
    room: str


class ErrorMessage(TypedDict):
    """Sent by the handler, and by wsside itself for a message that does not fit `receives`."""

    type: Literal["error"]
    message: str


chat = Handler(
    "/ws/chat",
    default_room="general",
    heartbeat=30,
    receives=Chat | Typing | JoinRoom | LeaveRoom,
    sends=(
        Connected
        | ChatMessage
        | UserTyping
        | UserJoined
        | UserLeft
        | RoomJoined
        | RoomLeft
        | ErrorMessage
    ),
)


@chat.on_connect
async def joined(conn, request):
    name = request.query.get("username", "").strip() or "Guest"
    conn.metadata["username"] = name
    await conn.send({"type": "connected", "id": conn.id, "username": name, "room": "general"})
    conn.broadcast({"type": "user-joined", "username": name, "room": "general"}, room="general")


@chat.on_message
async def message(conn, data):
    name = conn.metadata["username"]
    room = data["room"] or "general"  # an empty name means the default room
    kind = data["type"]
    if kind == "chat":
        if not conn.in_room(room):
            await conn.send({"type": "error", "message": f"join #{room} first"})
            return
        conn.broadcast(
            {"type": "chat-message", "from": name, "text": data["text"], "room": room},
            room=room,
            include_self=True,
        )
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


@chat.on_close
def left(conn, code, reason, initiated_by_client):
    # Still a member of its rooms here: tell each of them once.
    for room in conn.rooms:
        conn.broadcast(
            {"type": "user-left", "username": conn.metadata.get("username"), "room": room},
            room=room,
        )
