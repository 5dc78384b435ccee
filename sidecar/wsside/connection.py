"""`Connection`: one open WebSocket, as handler code sees it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, AbstractSet, Awaitable, Generator, Mapping

from multidict import CIMultiDictProxy, MultiDictProxy

from .closecodes import check_close
from ._protocol.codec import encode
from ._protocol.http_head import read_headers

if TYPE_CHECKING:
    from ._io.writer import FrameIO
    from ._runtime.hub import Hub
    from ._runtime.session import Session

__all__ = ["Connection"]

_OP_PING = 0x9
_OP_PONG = 0xA


class _Sent:
    """What `send` returns: already queued; awaiting it waits for the socket to drain."""

    __slots__ = ("_io",)

    def __init__(self, io: FrameIO | None) -> None:
        self._io = io

    def __await__(self) -> Generator[Any, None, None]:
        io = self._io
        if io is not None and io.protocol._paused:
            return (yield from io.drain().__await__())
        return None


_DONE = _Sent(None)

# The rooms of a connection in none yet, shared (an empty set costs 216 bytes, and most
# connections never join a room); `Hub.join` gives a connection its own set. Never mutated.
NO_ROOMS: Any = frozenset()
# `metadata` not asked for yet: most connections never use it, and an empty dict is 64 bytes.
_NO_METADATA: Any = object()


class Connection:
    """An open WebSocket of one endpoint.

    `send` works from sync and async callbacks: the frame is queued at once, and awaiting the
    result waits for the socket to drain. On a closed connection sending does nothing.
    """

    __slots__ = (
        "_id", "path", "params", "query", "_headers", "_metadata", "subprotocol",
        "_rooms", "_hub", "_io", "_session", "__weakref__",
    )

    def __init__(
        self,
        hub: Hub,
        io: FrameIO,
        session: Session,
        *,
        path: str,
        params: Mapping[str, str],
        query: MultiDictProxy[str],
        headers: CIMultiDictProxy[str] | bytes,
        subprotocol: str | None,
    ) -> None:
        self._id: str | None = None  # made when first read (most handlers never do)
        self.path = path
        self.params = dict(params)
        self.query = query
        self._headers = headers  # or the raw request head, read on first use (see `headers`)
        self._metadata: dict[str, Any] = _NO_METADATA
        self.subprotocol = subprotocol
        self._rooms: set[str] = NO_ROOMS
        self._hub = hub
        self._io = io
        self._session = session

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
        headers = self._headers
        if isinstance(headers, bytes):  # a handed-over socket's head, read once
            headers = self._headers = read_headers(headers)
        return headers

    @property
    def closed(self) -> bool:
        """True once either side started closing."""
        return self._io.closing

    @property
    def rooms(self) -> AbstractSet[str]:
        """The rooms this connection is in (a read-only snapshot)."""
        return frozenset(self._rooms)

    def send(self, data: Any) -> Awaitable[None]:
        """Queue `data`: dict/list/number/bool/None as JSON text, str as text, bytes as binary."""
        opcode, payload = encode(data)
        if self._io.closing:
            return _DONE
        self._io.write(opcode, payload)
        return _Sent(self._io)

    def broadcast(self, data: Any, room: str | None = None, include_self: bool = False) -> None:
        """Send to the members of `room`, or to every connection of this endpoint."""
        self._hub.broadcast(data, room=room, exclude=None if include_self else self)

    def broadcast_all_rooms(self, data: Any, include_self: bool = False) -> None:
        """Send once to each member of any room this connection is in."""
        targets: dict[Connection, None] = {}
        for room in self._rooms:
            targets.update(self._hub.rooms.get(room, {}))
        self._hub.deliver(data, targets, None if include_self else self)

    def join_room(self, room: str) -> None:
        self._hub.join(self, room)

    def leave_room(self, room: str) -> None:
        self._hub.leave(self, room)

    def in_room(self, room: str) -> bool:
        return room in self._rooms

    def ping(self, payload: bytes | str = b"") -> None:
        self._control(_OP_PING, payload)

    def pong(self, payload: bytes | str = b"") -> None:
        self._control(_OP_PONG, payload)

    def _control(self, opcode: int, payload: bytes | str) -> None:
        raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        if not self._io.closing:
            self._io.write_control(opcode, raw)

    def close(self, code: int = 1000, reason: str = "") -> Awaitable[None]:
        """Start the closing handshake; awaiting the result waits until the socket is closed.

        Raises ValueError for a code or reason a close frame cannot carry. Idempotent.
        """
        raw = check_close(code, reason)
        return self._session.close(code, raw)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Connection {self.id} {self.path} {state}>"
