"""Mistakes a type checker can catch in handler code: each line marked `# E: <code>` is one
mypy reports, and no other line is. Checked by tests/test_types_mypy.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from wsside import Connection, Handler, Request, Response

h = Handler("/ws/wrong")


@h.on_connect  # E: type-var
def keyword_only(conn: Connection, *, request: Request) -> None: ...


@h.on_close  # E: type-var
def code_as_str(conn: Connection, code: str) -> None: ...


@h.on_message  # E: type-var
def three(conn: Connection, data: Any, extra: int) -> None: ...


@h.on_ping  # E: type-var
def payload_as_str(conn: Connection, payload: str) -> None: ...


@h.background  # E: type-var
def not_async(handler: Handler) -> None: ...


@dataclass
class Point:
    x: int


def returns_point(request: Request) -> Point:
    return Point(1)


# authenticate returns a bool or a dict: a Point would accept and be dropped.
Handler("/ws/auth3", authenticate=returns_point)  # E: arg-type


@h.on_message
def sends(conn: Connection, data: Any) -> None:
    conn.send({1, 2})  # E: arg-type
    conn.send(Point)  # E: arg-type
    conn.broadcast(object())  # E: arg-type
    conn.broadcast_all_rooms({1})  # E: arg-type
    h.broadcast({1})  # E: arg-type


Handler("/ws/auth", authenticate=lambda request, user: True)  # E: arg-type
Handler("/ws/auth2", authenticate=1)  # E: arg-type
Response({"type": "x"}, {1, 2})  # E: arg-type


@h.on_connect
def connected(conn: Connection, request: Request) -> None: ...


@h.on_message
async def message(conn: Connection, data: int) -> None: ...


@h.on_close
def closed(conn: Connection, code: int) -> None: ...


@h.on_error
def failed(conn: Connection, exc: Exception) -> None: ...


@h.on_pong
def ponged(conn: Connection, payload: bytes) -> None: ...


@h.background
async def tick(handler: Handler) -> None: ...


# Each decorator keeps the function's signature (it is not Any), so a wrong call is caught.
connected(1, 2)  # E: arg-type
_ = message(h, 1)  # E: arg-type
closed(h, 1000)  # E: arg-type
failed(h, ValueError())  # E: arg-type
ponged(h, b"")  # E: arg-type
_ = tick(1)  # E: arg-type


# receives=/sends= type nothing statically: the annotations do (docs/types.md, "In the Python
# handler"). Annotated with the TypedDicts, a wrong key read or a wrong message is caught.
class Said(TypedDict):
    type: Literal["said"]
    text: str


class Heard(TypedDict):
    type: Literal["heard"]
    text: str


typed = Handler("/ws/typed", receives=Said, sends=Heard)


@typed.on_message
def annotated(conn: Connection, data: Said) -> None:
    conn.send(data["txt"])  # E: typeddict-item
    out: Heard = {"type": "heard"}  # E: typeddict-item
    conn.send(out)
