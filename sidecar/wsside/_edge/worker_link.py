"""`wsside serve --workers N`: the tie between the supervising parent (`workers.py`) and each
worker, a socket pair, both ends.

The parent starts each worker with `WSSIDE_WORKER` set to `index:port:fd:host`: which worker
it is, the port and host every worker listens on (those the parent checked, whatever the
config file says by the time a worker starts; several addresses joined with commas), and
its end of a socket pair. JSON lines go both ways on the pair. The worker writes one when
it serves (its pid, endpoints, the files it serves: `served_files.py`, and its background
tasks). In a SIGHUP round the parent asks each old worker to
stop accepting connections (`STOP_ACCEPTING`), and the worker answers once its listener is
closed (`NOT_ACCEPTING`): only then does the parent tell the old workers to close their
connections (SIGTERM), so that a client one of them closes cannot reconnect to another one
still old. The worker reads EOF from the pair when the parent is gone, which stops it
gracefully (even after a `kill -9` of the parent); the parent reads EOF as the worker exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["ENV", "ParentEnd", "WorkerLink"]

ENV = "WSSIDE_WORKER"

# The parent's request to an old worker of a SIGHUP round, and the worker's answer.
STOP_ACCEPTING = {"do": "stop accepting"}
NOT_ACCEPTING = {"accepting": False}


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


class WorkerLink:
    """A worker's tie to its parent: which worker it is, where it listens, and the socket
    pair; `accepting` until the parent asks it to stop accepting."""

    def __init__(self, index: int, port: int, fd: int, host: tuple[str, ...]) -> None:
        self.index = index
        self.port = port
        self.host = host
        self.accepting = True
        # Not passed on to what handler code starts: a child holding it would hide this
        # worker's end from the parent (no EOF when the worker dies).
        os.set_inheritable(fd, False)
        self._sock = socket.socket(fileno=fd)

    @property
    def name(self) -> str:
        """How this worker's lines start: `wsside[1]`."""
        return f"wsside[{self.index}]"

    @classmethod
    def from_env(cls) -> WorkerLink | None:
        """The link when this process is a worker (the variable is removed, so user code and
        its subprocesses never see it), else None."""
        value = os.environ.pop(ENV, None)
        if value is None:
            return None
        index, port, fd, host = value.split(":", 3)  # an IPv6 host has colons: last
        return cls(int(index), int(port), int(fd), tuple(host.split(",")))

    def ready(
        self,
        handlers: list[dict[str, Any]],
        files: dict[str, dict[str, str]],
        background: list[str],
    ) -> None:
        """Tell the parent that this worker serves, what, from which files, and which
        background tasks it runs (`tick (ws/clock.py:20)`)."""
        message = {"pid": os.getpid(), "handlers": handlers, "files": files}
        self._send({**message, "background": background})

    def not_accepting(self) -> None:
        """Tell the parent that this worker's listener is closed (`STOP_ACCEPTING`)."""
        self._send(NOT_ACCEPTING)

    def _send(self, message: dict[str, Any]) -> None:
        # A line is small and the parent reads the pair all along: the buffer has room.
        try:
            self._sock.sendall(_line(message))
        except OSError:  # the parent is gone: `watch` sees it
            pass

    def watch(self, parent_gone: Callable[[], None], stop_accepting: Callable[[], None]) -> None:
        """Call `parent_gone` once the parent process has exited (the pair reads EOF), and
        `stop_accepting` when the parent asks (`accepting` is False by then)."""
        loop = asyncio.get_running_loop()
        self._sock.setblocking(False)
        buffer = b""

        def readable() -> None:
            nonlocal buffer
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self._sock)
                parent_gone()
                return
            *lines, buffer = (buffer + data).split(b"\n")
            for line in lines:
                if json.loads(line) == STOP_ACCEPTING and self.accepting:
                    self.accepting = False
                    stop_accepting()

        loop.add_reader(self._sock, readable)


class ParentEnd:
    """The parent's end of a worker's pair: its ready message, and its answers after that."""

    def __init__(self, pair: socket.socket) -> None:
        self._pair = pair
        pair.setblocking(False)
        self._buffer = b""
        # Done once the worker said it stopped accepting, or exited (the pair reads EOF).
        self._quiet: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def ready(self) -> dict[str, Any] | None:
        """The worker's ready message, or None when it exited before it served."""
        return await self._next()

    async def follow(self) -> None:
        """Read the worker's answers until it exits."""
        while (message := await self._next()) is not None:
            if message == NOT_ACCEPTING and not self._quiet.done():
                self._quiet.set_result(None)

    async def stop_accepting(self) -> None:
        """Ask the worker to stop accepting connections; returns once it has (its listener
        is closed), or has exited."""
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendall(self._pair, _line(STOP_ACCEPTING))
        except OSError:  # exited already
            return
        await asyncio.shield(self._quiet)

    def close(self) -> None:
        if not self._quiet.done():
            self._quiet.set_result(None)
        self._pair.close()

    async def _next(self) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        while b"\n" not in self._buffer:
            chunk = await loop.sock_recv(self._pair, 4096)
            if not chunk:
                if not self._quiet.done():
                    self._quiet.set_result(None)  # exited: accepts no more
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message
