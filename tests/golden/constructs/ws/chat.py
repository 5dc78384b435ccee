"""Every construct a message type may use, in one endpoint."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, NotRequired, Optional, Required, TypedDict, Union

import _shared

from wsside import Handler


class User(TypedDict):
    """Who wrote it.

    Shown as "name (id)"; never */ trusted.
    """

    name: str
    shared: _shared.User


class ChatIn(TypedDict):
    """A line typed by the user."""

    type: Literal["chat"]
    text: str
    reply_to: NotRequired[Optional[int]]  # noqa: UP045  (the generator must read typing.Optional)
    tags: list[str]
    author: User
    extra: dict[str, Any]
    score: Annotated[float, "points"]


class Options(TypedDict, total=False):
    type: Required[Literal["options"]]
    muted: bool
    colour: Literal["red", "green", 'it\'s "blue"\\', 3, True, None]
    matrix: list[list[int | None]]


# Keys that are not identifiers need the functional syntax.
Card = TypedDict("Card", {"type": Literal["card"], "first-name": str, "2fa": NotRequired[bool]})


class Receives(TypedDict):
    """Named like the alias the generator declares: renamed, not clashing."""

    type: Literal["receives"]


class Comment(TypedDict):
    body: str
    replies: list[Comment]


@dataclasses.dataclass
class Joined:
    type: Literal["joined"]
    who: str
    at: float = 0.0
    rooms: list[str] = dataclasses.field(default_factory=list)


chat = Handler(
    "/ws/chat",
    receives=Union[ChatIn, Options, Card, Receives, bytes],  # noqa: UP007  (typing.Union is under test)
    sends=Joined | Comment | str | bytes | None,
)
anything = Handler("/ws/anything", receives=Any, sends=list[Any])
scalars = Handler("/ws/scalars", receives=int | float | bool, sends=dict[str, str])


# The error frame: added to sends= (ErrorFrame) unless the handler has on_error, sends=
# admits it already, or sends= is all bytes, str and string literals (a binary or
# plain-text protocol).
class Failure(TypedDict):
    type: Literal["error"]
    message: str
    code: NotRequired[int]


class ErrorFrame(TypedDict):
    """Named like the client's type the generator imports: renamed, not clashing."""

    type: Literal["frame"]


declared = Handler("/ws/declared-errors", receives=str, sends=Failure)
renamed = Handler("/ws/renamed", receives=str, sends=ErrorFrame | str)
handled = Handler("/ws/handled-errors", receives=str, sends=list[str])
binary = Handler("/ws/binary", receives=bytes, sends=bytes)
plain = Handler("/ws/plain", receives=str, sends=str | bytes)


@handled.on_error
async def fault(conn, exc):
    await conn.close(1011)


# With transform_raw_data, receives= types the transform's result: the page's side is unknown.
transformed = Handler(
    "/ws/transformed", transform_raw_data=lambda raw: {"text": raw}, receives=Options, sends=str
)
