"""`SocketTransport`: a small asyncio transport for the sockets the Vite shim hands over.

A WebSocket that sits idle costs mostly its transport: asyncio's keeps an extra-info dict
with the socket's names, a wrapper object, a write buffer and a bound method from the start,
about 1 KB per connection before a byte moves. This one keeps ten fields, builds the
write buffer only when the kernel refuses bytes, and asks the socket for its names only when
someone asks. It uses the event loop's public reader/writer API only.

Semantics follow asyncio's socket transport: `write` sends at once and buffers the rest,
the protocol is paused above 64 KiB buffered and resumed at 16 KiB, `write_eof` sends the FIN
after the buffer and reading goes on, `close` ends the connection after the buffer is
flushed, `abort` at once, and `connection_lost` is called once, soon after. One difference:
the socket is closed when the connection ends, before `connection_lost` rather than after
it, so the FIN follows the last bytes at once.

On uvloop (`wsside[speed]`), made `movable`, a connection that keeps talking moves to uvloop's
own transport, whose reads and writes run in C, after `MOVE_AFTER_READS` reads (see
`moving.Moved`). A move costs about what eight echoes save (bench/instructions.py), so idle
and short-lived connections never pay it, and idle ones keep their small footprint. This
transport stays the one its holders know and passes their calls on.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from .moving import Holder, Moved, socket_info

__all__ = ["MOVE_AFTER_READS", "SocketTransport"]

MOVE_AFTER_READS = 16  # reads after which a movable connection moves (see above)

_READ_SIZE = 256 * 1024
_HIGH_WATER = 64 * 1024
_LOW_WATER = _HIGH_WATER // 4


class SocketTransport(asyncio.Transport):
    __slots__ = (
        "_buffer", "_eof", "_holder", "_loop", "_moved", "_protocol", "_reads", "_sock",
        "_state", "_writing_paused",
    )  # fmt: skip

    # _state: what the transport is doing, one of (_MOVED: `_moved` serves the connection)
    _READING, _PAUSED, _CLOSING, _LOST, _MOVED = 0, 1, 2, 3, 4

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.Protocol,
        *,
        movable: bool = False,
    ) -> None:
        # No super().__init__(): its only field (the extra-info dict) is not used here.
        self._loop = loop
        self._sock = sock
        self._protocol = protocol
        self._buffer: bytearray | None = None  # made when the kernel takes less than written
        self._state = self._PAUSED  # until `start`
        self._writing_paused = False
        self._eof = False  # `write_eof` was called: the FIN goes once the buffer is written
        self._reads = MOVE_AFTER_READS if movable else 0  # counts down to the move; 0: never
        self._holder: Holder | None = None
        self._moved: Moved | None = None

    def hand_on_move(self, holder: Holder) -> None:
        """Once the connection has moved, `holder.transport` is set to the new transport
        (the writer then calls it directly); this one passes on the calls of the others."""
        self._holder = holder

    def start(self) -> None:
        """Begin reading (the protocol's `connection_made` is the caller's business)."""
        if self._state == self._PAUSED:
            self.resume_reading()

    # ---- asyncio.BaseTransport --------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self._state >= self._LOST:
            if self._moved is not None:
                return self._moved.get_extra_info(name, default)
            return default  # the socket is closed: it has no names left to give
        return socket_info(self._sock, name, default)

    def is_closing(self) -> bool:
        if self._moved is not None:
            return self._moved.is_closing()
        return self._state >= self._CLOSING

    def close(self) -> None:
        """Stop reading; close once what is buffered is written."""
        if self._state >= self._CLOSING:
            if self._moved is not None:
                self._moved.end("close")
            return
        self._stop_reading()
        self._state = self._CLOSING
        if not self._buffer:
            self._lose(None)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        # asyncio's signature admits any protocol; bytes can only go to a streaming one.
        if not isinstance(protocol, asyncio.Protocol):
            raise TypeError(f"SocketTransport needs an asyncio.Protocol, got {protocol!r}")
        self._protocol = protocol
        if self._moved is not None:
            self._moved.set_protocol(protocol)

    def get_protocol(self) -> asyncio.Protocol:
        return self._protocol

    # ---- asyncio.ReadTransport --------------------------------------------------------

    def is_reading(self) -> bool:
        if self._moved is not None:
            return self._moved.reading()
        return self._state == self._READING

    def pause_reading(self) -> None:
        if self._state == self._READING:
            self._stop_reading()
            self._state = self._PAUSED
        elif self._moved is not None:
            self._moved.reading(False)

    def resume_reading(self) -> None:
        if self._state == self._PAUSED:
            self._state = self._READING
            self._loop.add_reader(self._sock.fileno(), self._read_ready)
        elif self._moved is not None:
            self._moved.reading(True)

    def _stop_reading(self) -> None:
        if self._state == self._READING:
            self._loop.remove_reader(self._sock.fileno())

    def _read_ready(self) -> None:
        try:
            data = self._sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lose(exc)  # the peer reset the connection, or it is gone
            return
        try:
            if data:
                self._protocol.data_received(data)
                if self._reads:
                    self._reads -= 1
                    if not self._reads:
                        self._move()
                    elif self._state <= self._CLOSING and self._reset_with_data():
                        return
            elif self._state == self._READING:
                self._stop_reading()
                self._state = self._PAUSED
                if not self._protocol.eof_received():
                    self.close()
        except Exception as exc:  # noqa: BLE001 - as asyncio does: report, then drop the connection
            self._loop.call_exception_handler(
                {
                    "message": "error in the protocol of a handed-over socket",
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                }
            )
            self._lose(exc)

    def _reset_with_data(self) -> bool:
        """On uvloop, before the move: whether the peer's reset came with the bytes just read,
        and the connection is lost for it. uvloop hears a reset that arrives together with
        data as an error of its poll handle, which it keeps to itself: the reader is not called
        again, and the connection would stay until something wrote to it. A reset after the
        data is a readiness of its own, as on asyncio's loop. (0.2 µs, for the first reads
        only: a moved connection's reads are uvloop's.)"""
        error = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if not error:
            return False
        self._lose(ConnectionResetError(error, os.strerror(error)))
        return True

    # ---- asyncio.WriteTransport -------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._state >= self._LOST or self._eof or not data:
            if self._moved is not None:
                self._moved.write(data)
            return
        if not self._buffer:
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._lose(exc)
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self._loop.add_writer(self._sock.fileno(), self._write_ready)
            if self._buffer is None:
                self._buffer = bytearray()
        self._buffer += data
        if not self._writing_paused and len(self._buffer) > _HIGH_WATER:
            self._writing_paused = True
            self._protocol.pause_writing()

    def _write_ready(self) -> None:
        buffer = self._buffer
        if self._state == self._LOST or not buffer:
            return
        try:
            sent = self._sock.send(buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lose(exc)
            return
        del buffer[:sent]
        if self._writing_paused and len(buffer) <= _LOW_WATER:
            self._writing_paused = False
            self._protocol.resume_writing()  # may write more
        if not buffer:
            self._loop.remove_writer(self._sock.fileno())
            self._buffer = None  # an idle connection keeps no buffer
            if self._state == self._CLOSING:
                self._lose(None)
            elif self._eof:
                self._shutdown()

    def get_write_buffer_size(self) -> int:
        if self._moved is not None:
            return self._moved.get_write_buffer_size()
        return len(self._buffer) if self._buffer else 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return _LOW_WATER, _HIGH_WATER

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Send the FIN once what is buffered is written, and go on reading."""
        if self._state >= self._CLOSING or self._eof:
            if self._moved is not None:
                self._moved.end("eof")
            return
        self._eof = True
        if not self._buffer:
            self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._lose(exc)

    def abort(self) -> None:
        if self._moved is not None:
            self._moved.end("abort")
        else:
            self._lose(None)

    def _move(self) -> None:
        """Hand the socket to the loop's transport (`Moved`), if nothing is under way."""
        if self._state != self._READING or self._buffer or self._eof:
            self._reads = 1  # writes wait, or the end is near: perhaps on the next read
            return
        self._stop_reading()
        moved = Moved(self._loop, self._protocol, self._holder)
        refused = moved.start(self._sock)
        if refused is not None:  # the socket stays here, and so does the connection
            self._state = self._PAUSED
            self.resume_reading()
            self._loop.call_exception_handler(
                {
                    "message": "a handed-over socket could not move to the loop's transport",
                    "exception": refused,
                    "transport": self,
                }
            )
            return
        self._state = self._MOVED
        self._moved = moved
        self._holder = None

    # ---- the end ----------------------------------------------------------------------

    def _lose(self, exc: Exception | None) -> None:
        if self._state >= self._LOST:
            return
        self._stop_reading()
        if self._buffer:
            self._loop.remove_writer(self._sock.fileno())
        self._buffer = None
        self._state = self._LOST
        # Closed now, not after `connection_lost` as asyncio does: the peer gets the FIN
        # right behind the last bytes (a close frame) instead of a loop turn later.
        self._sock.close()
        self._loop.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: Exception | None) -> None:
        self._protocol.connection_lost(exc)
