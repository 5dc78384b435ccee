"""The closing handshake of one connection, as the peer or the parser ends it: the peer's
close frame answered, a protocol error's close frame, the client's FIN, and the timer that
drops a peer that never answers (`CLOSE_TIMEOUT`). Our side starts it with `Session.close`.

`CloseHandshake` is a base class of `Session`, between it and `CallbackQueue`, for the same
reason as the queue: these are the session's own fields and methods, with no object in
between. It has no `__init__`: `Session.__init__` sets its fields, so that a handshake pays
for no extra call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..closecodes import CloseCode, ProtocolError
from .callback_queue import CallbackQueue
from .events import logger

if TYPE_CHECKING:
    import asyncio

__all__ = ["CLOSE_TIMEOUT", "CloseHandshake"]

# How long the closing handshake (and flushing what is queued before it) may take.
CLOSE_TIMEOUT = 5.0

# Above the small-int cache: one shared object instead of a new int per session.
_NO_STATUS_RECEIVED = int(CloseCode.NO_STATUS_RECEIVED)


class CloseHandshake(CallbackQueue):
    __slots__ = (
        "_by_client",
        "_close_code",
        "_close_reason",
        "_close_received",
        "_close_sent",
        "_close_timer",
        "_reason_sent",
    )

    if TYPE_CHECKING:
        # Set by `Session.__init__`.
        _close_received: bool
        _close_timer: asyncio.TimerHandle | None
        # False when the close frame carried the code only (a protocol error's reason is
        # wsside's own wording, kept for on_close, on_error and the log).
        _reason_sent: bool

    def on_close(self, code: int, reason: str) -> None:
        """The peer's close frame (code 0: it had none)."""
        if self._close_received:
            return
        self._close_received = True
        if self._close_sent:
            self._io.transport.close()  # the answer to our close frame
            return
        # Our close frame answers it (`_end`); data the client sends after its own close
        # frame is discarded as after ours (RFC 6455 §5.5.1), in the same read or later.
        self._close_sent = True
        # A close frame without a code is reported as 1005, as browsers do.
        self._close_code, self._close_reason = code or _NO_STATUS_RECEIVED, reason
        self._end(code or None)  # the reply echoes the code (RFC 6455 §5.5.1)

    def on_error(self, exc: BaseException) -> None:
        """The parser failed the connection (1002, 1007, 1009): close frame, then our side of
        TCP ends (`_write_end`); `on_error` gets a `ProtocolError` naming the code, queued
        ahead of `on_close`."""
        if self._close_sent or self._close_received:
            self._io.transport.close()
            return
        code = int(getattr(exc, "code", None) or CloseCode.PROTOCOL_ERROR)
        reason = str(exc)
        logger.debug("wsside: %s closed for a protocol error: %s", self.conn.path, reason)
        self._close_sent = True
        self._close_code, self._close_reason, self._by_client = code, reason, False
        self._reason_sent = False
        self._end(code, failed=True)
        # After the close frame is written: whatever the callback sends can only be dropped,
        # the same whether it runs inline or in a task.
        self._submit(("on_error", ProtocolError(code, reason)))

    def _end(self, code: int | None, *, failed: bool = False) -> None:
        """Our last frame, then the TCP close. Callbacks already running get one turn of the
        loop first, so replies they owe to earlier messages are not cut off; a callback that
        takes longer does not hold the close back (its later sends are dropped)."""
        if self._worker is None:
            if self._write_end(code, failed):
                return  # nothing left to write: the transport is closing, no peer to wait for
        else:
            self._loop.call_soon(self._write_end, code, failed)
        self._arm_close_timer()

    def _write_end(self, code: int | None, failed: bool) -> bool:
        """The close frame, then the TCP close; returns whether that is all (nothing left to
        write). A failed connection may still be receiving what the client sent before it
        read our close frame: our side only ends (`half_close`), and the client's EOF or the
        close timer ends the rest."""
        io = self._io
        io.write_close(code)
        if failed and io.half_close():
            if self._reading_paused:  # a flood's back-pressure: what comes now is dropped
                self._reading_paused = False
                io.transport.resume_reading()
            return False
        io.transport.close()
        return not io.buffered

    def on_eof(self) -> None:
        """The client's FIN: the transport closes once what is queued is written. A client
        that reads no more gets `CLOSE_TIMEOUT` for it, as after our close frame, then is
        dropped (`on_close` gets 1006 unless a close frame came)."""
        if self._io.buffered:
            self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        # A peer that never answers, or never reads what is queued before our close frame,
        # must not hold the socket (and its send buffer) for ever.
        if self._close_timer is None:
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self.abort)

    def abort(self) -> None:
        """Drop the transport without a handshake (shutdown of last resort)."""
        self._io.transport.abort()
