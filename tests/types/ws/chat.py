"""The handlers whose types tests/types/app.ts is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from wsside import Handler


class ChatIn(TypedDict):
    type: Literal["chat"]
    text: str
    reply_to: NotRequired[int | None]


class Typing(TypedDict):
    type: Literal["typing"]


class Author(TypedDict):
    name: str


class ChatMessage(TypedDict):
    type: Literal["chat-message"]
    author: Author
    text: str


@dataclass
class Joined:
    type: Literal["joined"]
    who: str
    at: float = 0.0


chat = Handler("/ws/chat", receives=ChatIn | Typing, sends=ChatMessage | Joined)


class Move(TypedDict):
    type: Literal["move"]
    x: int
    y: int


class State(TypedDict):
    type: Literal["state"]
    players: dict[str, list[int]]


rooms = Handler("/ws/rooms/{room}", receives=Move | bytes, sends=State)


@rooms.on_error
async def fault(conn, exc):
    await conn.close(1011)


untyped = Handler("/ws/echo")


class Point(TypedDict):
    x: int
    y: int


def parse_point(raw: str | bytes) -> object:
    x, y = str(raw).split(",")
    return {"x": int(x), "y": int(y)}


# receives= types what transform_raw_data returns, not what the page sends.
points = Handler("/ws/points", transform_raw_data=parse_point, receives=Point, sends=Point)
