"""`Moved`: a handed-over connection that moved to the event loop's own transport.

On uvloop (`wsside[speed]`) a `SocketTransport` whose connection keeps talking gives its
socket to uvloop's transport, whose reads and writes run in C (`SocketTransport` says when).
The move takes a loop turn: `connect_accepted_socket` makes the new transport at once but
calls its protocol's `connection_made` a turn later, and only then reads.

`Moved` is what the old transport passes every call to from the start of the move. Until
the new transport is made it keeps what its holders ask: writes are queued in order, a
`close`, `abort` or `write_eof` is replayed after them, a pause is applied once the new
transport reads. The connection's protocol is given to the new transport before it reads,
so not a byte goes through Python on the way in, and the connection's writer (its
`holder`) is re-pointed at the new transport once the move is over.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any, Protocol, cast

__all__ = ["Holder", "Moved", "socket_info"]

# What may be queued during the move before the protocol is asked to pause writing (asyncio's
# default high-water mark): from then on the connection's writer holds what is sent, within
# its budget for a slow client, as for a transport whose buffer is full.
_HIGH_WATER = 64 * 1024


def socket_info(sock: socket.socket, name: str, default: Any = None) -> Any:
    """A transport's `get_extra_info` for a socket it serves: the socket and its names."""
    try:
        if name == "socket":
            return sock
        if name == "peername":
            return sock.getpeername()
        if name == "sockname":
            return sock.getsockname()
    except OSError:
        return default
    return default


class Holder(Protocol):
    """Something that calls a transport (the connection's writer)."""

    transport: asyncio.Transport


