"""Other libraries' names for what a `Connection` does (socket.io's, Starlette's, the
JavaScript plugin's): each is a property that raises the AttributeError Python would, with
what does that name's job in wsside. `connection.py` sets them on `Connection`."""

from __future__ import annotations

from typing import Any

__all__ = ["INSTEAD", "refusal"]

# What does the job of another library's name for a connection's method.
_SEND = "conn.send(data) sends to this client (JSON for a dict, text for a str, binary for bytes)"
INSTEAD = {
    "emit": "conn.send({'type': event, ...}) sends to this client, conn.broadcast(...) to the "
    "others (docs/patterns.md maps python-socketio)",
    "send_json": _SEND,
    "send_text": _SEND,
    "send_bytes": _SEND,
    "sid": "conn.id",
    "enter_room": "conn.join_room(room)",
    "joinRoom": "conn.join_room(room)",
    "leaveRoom": "conn.leave_room(room)",
    "getRooms": "sorted(conn.rooms)",
    "isInRoom": "conn.in_room(room)",
    "broadcastAllRooms": "conn.broadcast_all_rooms(data, include_self=False)",
    "resetMissedPong": "wsside counts pongs itself (heartbeat=)",
    "readyState": "a callback's conn is open until on_close; conn.closed says whether it closed",
    "bufferedAmount": "conn.buffered_amount",
    "disconnect": "conn.close(code, reason)",
    "terminate": "conn.close(code, reason)",
    "receive": "messages come to on_message(conn, data)",
    "receive_json": "messages come to on_message(conn, data)",
    "receive_text": "messages come to on_message(conn, data)",
}


def refusal(name: str, instead: str) -> property:
    """A property that raises the AttributeError Python would, with what does `name`'s job.
    Not `__getattr__`: a class with one has every attribute lookup of its instances take the
    slow path (CPython's attribute caches skip it), about 1,100 instructions per round trip.
    Its doc is what `help(Connection)` shows beside the name, among wsside's own."""

    def refuse(conn: object) -> Any:
        raise AttributeError(
            f"'Connection' object has no attribute '{name}': {instead}", name=name, obj=conn
        )

    return property(refuse, doc=f"Not wsside's name: {instead}")
