"""A hub: the open connections of one endpoint, its rooms, and delivery to them.

Rooms are per endpoint (`lobby` on `/ws/a` is not `lobby` on `/ws/b`). The hub outlives hot
reloads: the registry hands it from the old declaration to the new one. It implements the
`Rooms` interface a `Connection` talks to, and writes to each connection through its `Outlet`.
A broadcast is encoded once, then written as the same frame to every receiver that does not
compress; with a backplane, it is also published once for the other processes. In debug mode
(`check_sends`) every message sent through the hub or its connections' sessions is checked
against the handler's `sends` first: a warning names the field, and the message still goes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from .._protocol.codec import encode
from .._protocol.frames import encode_frame
from .._threads import ThreadMark, this_thread
from .callbacks import is_error_frame, sends_error_frame
from .message_fit import warn_unfit_send

if TYPE_CHECKING:
    from ..connection import Connection
    from ..handler import Handler
    from .backplane import Backplane

__all__ = ["Hub", "Outlet"]


class Outlet(Protocol):
    """The write side of one connection, as the hub uses it (`FrameIO`, or an ASGI sender)."""

    @property
    def closing(self) -> bool: ...

    @property
    def takes_frames(self) -> bool:
        """Whether `write_frame` may be given a frame encoded once for many receivers."""
        ...

    def write(self, opcode: int, payload: bytes) -> None: ...

    def write_frame(self, frame: bytes) -> None: ...


_NOT_IN_ANY_ROOM: AbstractSet[str] = frozenset()
_NO_MEMBERS: Mapping[Connection, Outlet] = MappingProxyType({})


class Hub:
    __slots__ = (
        "_check_sends",
        "_empty",
        "_handler",
        "_inline",
        "_joined",
        "backplane",
        "check_sent",
        "connections",
        "messages_inline",
        "retired",
        "rooms",
        "thread",
    )

    def __init__(
        self, handler: Handler, backplane: Backplane | None = None, check_sends: bool = False
    ) -> None:
        self._check_sends = check_sends
        self.handler = handler
        # open connections in arrival order (dict keys serve as an ordered set)
        self.connections: dict[Connection, Outlet] = {}
        # room name -> members in join order
        self.rooms: dict[str, dict[Connection, Outlet]] = {}
        # connection -> the rooms it is in (only connections in at least one room)
        self._joined: dict[Connection, set[str]] = {}
        self.backplane = backplane
        # the thread its connections are written on, while it has any (`Handler.broadcast`
        # checks it: a thread running a loop of its own must not write to them either)
        self.thread: ThreadMark | None = None
        # Its pattern is declared no more (`retire`): the handler stops serving once the last
        # connection has gone.
        self.retired = False

    @property
    def handler(self) -> Handler:
        """The current declaration (replaced in place on hot reload)."""
        return self._handler

    @handler.setter
    def handler(self, handler: Handler) -> None:
        self._handler = handler
        self._inline = _inline_jobs(handler)
        # Data messages run by `callbacks.message_now` inside `data_received`, no coroutine.
        self.messages_inline = "on_message" in self._inline
        self._empty = _empty_jobs(handler)
        # Called with each outgoing message in debug mode; None (no cost) otherwise.
        self.check_sent: Callable[[object], None] | None = (
            _sent_checker(handler) if self._check_sends and handler.sends is not None else None
        )

    def runs_inline(self, job: str) -> bool:
        """Whether that kind of job may run inside `data_received`: only plain functions do;
        coroutine callbacks run in a task, where `asyncio.timeout()` and the like work."""
        return job in self._inline

    def has_nothing_for(self, job: str) -> bool:
        """Whether that kind of job (on_connect, on_close, on_error) has no callback to run."""
        return job in self._empty

    # ---- membership ----------------------------------------------------------------------

    def add(self, conn: Connection, outlet: Outlet) -> None:
        self.connections[conn] = outlet
        if self.thread is None:  # (reset when the last one goes: they share one thread)
            self.thread = this_thread()

    def remove(self, conn: Connection) -> None:
        """`conn` has closed and its `on_close` has run."""
        self.connections.pop(conn, None)
        if not self.connections:
            self.thread = None
            if self.retired:
                self._handler._serve_with(None)
        for room in self._joined.pop(conn, ()):
            self._forget(conn, room)

    def retire(self) -> None:
        """Its pattern is declared no more: close its connections with 1012. Its handler
        serves them until the last `on_close` has run (an `on_close` that reads
        `handler.connections` or broadcasts reaches the others still closing), then no
        connection."""
        self.retired = True
        if not self.connections:
            self._handler._serve_with(None)
        for conn in tuple(self.connections):
            conn._restart()

    def join(self, conn: Connection, room: str) -> None:
        outlet = self.connections.get(conn)
        if outlet is None:
            return  # closed and finished: nothing will reach it
        self.rooms.setdefault(room, {})[conn] = outlet
        self._joined.setdefault(conn, set()).add(room)

    def leave(self, conn: Connection, room: str) -> None:
        joined = self._joined.get(conn)
        if joined is None or room not in joined:
            return
        joined.discard(room)
        if not joined:
            del self._joined[conn]
        self._forget(conn, room)

    def _forget(self, conn: Connection, room: str) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.pop(conn, None)
            if not members:
                del self.rooms[room]

    def rooms_of(self, conn: Connection) -> AbstractSet[str]:
        return self._joined.get(conn, _NOT_IN_ANY_ROOM)

    def open_connections(self, room: str | None = None) -> tuple[Connection, ...]:
        members: Mapping[Connection, Outlet] = (
            self.connections if room is None else self.rooms.get(room, _NO_MEMBERS)
        )
        return tuple(c for c, outlet in members.items() if not outlet.closing)

    # ---- delivery ------------------------------------------------------------------------

    def broadcast(
        self, data: object, room: str | None = None, exclude: Connection | None = None
    ) -> int:
        """Encode once and queue to each receiver; returns how many here were sent to."""
        if self.check_sent is not None:
            self.check_sent(data)
        opcode, payload = encode(data)
        if self.backplane is not None:
            self.backplane.publish(
                self._handler.pattern.source, None if room is None else (room,), opcode, payload
            )
        targets = self.connections if room is None else self.rooms.get(room)
        return _deliver(opcode, payload, targets, exclude) if targets else 0

    def broadcast_rooms(self, conn: Connection, data: object, exclude: Connection | None) -> int:
        """Send once to each member of any room `conn` is in."""
        rooms = self._joined.get(conn)
        if not rooms:
            return 0
        if self.check_sent is not None:
            self.check_sent(data)
        opcode, payload = encode(data)
        if self.backplane is not None:
            self.backplane.publish(self._handler.pattern.source, tuple(rooms), opcode, payload)
        return self.deliver(opcode, payload, rooms, exclude)

    def deliver(
        self,
        opcode: int,
        payload: bytes,
        rooms: Iterable[str] | None,
        exclude: Connection | None = None,
    ) -> int:
        """Write an encoded message to this process's members of `rooms` (each once), or to
        every connection when `rooms` is None. The backplane delivers through this too."""
        if rooms is None:
            return _deliver(opcode, payload, self.connections, exclude)
        targets: dict[Connection, Outlet] = {}
        for room in rooms:
            members = self.rooms.get(room)
            if members:
                targets.update(members)
        return _deliver(opcode, payload, targets, exclude)


def _deliver(
    opcode: int, payload: bytes, targets: dict[Connection, Outlet], exclude: Connection | None
) -> int:
    frame: bytes | None = None
    sent = 0
    for conn, outlet in tuple(targets.items()):
        if conn is exclude or outlet.closing:
            continue
        if outlet.takes_frames:
            if frame is None:
                frame = encode_frame(opcode, payload)
            outlet.write_frame(frame)
        else:
            outlet.write(opcode, payload)
        sent += 1
    return sent


def _sent_checker(handler: Handler) -> Callable[[object], None]:
    assert handler.sends is not None
    check = handler.sends.check
    # Without on_error, wsside's own error frame is sent too, unless sends= is all bytes,
    # str and string literals (then no frame is sent, and one the handler sends itself is
    # checked as any message).
    errors_too = handler.callbacks["on_error"] is None and sends_error_frame(handler.sends)

    def check_sent(data: object) -> None:
        problem = check(data)
        if problem is not None and not (errors_too and is_error_frame(data)):
            warn_unfit_send(handler, problem)

    return check_sent


# The jobs of a connection's queue other than its messages, each named after its callback.
_JOBS = ("on_connect", "on_close", "on_ping", "on_pong", "on_error")


def _inline_jobs(handler: Handler) -> frozenset[str]:
    """The jobs (each named after its callback) whose user code is all plain functions."""
    is_async = inspect.iscoroutinefunction
    callbacks = handler.callbacks
    if is_async(callbacks["on_error"]):
        return frozenset()  # the error path of any job would await it
    jobs = {name for name in _JOBS if not is_async(callbacks[name])}
    message_parts: list[object] = [callbacks["on_message"], handler.transform_raw_data]
    for rule in handler.responses:
        message_parts += [rule.match, rule.response]
    if not handler.delay and not any(is_async(part) for part in message_parts):
        jobs.add("on_message")
    return frozenset(jobs)


def _empty_jobs(handler: Handler) -> frozenset[str]:
    """The jobs that have no callback to run (a message always has: its rules, the check)."""
    callbacks = handler.callbacks
    return frozenset(
        name for name in ("on_connect", "on_close", "on_error") if callbacks[name] is None
    )