class Moved:
    """The stand-in for a connection that moves (see the module); `start` begins the move."""

    __slots__ = (
        "_end",
        "_holder",
        "_inner",
        "_loop",
        "_paused",
        "_pending",
        "_reading",
        "_sock",
        "protocol",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol, holder: Holder | None
    ) -> None:
        self._loop = loop
        self.protocol = protocol
        self._holder = holder  # re-pointed at the new transport once the move is over
        self._inner: asyncio.Transport | None = None  # the new transport, once made
        self._pending: bytearray | None = None  # written before it was made
        self._paused = False  # whether the protocol was asked to pause writing for it
        self._end: str | None = None  # "close", "abort" or "eof", asked before it was made
        self._reading: bool | None = True  # asked before it read; None: the move is over
        self._sock: socket.socket | None = None  # until the new transport is made (its names)

    def start(self, sock: socket.socket) -> Exception | None:
        """Give `sock` (open, not read from, nothing waiting to be written) to the loop's
        transport. The error, when the loop refused it (the socket is still the caller's)."""
        self._sock = sock
        relay = _Relay(self)
        coro = self._loop.connect_accepted_socket(lambda: relay, sock)
        try:
            # The transport is made in the coroutine's first step; its own waiter, which
            # is set once it reads, finishes the coroutine (no task needed).
            waiter = coro.send(None)
        except StopIteration:  # a loop that needs no wait: the transport reads already
            self._settle()
            return None
        except Exception as exc:  # noqa: BLE001 - refused: the caller keeps its socket
            coro.close()
            self._sock = None
            return exc
        cast("asyncio.Future[Any]", waiter).add_done_callback(lambda _: self._over(coro))
        return None

    # ---- the move ---------------------------------------------------------------------

    def made(self, inner: asyncio.Transport) -> None:
        """The new transport's `connection_made`; it starts reading when this returns."""
        self._inner = inner
        self._sock = None  # the new transport's now (it detaches it when it closes)
        if self._end == "abort":
            inner.set_protocol(self.protocol)
            inner.abort()
            return
        if self._pending:
            # Written while the relay is still its protocol: a pause the transport asks for
            # now is the one the connection's protocol is in already (`write`), and the
            # transport resumes that protocol once its buffer drains. (Asked twice, aiohttp's
            # protocol raises.)
            inner.write(self._pending)
        self._pending = None
        inner.set_protocol(self.protocol)
        if self._end == "close":
            inner.close()
        elif self._end == "eof":
            inner.write_eof()
        if self._paused and not inner.is_closing():
            self._paused = False
            # Below its high-water mark the transport did not pause: nothing would resume
            # the protocol but this.
            if inner.get_write_buffer_size() <= inner.get_write_buffer_limits()[1]:
                self.protocol.resume_writing()

    def _over(self, coro: Coroutine[Any, Any, Any]) -> None:
        """The new transport reads: finish the move's coroutine, then hand the writer on."""
        try:
            coro.send(None)
        except StopIteration:
            pass
        except Exception as exc:  # noqa: BLE001 - the transport ended before it was made
            if self._inner is None:
                self._end = "abort"
                self._pending = None
                self._loop.call_soon(self.protocol.connection_lost, exc)
            return
        else:  # waited twice: not the coroutine this class knows; dropping it aborts
            coro.close()
        self._settle()

    def _settle(self) -> None:
        """The move is over: apply a pause asked during it, and hand the writer on."""
        inner = self._inner
        if inner is None:
            return
        paused = self._reading is False
        self._reading = None  # from now on the transport knows
        if inner.is_closing():
            return
        if paused:
            inner.pause_reading()  # asked before the transport read (a no-op then)
        holder, self._holder = self._holder, None
        if holder is not None and holder.transport is not inner:
            holder.transport = inner

    # ---- the transport's calls, passed on --------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._inner is not None:
            if self._end != "eof":  # as wsside's transport: nothing is written after the FIN
                self._inner.write(data)
        elif self._end is None and data:
            if self._pending is None:
                self._pending = bytearray()
            self._pending += data
            if len(self._pending) > _HIGH_WATER and not self._paused:
                self._paused = True
                self.protocol.pause_writing()

    def end(self, how: str) -> None:
        """`close`, `abort` or `write_eof` ("eof")."""
        inner = self._inner
        if inner is None:
            if self._end is None or self._end == "eof" or how == "abort":
                self._end = how
        elif how == "abort":
            inner.abort()
        elif how == "close":
            inner.close()
        elif self._end is None and not inner.is_closing():
            self._end = "eof"
            inner.write_eof()

    def is_closing(self) -> bool:
        if self._inner is not None:
            return self._inner.is_closing()
        return self._end in ("close", "abort")

    def reading(self, reading: bool | None = None) -> bool:
        """Whether the connection reads; `reading` sets it when not None."""
        inner = self._inner
        if reading is not None and inner is not None:
            if reading:
                inner.resume_reading()
            else:
                inner.pause_reading()
        if self._reading is None:
            assert inner is not None  # the move is over
            return inner.is_reading()
        if reading is not None:
            self._reading = reading
        return self._reading

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self._inner is not None:
            return self._inner.get_extra_info(name, default)
        return socket_info(self._sock, name, default) if self._sock is not None else default

    def get_write_buffer_size(self) -> int:
        if self._inner is not None:
            return self._inner.get_write_buffer_size()
        return len(self._pending) if self._pending else 0

    def set_protocol(self, protocol: asyncio.Protocol) -> None:
        self.protocol = protocol
        if self._inner is not None:
            self._inner.set_protocol(protocol)


class _Relay(asyncio.Protocol):
    """The new transport's first protocol: at `connection_made` the connection's own takes
    over. Anything else reaches it only if that failed, and is passed on."""

    __slots__ = ("moved",)

    def __init__(self, moved: Moved) -> None:
        self.moved = moved

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.moved.made(cast("asyncio.Transport", transport))  # uvloop's: not a subclass

    def data_received(self, data: bytes) -> None:
        self.moved.protocol.data_received(data)

    def eof_received(self) -> bool | None:
        return self.moved.protocol.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.moved.protocol.connection_lost(exc)
