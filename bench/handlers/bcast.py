"""Broadcast: a sender (`?role=sender`) sends; every other connection receives each message."""

from wsside import Handler

bcast = Handler("/ws/bcast")


@bcast.on_connect
def hello(conn, request):
    if request.query.get("role") != "sender":
        conn.join_room("receivers")


@bcast.on_message
def message(conn, data):
    conn.broadcast(data, room="receivers")
