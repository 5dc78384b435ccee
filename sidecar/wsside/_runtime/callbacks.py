"""The ordered callback queue of one connection, and the error policy around user code.

Jobs (connect, each message, pings and pongs with their callbacks, close) run one at a time in
arrival order. Plain-function callbacks run at once, inside `data_received`; coroutine
callbacks run in a task created when needed and gone when the queue is empty. A callback that
raises gets the error policy: `on_error`, else an error frame; `on_connect` raising closes 1011.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .eager import awaiting_frames, run_eager
from .._protocol.codec import decode_text
from .events import emit, error_event

if TYPE_CHECKING:
    from ..connection import Connection
    from ..handler import Handler

__all__ = ["CallbackQueue", "CALLBACK_GRACE", "INBOX_HIGH_WATER"]

# How long callbacks may go on after their connection closed before they are cancelled.
CALLBACK_GRACE = 5.0
# Past this many queued messages the socket is not read until the handler catches up, so a
# flooding client cannot grow the queue without bound (TCP pushes back on it); reading
# resumes below half of it.
INBOX_HIGH_WATER = 1024
# The inbox of a connection with nothing queued: an empty deque costs 600 bytes, and most
# idle connections never queue anything.
NO_JOBS: Any = ()


class CallbackQueue:
    """Mixed into `Session`, whose state (`conn`, `_inbox`, `_worker`, ...) it uses."""

    __slots__ = ()
    conn: Connection
    handler: Handler
    _loop: asyncio.AbstractEventLoop
    _inbox: Any
    _worker: asyncio.Task[None] | None
    _reading_paused: bool
    _on_close_ran: bool
    _close_code: int
    _close_reason: str
    _by_client: bool

    if TYPE_CHECKING:
        def close(self, code: int, reason: bytes) -> Awaitable[None]: ...

    async def _finish_worker(self) -> None:
        """Let queued callbacks end; one still running long after the socket closed can no
        longer reach its client, so it is cancelled and `on_close` runs all the same."""
        worker = self._worker
        assert worker is not None
        done, _ = await asyncio.wait([worker], timeout=CALLBACK_GRACE)
        if done:
            return
        frames = awaiting_frames(worker.get_coro())
        mine = [f for f in frames if f.f_code.co_filename == self.handler.file] or frames
        where = f" at {mine[-1].f_code.co_filename}:{mine[-1].f_lineno}" if mine else ""
        emit({"type": "log", "level": "warning",
              "message": f"a callback of {self.conn.path} was still running {CALLBACK_GRACE:g} s "
                         f"after the connection closed{where}; it was cancelled"})
        worker.cancel()
        await asyncio.wait([worker])
        self._inbox = NO_JOBS
        if not self._on_close_ran:
            await self._run_job(("close",))

    def _submit(self, job: tuple[Any, ...]) -> None:
        if self._worker is not None:
            if self._inbox is NO_JOBS:
                self._inbox = deque()
            self._inbox.append(job)
        elif self.conn._hub.has_nothing_for(job[0]):  # no callback: nothing to run or order
            if job[0] == "close":
                self._on_close_ran = True
        elif self.conn._hub.runs_inline(job[0]):
            pending = run_eager(self._run_job(job))
            if pending is not None:  # a plain function returned something to await
                self._worker = self._loop.create_task(self._work(pending))
        else:
            self._worker = self._loop.create_task(self._work(None, job))

    async def _work(self, pending: Awaitable[None] | None, job: tuple[Any, ...] | None = None) -> None:
        try:
            if pending is not None:
                await pending
            if job is not None:
                await self._run_job(job)
            while self._inbox:
                await self._run_job(self._inbox.popleft())
                if self._reading_paused and len(self._inbox) < INBOX_HIGH_WATER // 2:
                    self._reading_paused = False
                    self.conn._io.transport.resume_reading()
        finally:
            self._worker = None
            if not self._inbox:
                self._inbox = NO_JOBS

    async def _run_job(self, job: tuple[Any, ...]) -> None:
        kind = job[0]
        conn = self.conn
        callbacks = self.handler.callbacks
        if kind == "message":
            await self._on_message(job[1])
        elif kind == "connect":
            fn = callbacks["on_connect"]
            if fn is not None and not await self._call("on_connect", fn, conn, job[1]):
                if not conn._io.closing:
                    self.close(1011, b"Internal error")
        elif kind == "close":
            self._on_close_ran = True
            fn = callbacks["on_close"]
            if fn is not None:
                await self._call("on_close", fn, conn, self._close_code, self._close_reason,
                                 self._by_client, report_only=True)
        else:  # on_ping / on_pong
            fn = callbacks[kind]
            if fn is not None:
                await self._call(kind, fn, conn, job[1])

    async def _on_message(self, raw: str | bytes) -> None:
        handler = self.handler
        conn = self.conn
        try:
            if handler.transform_raw_data is not None:
                data = await _maybe(handler.transform_raw_data(raw))
            elif isinstance(raw, str):
                data = decode_text(raw)
            else:
                data = raw
            if handler.delay:
                await asyncio.sleep(handler.delay)
            for rule in handler.responses:
                if await _maybe(rule.matches(conn, data)):
                    await self._respond(rule, data)
                    return
            fn = handler.callbacks["on_message"]
            if fn is not None:
                await _maybe(fn(conn, data))
        except Exception as exc:  # noqa: BLE001 - the error policy decides what the client sees
            await self._fail(exc, "on_message")

    async def _respond(self, rule: Any, data: Any) -> None:
        conn = self.conn
        reply = rule.response
        if callable(reply):
            reply = await _maybe(reply(conn, data))
        if reply is None:
            return
        target = rule.broadcast
        if target is True:
            conn.broadcast_all_rooms(reply)
        elif target:
            if target.room is None:
                conn.broadcast(reply, include_self=target.include_self)
            else:
                conn.broadcast(reply, room=target.room, include_self=target.include_self)
        else:
            await conn.send(reply)

    async def _call(self, name: str, fn: Callable[..., Any], *args: Any,
                    report_only: bool = False) -> bool:
        """Run one callback; on error apply the error policy. True when it succeeded."""
        try:
            await _maybe(fn(*args))
            return True
        except Exception as exc:  # noqa: BLE001
            if report_only:
                self._report(exc, name)
            else:
                await self._fail(exc, name)
            return False

    async def _fail(self, exc: Exception, where: str) -> None:
        self._report(exc, where)
        on_error = self.handler.callbacks["on_error"]
        if on_error is None:
            self.conn.send({"type": "error", "message": str(exc)})
            return
        try:
            await _maybe(on_error(self.conn, exc))
        except Exception as again:  # noqa: BLE001 - on_error failing must never crash anything
            self._report(again, "on_error")

    def _report(self, exc: BaseException, where: str) -> None:
        handler = self.handler
        event = error_event(
            "runtime_error", exc, files=(handler.file,),
            pattern=handler.pattern.source, callback=where, path=self.conn.path,
        )
        emit(event)


async def _maybe(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value

