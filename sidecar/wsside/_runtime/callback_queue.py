"""One connection's data messages and callbacks, in one ordered queue.

Plain-function callbacks run at once, coroutine callbacks in a task (so `asyncio.timeout` and
friends work), and a slow handler only delays its own connection's next callbacks. A flood
of messages behind a slow handler, by count or by bytes, pauses reading the socket until the
handler catches up.

`CallbackQueue` is the base class of `Session`: on the path of every message the queue reads
and writes the session's own fields, with no object in between.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final, cast

from ..closecodes import CloseCode, CloseReason
from .callbacks import message_now, run_callback, run_message, stuck_warning
from .eager import awaiting_frames, run_eager

if TYPE_CHECKING:
    from ..connection import Connection
    from ..handler import Handler
    from .hub import Hub
    from .keepalive import Keepalive
    from .session_io import FrameSource, SessionIO

__all__ = ["CALLBACK_GRACE", "INBOX_HIGH_BYTES", "INBOX_HIGH_WATER", "CallbackQueue"]

# How long callbacks may go on after their connection closed before they are cancelled.
CALLBACK_GRACE = 5.0
# Past this many queued messages, or this many bytes of them, the socket is not read until the
# handler catches up, so a flooding client cannot grow the queue without bound (TCP pushes
# back on it); reading resumes once both are below half. The bytes are each message's `len()`
# as the handler gets it (inflated; characters of text). Without them, 1,024 messages of up
# to `max_message_size` (16 MiB) each could wait: 16 GiB for one client. 1 MiB is what the
# count allows of 1 KiB messages, so the usual small ones are limited by the count as before,
# and a larger message waits alone (one message is always taken, whatever its size): a client
# then costs the message being read, the one being handled and this one MiB, not more
# (docs/reliability.md adds it up).
INBOX_HIGH_WATER = 1024
INBOX_HIGH_BYTES = 1 << 20

# Above the small-int cache: one shared object instead of a new int per session.
_INTERNAL_ERROR = int(CloseCode.INTERNAL_ERROR)
_INTERNAL_ERROR_REASON = CloseReason.INTERNAL_ERROR.encode()


class _Inbox(deque[tuple[Any, ...]]):
    """The queued jobs and the bytes of their data messages (`size`), kept here rather than in
    the session so that a connection with nothing queued does not pay for the count."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0


# The inbox of a connection with nothing queued: an empty deque costs 600 bytes, and most
# idle connections never queue anything.
_NO_JOBS: Final = cast("_Inbox", ())  # never appended to: see `_submit` and `on_message`


