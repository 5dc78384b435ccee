"""Real servers for the production tests: Debian's `redis-server`, `wsside serve --workers N`,
and clients that know which worker serves them.

Every server listens on a free loopback port in the test's temporary folder and is stopped by
its pid. Readiness is read from the server's own output, never slept for.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
import pytest

from serve_process import ServeProcess, free_port

REDIS_SERVER = "/usr/bin/redis-server"

# Every connection first receives the pid of the worker that serves it; the rest is driven by
# what the test sends: {"join": room}, {"room": room, "data": ..., "self": bool},
# {"all_rooms": ..., "self": bool}, {"everyone": ...} (handler.broadcast), and a declarative
# `Broadcast` response to {"type": "shout"}.
ROOMS_HANDLER = """
import os
from wsside import Broadcast, Handler, Response

def shout(conn, msg):
    return {"shouted": msg["text"]}

rooms = Handler("/ws/rooms", responses=[
    Response({"type": "shout"}, shout, broadcast=Broadcast(room="lobby", include_self=True)),
])

@rooms.on_connect
async def hello(conn, request):
    await conn.send({"pid": os.getpid()})

@rooms.on_message
async def route(conn, msg):
    if "join" in msg:
        conn.join_room(msg["join"])
        await conn.send({"joined": msg["join"]})
    elif "room" in msg:
        conn.broadcast(msg["data"], room=msg["room"], include_self=msg.get("self", False))
    elif "all_rooms" in msg:
        conn.broadcast_all_rooms(msg["all_rooms"], include_self=msg.get("self", False))
    elif "everyone" in msg:
        rooms.broadcast(msg["everyone"])
"""


def missing(reason: str) -> NoReturn:
    """A test that cannot run here: skipped, but a failure under CI (the `CI` variable set),
    which installs everything the tests need."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must have it", pytrace=False)
    pytest.skip(reason)


def require(binary: str) -> None:
    if not (os.path.exists(binary) or shutil.which(binary)):
        missing(f"{binary} is not installed (`make services` installs it with apt-get)")


class RedisServer:
    """`redis-server` on a free loopback port, without persistence, in `folder`; `args` are
    more of its options (`("--requirepass", "s3cret")`)."""

    def __init__(self, folder: Path, port: int | None = None, args: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> float:
        """Start it and return once it accepts connections: the `time.monotonic()` then. If it
        is not ready within `timeout` s, or the wait fails any other way, it is stopped first."""
        require(REDIS_SERVER)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                "",
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert self.proc.stdout is not None
            deadline = time.monotonic() + timeout
            seen = b""
            while b"Ready to accept connections" not in seen:
                left = deadline - time.monotonic()
                assert left > 0, f"redis-server did not start:\n{seen.decode(errors='replace')}"
                ready, _, _ = select.select([self.proc.stdout], [], [], left)
                if ready:
                    chunk = os.read(self.proc.stdout.fileno(), 65536)
                    assert chunk, f"redis-server exited:\n{seen.decode(errors='replace')}"
                    seen += chunk
        except BaseException:
            self.stop()  # never ready (or interrupted): no redis-server is left running
            raise
        return time.monotonic()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def cli(self, *args: str) -> str:
        """Run a command on it through redis-cli (beside redis-server in Debian's package)."""
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, check=True, timeout=10
        )
        return out.stdout.decode().strip()


def write_handlers(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, code in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(code))
    return folder


async def start_serve(cwd: Path, *args: str) -> tuple[ServeProcess, int, list[int]]:
    """`wsside serve --no-reload ARGS` on a free port: the process, the port and the worker
    pids from its banner (one pid without --workers)."""
    port = free_port()
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(port), "--no-reload", *args, cwd=cwd
    )
    try:
        banner = await serve.expect("serving on", timeout=30)
    except BaseException:
        await serve.stop()  # never served: the caller gets no process to stop
        raise
    found = re.search(r"pids ([\d, ]+)[;)]", banner)
    pids = [int(p) for p in found.group(1).split(", ")] if found else [serve.proc.pid]
    return serve, port, pids


async def start_configured(
    cwd: Path, config: str, *args: str
) -> tuple[ServeProcess, int, list[int], Path]:
    """`start_serve` of the rooms handler with `config` as its wsside.toml: also that file,
    for the test to change."""
    write_handlers(cwd / "ws", rooms=ROOMS_HANDLER)
    file = cwd / "wsside.toml"
    file.write_text(config)
    return (*await start_serve(cwd, *args), file)


class Client:
    """A WebSocket client of /api/ws/rooms that knows its worker's pid."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, pid: int) -> None:
        self.ws = ws
        self.pid = pid

    async def send(self, msg: Any) -> None:
        await self.ws.send_json(msg)

    async def receive(self, timeout: float = 5.0) -> Any:
        msg = await self.ws.receive(timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, f"expected a message, got {msg}"
        return msg.json()

    async def join(self, room: str) -> None:
        await self.send({"join": room})
        assert await self.receive() == {"joined": room}


async def connect(
    session: aiohttp.ClientSession,
    port: int,
    pid: int | None = None,
    path: str = "/api/ws/rooms",
    **kwargs: Any,
) -> Client:
    """A client of the worker `pid` (connecting again until the kernel picks that one), or
    of whichever worker when `pid` is None."""
    for _ in range(200):
        ws = await session.ws_connect(f"http://127.0.0.1:{port}{path}", **kwargs)
        first = await ws.receive(5)
        served_by = first.json()["pid"]
        if pid is None or served_by == pid:
            return Client(ws, served_by)
        await ws.close()
    raise AssertionError(f"no connection reached worker {pid} in 200 tries")


class Seen:
    """What a callback received, and a way to wait for it without polling."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()

    def __call__(self, *item: Any) -> None:
        self.items.append(item[0] if len(item) == 1 else item)
        self._changed.set()

    def messages(self, fragment: str) -> list[str]:
        return [str(e.get("message")) for e in self.items if fragment in str(e.get("message"))]

    async def until(self, done: Any, timeout: float = 5.0) -> None:
        async def wait() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
