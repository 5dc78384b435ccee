"""An endpoint that shows the client's tests, from the server's side, which sockets of a page
are open: connections with `?watch` are not counted, and get `{"type": "live", "n": N}` when
they connect and at each change, and `{"type": "left", "code": C, "reason": R}` for each
counted connection that closes."""

from wsside import Handler

live = Handler("/ws/live")
counted = set()
watchers = set()


async def tell(message):
    for watcher in list(watchers):
        await watcher.send(message)


@live.on_connect
async def join(conn, request):
    (watchers if "watch" in request.query else counted).add(conn)
    await tell({"type": "live", "n": len(counted)})


@live.on_close
async def leave(conn, code, reason):
    if conn in counted:
        counted.discard(conn)
        await tell({"type": "left", "code": code, "reason": reason})
        await tell({"type": "live", "n": len(counted)})
    watchers.discard(conn)
