"""Node's IPC channel to the Vite shim: its messages, and the client sockets handed over on it.

Node's `child.send(message, socket)` writes one JSON line `{"cmd": "NODE_HANDLE", "msg": ...}`
and passes the socket's file descriptor alongside it (SCM_RIGHTS). `NodeChannel` speaks that
wire protocol: it collects descriptors in arrival order, acknowledges each handle (Node sends
no further handle until it gets the ACK) and answers the socket-count queries Node's
`net.Server` makes once one of its sockets lives in a child.

The ACK goes before anything is written to the client, and the socket is served only once
the ACK is with the kernel: the shim gives a socket whose sidecar died without acknowledging
it to the restarted sidecar, which must never happen to a socket that was answered already.
(Writing the 101 first wakes the client, and on a busy machine the client can see its 101
and have the sidecar killed before the sidecar runs again to send the ACK.)
"""

from __future__ import annotations

import array
import asyncio
import json
import os
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["NodeChannel"]

_MAX_FDS = 16
_ACK = b'{"cmd":"NODE_HANDLE_ACK"}\n'  # one per handle: sent ready-made
_READ_SIZE = 65536
# Received descriptors are close-on-exec from the start where the kernel can do it (Linux);
# elsewhere they are marked right after (see `_readable`).
_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


class NodeChannel:
    """Node's IPC channel on an inherited Unix socket (`NODE_CHANNEL_FD`), JSON framing.

    `on_message(obj)` gets every message that is not Node's own bookkeeping;
    `on_handle(msg, fd)` gets the descriptor of each handed-over socket, to close or serve,
    with the message sent along with it, once its ACK is written to the channel;
    `on_eof()` runs once when the parent closes the channel (or dies).
    """

    def __init__(
        self,
        fd: int,
        on_message: Callable[[Any], None],
        on_handle: Callable[[Any, int], asyncio.BaseTransport | None],
        on_eof: Callable[[], None],
    ) -> None:
        self._sock = socket.socket(fileno=fd)
        self._sock.setblocking(False)
        # Node leaves the channel inheritable, and descriptors received with SCM_RIGHTS are
        # too: a program a handler starts (os.system, close_fds=False) would hold the channel
        # and every client socket, able to read and write them, and keep each connection
        # open after the sidecar closed it. Python's own sockets are never inherited.
        os.set_inheritable(fd, False)
        self._on_message = on_message
        self._on_handle = on_handle
        self._on_eof = on_eof
        self._buffer = b""
        self._fds: deque[int] = deque()
        # The handle acknowledged while its ACK (or what was queued before it) still waits to
        # be written: served once the channel has taken the ACK. One at most: Node sends the
        # next handle only after reading this ACK, and `_flush` serves the handle in the same
        # call that hands the ACK's last byte to the kernel.
        self._acked: tuple[Any, int] | None = None
        self._out = bytearray()
        self._closed = False
        # Handed-over connections per Node server key, for NODE_SOCKET_GET_COUNT.
        self._handed: dict[str, list[asyncio.BaseTransport]] = {}
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._readable)

    def send(self, obj: dict[str, Any]) -> None:
        """Queue one message to the parent; never blocks."""
        self._send_line(json.dumps(obj, separators=(",", ":"), default=str).encode() + b"\n")

    def _send_line(self, line: bytes) -> None:
        if self._closed:
            return
        was_empty = not self._out
        self._out += line
        if was_empty:
            self._flush()

    def handed_count(self, key: str) -> int:
        """Handed-over connections of Node server `key` that are still open."""
        alive = [t for t in self._handed.get(key, []) if not t.is_closing()]
        self._handed[key] = alive
        return len(alive)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._loop.remove_writer(self._sock.fileno())
        self._sock.close()
        while self._fds:
            os.close(self._fds.popleft())
        self._drop_acked()

    # ---- reading ---------------------------------------------------------------------

    def _readable(self) -> None:
        fds = array.array("i")
        try:
            data, ancdata, _flags, _addr = self._sock.recvmsg(
                _READ_SIZE, socket.CMSG_SPACE(_MAX_FDS * fds.itemsize), _CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancdata = b"", []
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if not _CLOEXEC:
            for fd in fds:
                os.set_inheritable(fd, False)
        self._fds.extend(fds)
        if not data:
            self.close()
            self._on_eof()
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self._dispatch(json.loads(line))

    def _dispatch(self, obj: Any) -> None:
        cmd = obj.get("cmd") if isinstance(obj, dict) else None
        if cmd == "NODE_HANDLE":
            # Descriptors arrive in the order of their messages and only one handle is in
            # flight at a time (Node waits for the ACK), so the oldest fd belongs to it.
            if not self._fds:
                # The shim answers that client 503 itself (it sends with keepOpen, so Node
                # does not send the handle again).
                self.send({"cmd": "NODE_HANDLE_NACK"})
                return
            # Acknowledged before anything reaches the client: a sidecar that dies past this
            # point has the ACK in the channel, which Node reads before the channel's end,
            # so the shim never gives a socket answered here to another sidecar. Node sends no
            # further handle before this ACK.
            self._acked = (obj, self._fds.popleft())
            self._send_line(_ACK)  # served by `_flush` once the channel has taken it
        elif cmd == "NODE_SOCKET_GET_COUNT":
            key = obj.get("key")
            self.send(
                {
                    "cmd": "NODE_SOCKET_COUNT",
                    "key": key,
                    "count": self.handed_count(key) if isinstance(key, str) else 0,
                }
            )
        elif cmd == "NODE_SOCKET_NOTIFY_CLOSE":
            # The sidecar owns handed-over connections: they must not keep Vite's server
            # from closing (a restart keeps them open; a real close ends them with 1001).
            self.send({"cmd": "NODE_SOCKET_ALL_CLOSED", "key": obj.get("key")})
        elif isinstance(cmd, str) and cmd.startswith("NODE_"):
            return
        else:
            self._on_message(obj)

    def _serve_acked(self) -> None:
        """Serves the acknowledged handle once its ACK is written (nothing waits any more)."""
        if self._acked is None or self._out or self._closed:
            return
        (obj, fd), self._acked = self._acked, None
        transport = self._on_handle(obj.get("msg"), fd)
        if transport is not None and isinstance(obj.get("key"), str):
            self._handed.setdefault(obj["key"], []).append(transport)

    def _drop_acked(self) -> None:
        if self._acked is not None:
            os.close(self._acked[1])
            self._acked = None

    # ---- writing ---------------------------------------------------------------------

    def _flush(self) -> None:
        try:
            sent = self._sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # The parent is gone: an ACK not written tells it nothing, so a socket waiting for
            # its ACK is closed unanswered.
            self._out.clear()
            self._drop_acked()
            return
        del self._out[:sent]
        if self._out:
            self._loop.add_writer(self._sock.fileno(), self._drain)
        else:
            self._serve_acked()

    def _drain(self) -> None:
        self._loop.remove_writer(self._sock.fileno())
        self._flush()
