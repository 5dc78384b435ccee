"""`Connection`: one open WebSocket, as handler code sees it.

A connection knows nothing of sockets. It talks to two small interfaces: its `Link` (the
session that owns the socket: sending, pings, closing) and its endpoint's `Rooms` (membership
and broadcasting). The runtime provides both: the link is a `Session`, whether wsside owns
the socket or an ASGI server does, and the rooms are the endpoint's `Hub`.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Awaitable, Mapping
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, cast

# At run time too (request.py loads multidict anyway): `typing.get_type_hints(Connection)`
# resolves the attributes' annotations.
from multidict import CIMultiDictProxy, MultiDictProxy

from ._handler_notes import reason_too_long, reason_unencodable
from ._other_names import INSTEAD, refusal
from ._threads import is_this_thread, off_loop_error, this_thread
from .closecodes import CloseCode, CloseReason, ReasonTooLong, check_close

if TYPE_CHECKING:
    from dataclasses import Field

__all__ = ["Connection", "DataclassInstance", "Link", "Rooms", "Sendable"]


class DataclassInstance(Protocol):
    """An instance of a dataclass (typeshed's `_typeshed.DataclassInstance`): sent as the
    JSON object of its fields."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


# What `send` and the broadcasts take (for type checkers; the encoder checks at run time):
# JSON values (a TypedDict is a Mapping), dataclass instances, text and binary. A Mapping
# that is not a dict, and NaN or Infinity, pass the type and still raise TypeError.
Sendable = (
    Mapping[Any, Any]
    | DataclassInstance
    | list[Any]
    | tuple[Any, ...]
    | str
    | bytes
    | bytearray
    | memoryview
    | float
    | None
)


class Link(Protocol):
    """What a connection asks of the session that owns its socket."""

    @property
    def closing(self) -> bool:
        """True once either side started closing."""
        ...

    def headers(self) -> CIMultiDictProxy[str]: ...

    def send(self, data: object) -> Awaitable[None]:
        """Encode and queue `data` (TypeError for what cannot be sent); awaiting the result
        waits for the socket to drain."""
        ...

    def ping(self, payload: bytes) -> None: ...

    def pong(self, payload: bytes) -> None: ...

    def close(self, code: int, reason: bytes, drop_queued: bool = False) -> Awaitable[None]: ...

    def buffered(self) -> int:
        """Bytes queued for the client that the socket has not taken yet."""
        ...

    def client(self) -> str:
        """The client's `host:port`, as the access line writes it (asked by error reports)."""
        ...


class Rooms(Protocol):
    """What a connection asks of its endpoint: rooms and broadcasting."""

    def join(self, conn: Connection, room: str) -> None: ...

    def leave(self, conn: Connection, room: str) -> None: ...

    def rooms_of(self, conn: Connection) -> AbstractSet[str]:
        """The rooms `conn` is in, live (callers copy what they keep)."""
        ...

    def broadcast(
        self, data: object, room: str | None = None, exclude: Connection | None = None
    ) -> int: ...

    def broadcast_rooms(
        self, conn: Connection, data: object, exclude: Connection | None
    ) -> int: ...


# `metadata` not asked for yet: most connections never use it, and an empty dict is 64 bytes.
_NO_METADATA: Final = cast("dict[str, Any]", object())  # never handed out: see `metadata`


class Connection:
    """An open WebSocket of one endpoint.

    `send` works from sync and async callbacks: the frame is queued at once, and awaiting the
    result waits for the socket to drain. On a closed connection sending does nothing. The
    methods that write (`send`, the broadcasts, `ping`, `pong`, `close`) belong to the event
    loop's thread: from another thread they raise RuntimeError saying how to hand them over.
    """

    # A dict: its values are the attributes' docstrings, which `help(Connection)` shows. The
    # annotations below (no values: a slot's name cannot also be a class attribute) give type
    # checkers the types, and the string under each is the editor's hover text: the same words
    # (tests/test_public_names.py keeps them so).
    __slots__ = {
        "__weakref__": None,
        "_id": None,
        "_link": None,
        "_metadata": None,
        "_rooms": None,
        "_thread": None,
        "params": "What the pattern's `{name}` parts matched, keyed by name.",
        "path": "The request's path as the client sent it (prefix included, no query string).",
        "query": "The query string's parameters (read-only; `getall` for repeated keys).",
        "subprotocol": "The subprotocol agreed in the handshake, or None.",
    }

    path: str
    "The request's path as the client sent it (prefix included, no query string)."
    params: dict[str, str]
    "What the pattern's `{name}` parts matched, keyed by name."
    query: MultiDictProxy[str]
    "The query string's parameters (read-only; `getall` for repeated keys)."
    subprotocol: str | None
    "The subprotocol agreed in the handshake, or None."

    def __init__(
        self,
        link: Link,
        rooms: Rooms,
        *,
        path: str,
        params: Mapping[str, str],
        query: MultiDictProxy[str],
        subprotocol: str | None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._id: str | None = None  # made when first read (most handlers never do)
        self.path = path
        self.params = dict(params)
        self.query = query
        self._metadata: dict[str, Any] = metadata if metadata is not None else _NO_METADATA
        self.subprotocol = subprotocol
        self._rooms = rooms
        self._link = link
        # Sockets are written on the event loop's thread only (asyncio transports are not
        # thread-safe): the methods that write check that they run on the thread that made
        # the connection (the session makes it on the loop's), `_off_loop` otherwise.
        self._thread = this_thread()

    @property
    def id(self) -> str:
        """A random UUID (version 4) naming this connection."""
        if self._id is None:
            self._id = str(uuid.uuid4())
        return self._id

    @property
    def metadata(self) -> dict[str, Any]:
        """A dict for the handler's per-connection state (made on first use)."""
        if self._metadata is _NO_METADATA:
            self._metadata = {}
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = value

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The upgrade request's headers (read-only, case-insensitive)."""
        return self._link.headers()

    @property
    def closed(self) -> bool:
        """True once either side started closing."""
        return self._link.closing

    @property
    def buffered_amount(self) -> int:
        """Bytes sent to this client that wait in this process, not yet taken by the socket
        (as a browser's `WebSocket.bufferedAmount`): 0 while the client keeps up. The kernel's
        own buffers (often megabytes) come before it grows."""
        return self._link.buffered()

    @property
    def rooms(self) -> AbstractSet[str]:
        """The rooms this connection is in (a read-only snapshot)."""
        return frozenset(self._rooms.rooms_of(self))

    def send(self, data: Sendable) -> Awaitable[None]:
        """Queue `data`: dict/list/number/bool/None as JSON text (a dataclass instance as the
        dict of its fields), str as text, bytes as binary. On the event loop's thread only."""
        if not is_this_thread(self._thread):
            raise _off_loop(self, "send", "data")
        return self._link.send(data)

    def broadcast(
        self, data: Sendable, room: str | None = None, include_self: bool = False
    ) -> None:
        """Send to the members of `room`, or to every connection of this endpoint."""
        if not is_this_thread(self._thread):
            raise _off_loop(self, "broadcast", "data")
        if room is not None and not isinstance(room, str):
            raise room_error(room, "conn.broadcast")
        self._rooms.broadcast(data, room, None if include_self else self)

    def broadcast_all_rooms(self, data: Sendable, include_self: bool = False) -> None:
        """Send once to each member of any room this connection is in."""
        if not is_this_thread(self._thread):
            raise _off_loop(self, "broadcast_all_rooms", "data")
        self._rooms.broadcast_rooms(self, data, None if include_self else self)

    def join_room(self, room: str) -> None:
        """Join `room`: its broadcasts reach this connection until it leaves or closes."""
        if not isinstance(room, str):
            raise room_error(room, "conn.join_room")
        self._rooms.join(self, room)

    def leave_room(self, room: str) -> None:
        """Leave `room` (nothing happens when this connection is not in it)."""
        if not isinstance(room, str):
            raise room_error(room, "conn.leave_room")
        self._rooms.leave(self, room)

    def in_room(self, room: str) -> bool:
        """Whether this connection is in `room`."""
        if not isinstance(room, str):
            raise room_error(room, "conn.in_room")
        return room in self._rooms.rooms_of(self)

    def ping(self, payload: bytes | str = b"") -> None:
        """Send a ping (at most 125 bytes); the client answers with a pong (`on_pong`)."""
        if not is_this_thread(self._thread):
            raise _off_loop(self, "ping", "")
        if not self._link.closing:
            self._link.ping(_control_payload(payload))

    def pong(self, payload: bytes | str = b"") -> None:
        """Send a pong, e.g. from `on_ping` (which replaces the automatic answer)."""
        if not is_this_thread(self._thread):
            raise _off_loop(self, "pong", "")
        if not self._link.closing:
            self._link.pong(_control_payload(payload))

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> Awaitable[None]:
        """Start the closing handshake; awaiting the result waits until the socket is closed.

        Raises ValueError for a code a close frame cannot carry; a reason longer than its 123
        bytes of UTF-8 is cut to them (whole characters), with a warning. Idempotent.
        """
        if not is_this_thread(self._thread):
            raise _off_loop(self, "close", "")
        if isinstance(reason, str) and _SURROGATE.search(reason):
            # Half an emoji from a page's text: UTF-8 cannot carry it, and the close must go.
            reason = _SURROGATE.sub("\ufffd", reason)
            reason_unencodable(sys._getframe(1))
        try:
            raw = check_close(code, reason)
        except ReasonTooLong as exc:
            # The close matters more than its words (a session that expired must end): said,
            # once per line that does it, and sent cut.
            raw = exc.cut
            reason_too_long(reason, raw, sys._getframe(1))
        return self._link.close(code, raw, drop_queued=True)

    def _restart(self) -> Awaitable[None]:
        """The runtime's hook: close with 1012 Service Restart (its handler file changed), the
        messages already received still handled, unlike after `close`."""
        return self._link.close(CloseCode.SERVICE_RESTART, CloseReason.SERVICE_RESTART.encode())

    def _client(self) -> str:
        """The runtime's hook: the client's `host:port` for an error report (private: not
        part of the API a handler sees; asked only when a callback failed)."""
        return self._link.client()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Connection {self.id} {self.path} {state}>"

    if not TYPE_CHECKING:  # a type checker goes on refusing an unknown name, as it should

        def __dir__(self) -> list[str]:
            # The other libraries' names (`_other_names.py`, set below) are no attributes:
            # not offered, nor suggested by a traceback's "Did you mean".
            return [name for name in super().__dir__() if name not in INSTEAD]


if not TYPE_CHECKING:
    for _name, _instead in INSTEAD.items():
        setattr(Connection, _name, refusal(_name, _instead))


_SURROGATE = re.compile("[\ud800-\udfff]")


def room_error(room: object, call: str) -> TypeError:
    """What `call` raises for a room that is not a `str` (a `StrEnum` is one), with the likely
    slip of a port from the JavaScript plugin: its options object, or `include_self` given in
    `room`'s place."""
    said = f"{call}(): a room is a str, its name; got {type(room).__name__} {room!r:.80}"
    if isinstance(room, Mapping):
        return TypeError(f"{said}: options go by keyword, {call}(data, room='lobby', ...)")
    if isinstance(room, bool):
        return TypeError(f"{said}: to include the sender, {call}(data, include_self=True)")
    if isinstance(room, (list, tuple, set, frozenset)):
        return TypeError(f"{said}: one room per call")
    return TypeError(said)


def _off_loop(conn: Connection, method: str, args: str) -> RuntimeError:
    return off_loop_error(
        repr(conn), method, f"conn.{method}, {args}" if args else f"conn.{method}"
    )


def _control_payload(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
