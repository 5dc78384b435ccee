"""A hub: the open connections of one endpoint and its rooms.

Rooms are per endpoint (`lobby` on `/ws/a` is not `lobby` on `/ws/b`). The hub outlives hot
reloads: the registry hands it from the old declaration to the new one.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Iterable

from .._protocol.codec import encode
from ..connection import NO_ROOMS

if TYPE_CHECKING:
    from ..connection import Connection
    from ..handler import Handler

__all__ = ["Hub"]


class Hub:
    __slots__ = ("_handler", "_inline", "_empty", "connections", "rooms", "tasks")

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        # open connections in arrival order (dict keys serve as an ordered set)
        self.connections: dict[Connection, None] = {}
        # room name -> members in join order; dict keys serve as an ordered set
        self.rooms: dict[str, dict[Connection, None]] = {}
        self.tasks: list[Any] = []

    @property
    def handler(self) -> Handler:
        """The current declaration (replaced in place on hot reload)."""
        return self._handler

    @handler.setter
    def handler(self, handler: Handler) -> None:
        self._handler = handler
        self._inline = _inline_jobs(handler)
        self._empty = _empty_jobs(handler)

    def runs_inline(self, job: str) -> bool:
        """Whether that kind of job may run inside `data_received`: only plain functions do;
        coroutine callbacks run in a task, where `asyncio.timeout()` and the like work."""
        return job in self._inline

    def has_nothing_for(self, job: str) -> bool:
        """Whether that kind of job (connect, close) has no callback to run at all."""
        return job in self._empty

    def add(self, conn: Connection) -> None:
        self.connections[conn] = None

    def remove(self, conn: Connection) -> None:
        self.connections.pop(conn, None)
        for room in tuple(conn._rooms):
            self.leave(conn, room)

    def join(self, conn: Connection, room: str) -> None:
        self.rooms.setdefault(room, {})[conn] = None
        if conn._rooms is NO_ROOMS:
            conn._rooms = set()
        conn._rooms.add(room)

    def leave(self, conn: Connection, room: str) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.pop(conn, None)
            if not members:
                del self.rooms[room]
        if room in conn._rooms:  # never true of NO_ROOMS, which has no discard
            conn._rooms.discard(room)

    def open_connections(self) -> tuple[Connection, ...]:
        return tuple(c for c in self.connections if not c.closed)

    def broadcast(
        self, data: Any, room: str | None = None, exclude: Connection | None = None
    ) -> int:
        """Encode once and queue to each receiver; returns how many were sent to."""
        targets = self.connections if room is None else self.rooms.get(room, ())
        return self.deliver(data, targets, exclude)

    def deliver(self, data: Any, targets: Iterable[Connection], exclude: Connection | None) -> int:
        opcode, payload = encode(data)
        frame: bytes | None = None
        sent = 0
        for conn in tuple(targets):
            if conn is exclude or conn.closed:
                continue
            if conn._io.compressor is None:
                if frame is None:
                    frame = conn._io.frame(opcode, payload)
                conn._io.write_raw(frame)
            else:
                conn._io.write(opcode, payload)
            sent += 1
        return sent


def _inline_jobs(handler: Handler) -> frozenset[str]:
    is_async = inspect.iscoroutinefunction
    callbacks = handler.callbacks
    if is_async(callbacks["on_error"]):
        return frozenset()  # the error path of any job would await it
    jobs = {kind for kind, name in (("connect", "on_connect"), ("close", "on_close"),
                                    ("on_ping", "on_ping"), ("on_pong", "on_pong"))
            if not is_async(callbacks[name])}
    message_parts = [callbacks["on_message"], handler.transform_raw_data]
    for rule in handler.responses:
        message_parts += [rule.match, rule.response]
    if not handler.delay and not any(is_async(part) for part in message_parts):
        jobs.add("message")
    return frozenset(jobs)


def _empty_jobs(handler: Handler) -> frozenset[str]:
    callbacks = handler.callbacks
    return frozenset(kind for kind in ("connect", "close") if callbacks[f"on_{kind}"] is None)