class CallbackQueue:
    __slots__ = ("_inbox", "_on_close_ran", "_reading_paused", "_worker")

    if TYPE_CHECKING:
        # What the queue uses of its session (`Session` sets or defines each).
        conn: Connection
        _hub: Hub
        _io: SessionIO
        _stream: FrameSource  # a `WsStream` (whose `reader` may hold frames) or ASGI's
        _loop: asyncio.AbstractEventLoop
        _keepalive: Keepalive | None
        _close_sent: bool
        _close_code: int
        _close_reason: str
        _by_client: bool

        @property
        def handler(self) -> Handler: ...

        def close(self, code: int, reason: bytes, drop_queued: bool = False) -> Awaitable[None]: ...

    def __init__(self) -> None:
        self._inbox: _Inbox = _NO_JOBS  # a deque once something waits
        self._worker: asyncio.Task[None] | None = None
        self._reading_paused = False
        self._on_close_ran = False

    def on_message(self, data: str | bytes) -> None:
        """One data message (called inside `data_received`): run at once when nothing is
        queued and the handler's message path is plain functions, else queued."""
        if self._close_sent:
            return  # after our close frame, data is discarded (RFC 6455 §5.5.1)
        if self._keepalive is not None:
            self._keepalive.seen()
        if self._worker is None and self._hub.messages_inline:
            pending = message_now(self.conn, self._hub.handler, data)
            if pending is not None:
                rest = run_eager(pending)
                if rest is not None:  # it waits for something: the next ones queue behind
                    self._worker = self._loop.create_task(self._work(rest))
            return
        if self._worker is None:  # it starts the worker: handled now, not queued
            self._submit(("on_message", data))
            return
        inbox = self._inbox
        if inbox is _NO_JOBS:
            inbox = self._inbox = _Inbox()
        inbox.append(("on_message", data))
        inbox.size += len(data)
        if (
            inbox.size > INBOX_HIGH_BYTES or len(inbox) > INBOX_HIGH_WATER
        ) and not self._reading_paused:
            self._pause_reading()

    def _pause_reading(self) -> None:
        """Stop reading the socket. The rest of the read under way still reaches the session:
        the parser holds its frames as they came (compressed ones not inflated) until
        `_resume_reading`, so that a read of a few KiB cannot inflate to many MiB here."""
        self._reading_paused = True
        self._io.transport.pause_reading()
        self._stream.hold()
        if self._keepalive is not None:  # the client's pongs and frames now wait unread
            self._keepalive.pause()

    def _resume_reading(self) -> None:
        """Deliver the frames the parser held, then read again (unless those frames filled
        the queue again)."""
        self._reading_paused = False
        self._stream.release()
        if self._reading_paused:
            return
        self._io.transport.resume_reading()
        if self._keepalive is not None:
            self._keepalive.resume()

    def _submit_frame(self, job: tuple[Any, ...]) -> None:
        """A ping or pong for `on_ping` / `on_pong`: queued like a message, so that a flood of
        them behind a slow handler pauses reading too (by count: they are 125 bytes at most)."""
        self._submit(job)
        if len(self._inbox) > INBOX_HIGH_WATER and not self._reading_paused:
            self._pause_reading()

    def _submit(self, job: tuple[Any, ...]) -> None:
        if self._worker is not None:
            if self._inbox is _NO_JOBS:
                self._inbox = _Inbox()
            self._inbox.append(job)
        elif self._hub.has_nothing_for(job[0]):  # no callback: nothing to run or order
            if job[0] == "on_close":
                self._on_close_ran = True
        elif self._hub.runs_inline(job[0]):
            pending = run_eager(self._run_job(job))
            if pending is not None:  # a plain function returned something to await
                self._worker = self._loop.create_task(self._work(pending))
        else:
            self._worker = self._loop.create_task(self._work(None, job))

    async def _work(
        self, pending: Awaitable[None] | None, job: tuple[Any, ...] | None = None
    ) -> None:
        try:
            if pending is not None:
                await pending
            if job is not None:
                await self._run_job(job)
            while self._inbox:
                inbox = self._inbox
                job = inbox.popleft()
                if job[0] == "on_message":
                    inbox.size -= len(job[1])
                await self._run_job(job)
                if (
                    self._reading_paused
                    and len(self._inbox) < INBOX_HIGH_WATER // 2
                    and self._inbox.size < INBOX_HIGH_BYTES // 2
                ):
                    self._resume_reading()
        finally:
            self._worker = None
            if not self._inbox:
                self._inbox = _NO_JOBS

    async def _run_job(self, job: tuple[Any, ...]) -> None:
        kind = job[0]
        conn, handler = self.conn, self.handler
        if kind == "on_message":
            await run_message(conn, handler, job[1])
            return
        fn = handler.callbacks[kind]
        if kind == "on_close":
            self._on_close_ran = True
        if fn is None:
            return
        if kind == "on_connect":
            ok = await run_callback(conn, handler, "on_connect", fn, conn, job[1])
            if not ok:
                self._drop_messages()
                if not self._io.closing:
                    self.close(_INTERNAL_ERROR, _INTERNAL_ERROR_REASON)
        elif kind == "on_close":
            await run_callback(
                conn,
                handler,
                "on_close",
                fn,
                conn,
                self._close_code,
                self._close_reason,
                self._by_client,
                report_only=True,
            )
        else:  # on_ping / on_pong / on_error; an on_error that raises is only reported
            await run_callback(
                conn, handler, kind, fn, conn, job[1], report_only=kind == "on_error"
            )

    def _drop_messages(self) -> None:
        """The server closes (`on_connect` failed: 1011; or `close` was called): the data
        messages queued are not handled, as what comes after our close frame is not; the
        other callbacks, `on_close` among them, stay queued."""
        inbox = self._inbox
        if inbox:
            kept = [job for job in inbox if job[0] != "on_message"]
            inbox.clear()
            inbox.extend(kept)
            inbox.size = 0

    async def _finish_worker(self) -> None:
        """Let queued callbacks end; one still running long after the socket closed can no
        longer reach its client, so it is cancelled, the messages queued behind it are
        dropped, and `on_close` runs all the same (as after a stop cancelled it).

        `on_close` itself is not cancelled here: it is the connection's clean-up, which may
        wait on purpose (a grace period before saying a user went offline, so that a page
        reload does not flap). The connection leaves its rooms all the same, and is finished
        when `on_close` returns; a stop cancels one still running at the end of its budget
        (`stop_callbacks`)."""
        worker = self._worker
        if worker is None:
            return
        done, _ = await asyncio.wait([worker], timeout=CALLBACK_GRACE)
        if not done:
            if self._on_close_ran:  # set when on_close starts: it is the job under way
                self._hub.remove(self.conn)
            else:
                self._cancel_stuck(worker, f"{CALLBACK_GRACE:g} s after the connection closed")
            await asyncio.wait([worker])
        if not self._on_close_ran:  # the callback before it was cancelled (here or by a stop)
            self._inbox = _NO_JOBS
            self._submit(("on_close",))
            if self._worker is not None:  # in a task, which a stop may cancel
                await asyncio.wait([self._worker])

    def stop_callbacks(self) -> None:
        """A stop's time ran out: a callback still running is cancelled (and said, as one
        that outstays its connection is), so that `on_close` runs before the process ends;
        an `on_close` still running is cancelled, so that its `finally` runs."""
        worker = self._worker
        if worker is None:
            return
        if self._on_close_ran:
            worker.cancel()
        else:
            self._cancel_stuck(worker, "when the shutdown timeout ran out")

    def _cancel_stuck(self, worker: asyncio.Task[None], when: str) -> None:
        # The messages queued behind it go with it: said in the same line, so that a client
        # that sent them and closed is not taken for one whose messages were all handled.
        # `on_close`, when queued, goes too: `_finish_worker` runs it once the task ended.
        dropped = sum(1 for job in self._inbox if job[0] == "on_message")
        frames = awaiting_frames(worker.get_coro())
        stuck_warning(self.conn, self.handler, frames, when, dropped)
        worker.cancel()
        self._inbox = _NO_JOBS
