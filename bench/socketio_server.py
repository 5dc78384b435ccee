"""The python-socketio side of `bench/cluster.py`: the same fan-out as `handlers/bcast.py`.

A `?role=sender` connection's `msg` events go to every connection in the room `receivers`;
every other connection joins that room. Rooms span processes through `AsyncRedisManager`.
Served by aiohttp, WebSocket transport only (no sticky sessions needed).

    python bench/socketio_server.py PORT REDIS_URL
"""

import sys
from urllib.parse import parse_qs

import socketio
from aiohttp import web

port, redis_url = int(sys.argv[1]), sys.argv[2]
sio = socketio.AsyncServer(
    async_mode="aiohttp",
    client_manager=socketio.AsyncRedisManager(redis_url),
    transports=["websocket"],
)


@sio.event
async def connect(sid, environ, auth=None):
    if parse_qs(environ.get("QUERY_STRING", "")).get("role") != ["sender"]:
        await sio.enter_room(sid, "receivers")


@sio.on("msg")
async def msg(sid, data):
    await sio.emit("msg", data, room="receivers", skip_sid=sid)


app = web.Application()
sio.attach(app)
web.run_app(app, host="127.0.0.1", port=port, print=lambda *a: print("ready", flush=True))
