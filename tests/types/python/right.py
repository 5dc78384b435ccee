"""Handler code written as the README shows it, fully annotated: `mypy --strict` reports
nothing here. Checked by tests/test_types_mypy.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from wsside import (
    Broadcast,
    CloseCode,
    Connection,
    Deflate,
    Handler,
    MessageTypeError,
    ProtocolError,
    Request,
    Response,
    Sendable,
)


class ChatIn(TypedDict):
    type: Literal["chat"]
    text: str


class Typing(TypedDict):
    type: Literal["typing"]


class ChatMessage(TypedDict):
    type: Literal["chat-message"]
    author: str
    text: str


chat = Handler(
    "/ws/chat/{room}",
    default_room="general",
    heartbeat=30,
    per_message_deflate=Deflate(server_max_window_bits=10),
    subprotocols=["chat.v1"],
    receives=ChatIn | Typing,
    sends=ChatMessage,
)


@chat.on_connect
async def hello(conn: Connection, request: Request) -> None:
    user: str = request.query.get("username", "Guest")
    room: str = request.params["room"]
    token: str | None = request.cookies.get("token") or request.headers.get("X-Token")
    conn.metadata["username"] = user
    conn.join_room(room)
    rooms: frozenset[str] = frozenset(conn.rooms)
    await conn.send({"type": "connected", "id": conn.id, "rooms": sorted(rooms), "t": token})
    conn.send("queued at once, not awaited")


@chat.on_message
async def message(conn: Connection, data: ChatIn | Typing) -> None:
    if data["type"] == "chat":
        out: ChatMessage = {"type": "chat-message", "author": conn.id, "text": data["text"]}
        conn.broadcast(out, room=conn.params["room"], include_self=True)
        conn.broadcast_all_rooms([out, b"binary", 1.5, None])


@chat.on_close
def bye(conn: Connection, code: int, reason: str, initiated_by_client: bool) -> None:
    print(code == CloseCode.GOING_AWAY, reason, initiated_by_client)


@chat.on_error
async def failed(conn: Connection, exc: Exception) -> None:
    if isinstance(exc, ProtocolError):
        print(exc.code, exc.reason)
    elif isinstance(exc, MessageTypeError):
        await conn.close(CloseCode.UNSUPPORTED_DATA, str(exc))


@chat.on_ping
def pinged(conn: Connection, payload: bytes) -> None:
    conn.pong(payload)


@chat.on_pong
def ponged(conn: Connection) -> None:  # fewer parameters than wsside passes
    conn.ping("again")


@chat.background
async def tick(handler: Handler) -> None:
    while True:
        await asyncio.sleep(1)
        handler.broadcast({"type": "tick", "listeners": len(handler.connections)})


@dataclass
class Pos:
    x: int
    y: int


moves = Handler("/ws/moves", sends=Pos)


@moves.on_message
def moved(conn: Connection, data: Any) -> None:
    conn.send(Pos(1, 2))  # a dataclass instance goes as the JSON object of its fields
    conn.broadcast([Pos(1, 2), Pos(3, 4)])
    conn.broadcast_all_rooms({"at": Pos(0, 0)})
    moves.broadcast(Pos(5, 6))


def push(conn: Connection, data: Sendable) -> None:  # a helper typed with wsside's own type
    conn.send(data)


def check_token(request: Request) -> dict[str, Any] | bool:
    user = {"s3cret": "ada"}.get(request.query.get("token", ""))
    return {"user": user} if user else False


async def check_later(request: Request) -> bool:
    return bool(request.headers.get("Authorization"))


def upper(conn: Connection, msg: Any) -> Any:
    return msg.upper()


private = Handler("/ws/private", authenticate=check_token, on_close=lambda conn: None)
later = Handler("/ws/later", authenticate=check_later, on_connect=lambda conn, request: None)
keyed = Handler(
    "/ws/keyed",
    authenticate="X-Api-Key",
    transform_raw_data=lambda raw: raw if isinstance(raw, str) else raw.decode(),
)
echo = Handler(
    "/ws/echo",
    default_room="lobby",
    responses=[
        Response({"type": "ping"}, {"type": "pong"}),
        Response({"type": "echo"}, lambda conn, msg: {"type": "echo", "data": msg.get("data")}),
        Response(
            {"type": "announce"},
            lambda conn, msg: {"type": "announcement", "text": msg["text"]},
            broadcast=Broadcast(room="lobby", include_self=True),
        ),
        Response(lambda conn, msg: msg == "all", None, broadcast=True),
    ],
)
echo.respond(lambda conn, msg: isinstance(msg, str), upper)


# The decorators return the function itself, with its type: it can still be called (in tests).
async def exercise(conn: Connection, request: Request) -> None:
    await hello(conn, request)
    await message(conn, {"type": "typing"})
    bye(conn, 1000, "", True)
