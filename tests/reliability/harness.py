"""The sidecar process the reliability suite attacks, and how to read what it holds."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from .rawws import Stream

# The handler file every sidecar process of this suite serves. `/ws/_stats` reports what the
# process holds, so leak checks read it instead of guessing.
APP = textwrap.dedent("""
    import asyncio
    import gc

    from wsside import Deflate, Handler

    CLOSES = []
    COUNT = {"closed": 0}

    def _raw(raw):
        return raw

    echo = Handler("/ws/echo", transform_raw_data=_raw, on_message=lambda c, d: c.send(d))
    tiny = Handler("/ws/tiny", transform_raw_data=_raw, max_message_size=1024,
                   on_message=lambda c, d: c.send(d))
    deflated = Handler("/ws/deflate", transform_raw_data=_raw, per_message_deflate=True,
                       max_message_size=64 * 1024, on_message=lambda c, d: c.send(d))
    fan = Handler("/ws/fan", default_room="all", transform_raw_data=_raw,
                  on_message=lambda c, d: c.broadcast(d, room="all", include_self=True))
    churn = Handler("/ws/churn", default_room="lobby", on_connect=lambda c, r: c.send("hi"))

    @churn.on_close
    def _counted(conn, code, reason, by_client):
        COUNT["closed"] += 1

    flood = Handler("/ws/flood", default_room="all", transform_raw_data=_raw)

    @flood.on_message
    async def _flood(conn, data):
        # "flood N SIZE": N broadcasts of SIZE bytes to the others, paced like a fast game tick
        if data.startswith("flood "):
            _, n, size = data.split()
            payload = "x" * int(size)
            for _ in range(int(n)):
                conn.broadcast(payload, room="all")
                await asyncio.sleep(0.002)
            conn.send("flood done")
        else:
            conn.send(data)

    @flood.on_close
    def _flood_closed(conn, code, reason, by_client):
        CLOSES.append([conn.path, code, reason])

    HANDLERS = (echo, tiny, deflated, fan, churn, flood)

    def _stats(conn, data):
        gc.collect()  # Session and Connection refer to each other: count what is reachable
        kinds = {}
        for obj in gc.get_objects():
            name = type(obj).__name__
            if name in ("Session", "Connection"):
                kinds[name] = kinds.get(name, 0) + 1
        conn.send({
            # Not aiohttp's request handler of this stats connection: it ends one loop turn
            # after the connection is handed to wsside's stream, and on uvloop the stats
            # message can arrive before that turn.
            "tasks": sum(
                1 for t in asyncio.all_tasks()
                if t.get_coro().__qualname__ != "RequestHandler.start"
            ),
            "sessions": kinds.get("Session", 0),
            "connections": kinds.get("Connection", 0),
            "open": {h.pattern.source: len(h.connections) for h in HANDLERS},
            "members": {h.pattern.source: sum(len(m) for m in h._endpoint.rooms.values())
                        for h in HANDLERS},
            "rooms": {h.pattern.source: len(h._endpoint.rooms) for h in HANDLERS},
            "closed": COUNT["closed"],
            "closes": CLOSES[-50:],
            "buffered": max((c._link._io.buffered for c in flood.connections), default=0),
        })

    stats = Handler("/ws/_stats", transform_raw_data=_raw, on_message=_stats)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SidecarProcess:
    """`python -m wsside serve` in its own process, serving APP (plus any extra files)."""

    def __init__(self, folder: Path, *, extra_args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wsside",
                "serve",
                "--handlers",
                str(folder),
                "--port",
                str(self.port),
                "--no-reload",
                "--log-level",
                "warning",
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._ready = threading.Event()
        self._more = threading.Condition()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        if not self._ready.wait(30) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("sidecar did not start:\n" + "".join(self.output))
        self.ps = psutil.Process(self.proc.pid)

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._more:
                self.output.append(line)
                self._more.notify_all()
            if "serving on" in line:
                self._ready.set()
        self._ready.set()
        with self._more:
            self._more.notify_all()

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        """The first output line holding `text`, waited for as the reader thread takes lines
        in (not there within `timeout` s, or the output ended: AssertionError with it all)."""
        with self._more:
            found = self._more.wait_for(
                lambda: (
                    next((ln for ln in self.output if text in ln), None)
                    or not self._reader.is_alive()
                ),
                timeout,
            )
            line = next((ln for ln in self.output if text in ln), None)
        assert line is not None, f"no line with {text!r} (reader ended: {found is True}):\n" + (
            "".join(self.output)
        )
        return line

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def fds(self) -> int:
        return int(self.ps.num_fds())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def serving(folder: Path, app: str) -> Iterator[SidecarProcess]:
    """A module fixture's body: `app` as the one handler file in `folder`, served until the
    fixture ends."""
    (folder / "app.py").write_text(app)
    proc = SidecarProcess(folder)
    yield proc
    proc.stop()


async def stats(port: int) -> dict[str, Any]:
    """What the sidecar process holds, read through its `/ws/_stats` endpoint (which is itself
    one open connection, counted in what it reports)."""
    s = await Stream.open(port, "/api/ws/_stats")
    try:
        s.send_text("stats")
        return json.loads(await s.recv_text())  # type: ignore[no-any-return]
    finally:
        await s.close()


async def settled(port: int, done: Any, timeout: float = 10.0) -> dict[str, Any]:
    """Stats once `done(stats)` holds: the sidecar finishes closing sockets on its own time,
    so this re-reads the condition (no fixed sleep) until it holds; AssertionError naming the
    condition and the last stats when `timeout` passes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        current = await stats(port)
        if done(current):
            return current
        if loop.time() > deadline:
            raise AssertionError(
                f"not within {timeout} s: {condition(done)}; the last stats: {current}"
            )


def condition(done: Any) -> str:
    """The source of `done` (a lambda: the call that passed it), for a timeout's message."""
    try:
        return inspect.getsource(done).strip()
    except (OSError, TypeError):
        return repr(done)
