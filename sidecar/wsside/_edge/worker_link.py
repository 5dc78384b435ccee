"""A worker of `wsside serve --workers N`: its tie to the supervising parent (`workers.py`).

The parent starts each worker with `WSSIDE_WORKER` set to `index:port:fd:host`: which worker
it is, the port and host every worker listens on (those the parent checked, whatever the
config file says by the time a worker starts), and its end of a socket pair. The worker writes one
line on the pair when it serves (its pid and endpoints), and reads EOF from it when the
parent is gone, which stops it gracefully (even after a `kill -9` of the parent).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["ENV", "WorkerLink"]

ENV = "WSSIDE_WORKER"


class WorkerLink:
    """A worker's tie to its parent: which worker it is, where it listens, and the socket
    pair."""

    def __init__(self, index: int, port: int, fd: int, host: str) -> None:
        self.index = index
        self.port = port
        self.host = host
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
        return cls(int(index), int(port), int(fd), host)

    def ready(self, handlers: list[dict[str, Any]]) -> None:
        """Tell the parent that this worker serves, and what."""
        line = json.dumps({"pid": os.getpid(), "handlers": handlers}) + "\n"
        self._sock.sendall(line.encode())

    def watch(self, parent_gone: Callable[[], None]) -> None:
        """Call `parent_gone` once the parent process has exited (the pair reads EOF)."""
        loop = asyncio.get_running_loop()
        self._sock.setblocking(False)

        def readable() -> None:
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self._sock)
                parent_gone()

        loop.add_reader(self._sock, readable)
