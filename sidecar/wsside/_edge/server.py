"""`Sidecar`: what one process serves with: the handler registry, the `Intake` every upgrade
goes through, aiohttp's runner, hot reload (with `settings.reload`), the stall watchdog and the
backplane, with start-up and graceful shutdown.

What feeds it and what supervises it sit around this object, not inside it: `wsside serve`
adds a TCP listener (`serve_tcp`), shim mode (`shim_mode.py`) a Unix socket for the shim's
pipe and the sockets the shim hands over, with the control channel and the parent watch.
Either makes a new `Sidecar` when the config file changes (`config_changed`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._io.engine import HttpProcessingError
from .._places import place
from .._runtime.background import STOP_WAIT
from .._runtime.closing import close_sessions
from .._runtime.events import emit, log, logger
from .._runtime.misnamed_handlers import underscored_handlers_note
from .._runtime.outside_modules import restart_hint
from .._runtime.registry import Registry
from .._runtime.reload import Reloader
from .._runtime.settings import Settings
from .._runtime.stall import StallWatchdog
from .._runtime.typescript import render
from ..closecodes import CloseCode, CloseReason
from . import malloc
from .intake import Intake

if TYPE_CHECKING:
    from .._runtime.redis_backplane import RedisBackplane
    from ..handler import Handler

__all__ = ["NODE_HEAD_LIMITS", "HeadLimits", "Sidecar"]

# Connections the kernel holds for the process before it accepts them (Linux caps it at
# net.core.somaxconn, 4096 on kernels since 5.4). aiohttp's 128 overflowed when a reconnect
# storm met a busy moment (a deploy, a stall): the others' SYNs were dropped and retried a
# second or more later. 2048 is uvicorn's and gunicorn's.
BACKLOG = 2048

# aiohttp's wait for plain HTTP requests still in progress when the runner stops (WebSocket
# sessions are not among them: they are closed first, with their own budget).
SHUTDOWN_GRACE = 5.0
# How long a connection may take to send its whole request (a WebSocket client sends it at
# once), and how long an HTTP keep-alive connection may wait for its next one.
HEAD_TIMEOUT = 10.0
# Of the shutdown budget, what is kept for the steps after the clients' closing handshakes
# (stopping the runner, the process's own exit, a supervising parent seeing it): at most this,
# and at most a third of the budget.
CLEANUP_RESERVE = 1.5


@dataclass(frozen=True)
class HeadLimits:
    """What aiohttp's parser takes of a request's head: bytes a line, bytes a header, headers."""

    line: int = 8190  # aiohttp's own defaults
    field: int = 8190
    headers: int = 128


# Under Vite, Node's HTTP parser has read each request's head before the sidecar does (16 KiB
# in all, up to 2,000 headers): on the pipe path (an HTTPS dev server) the sidecar's parser
# takes the same heads as the hand-over path (a big session cookie got 400 over TLS only).
NODE_HEAD_LIMITS = HeadLimits(line=16 * 1024, field=16 * 1024, headers=2000)


class _MalformedRequestsAtDebug(logging.Filter):
    """aiohttp logs each malformed HTTP request with a traceback at error level; any local
    program can send those to a dev server, so they are debug lines, not alarms."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            logger.debug("wsside: refused a malformed request: %s", exc)
            return False
        return True


_quiet = _MalformedRequestsAtDebug()
logging.getLogger("aiohttp.server").addFilter(_quiet)


class Sidecar:
    """The handlers of `settings` served over aiohttp's runner; `head_limits` are the runner's
    limits of a request's head (aiohttp's defaults unless given). `handlers`, when given, are
    served instead of the handlers folder's files (`wsside.testing.serve([chat])`)."""

    def __init__(
        self,
        settings: Settings,
        head_limits: HeadLimits | None = None,
        handlers: list[Handler] | None = None,
    ) -> None:
        self.settings = settings
        self._handlers = handlers
        self.registry = Registry(
            settings.handlers_dir,
            settings.handler_defaults,
            check_sends=settings.log_level == "debug",
        )
        self.backplane: RedisBackplane | None = None
        if settings.backplane is not None:
            # Only now: a process without a backplane never imports redis.
            from .._runtime.redis_backplane import backplane_from_url

            self.backplane = backplane_from_url(settings.backplane, self.registry.deliver)
            self.registry.backplane = self.backplane
        self.intake = Intake(settings, self.registry)
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        # The requests being answered: an upgrade waits here while `authenticate` runs.
        self._handling: set[asyncio.Task[Any]] = set()
        limits = head_limits or HeadLimits()
        self.runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=SHUTDOWN_GRACE,
            # A connection that has not sent a whole request by then (idle, or a head trickling
            # in) is closed: each holds a descriptor. Upgraded connections are wsside's.
            keepalive_timeout=HEAD_TIMEOUT,
            max_line_size=limits.line,
            max_field_size=limits.field,
            max_headers=limits.headers,
        )
        self._started = False
        # Set when the config file changes; whoever runs the sidecar decides how to restart.
        self.config_changed = asyncio.Event()
        self.reloader: Reloader | None = None
        self.stall = StallWatchdog(settings.handlers_dir, interruptible=settings.reload)

    async def start(self) -> None:
        """Load every handler file and set up the runner (no listener yet); with
        `settings.reload`, watch the handler files and the config file from now on."""
        malloc.warm_up()
        if self.backplane is not None:
            await self.backplane.start()
        if self.settings.reload:
            self.reloader = Reloader(
                self.registry,
                self.settings.config_file,
                self.config_changed.set,
                on_save=self.stall.interrupt,
                restart=restart_hint(
                    under_vite=self.settings.secret is not None,
                    workers=self.settings.workers,
                ),
            )
            self.reloader.start()
        for note in self.settings.config_notes:
            log(note, "warning")
        if self._handlers is None:
            self.registry.load_all()
            helpers = underscored_handlers_note(self.settings.handlers_dir)
            if helpers and not self.registry.endpoints():
                # Else the start only says that no file declares a Handler: the one that
                # does is a helper by its name.
                log(f"no handler file declares an endpoint {helpers}", "warning")
        else:
            self.registry.add_handlers(self._handlers)
        if self.reloader is not None:
            self.reloader.watch_imports()
        await self.runner.setup()
        self.stall.start()
        self._started = True

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """`Intake.handle`, with the request's task known while it runs (`_cut_requests`)."""
        task = asyncio.current_task()
        assert task is not None
        self._handling.add(task)
        try:
            return await self.intake.handle(request)
        finally:
            self._handling.discard(task)

    def describe(self) -> list[dict[str, Any]]:
        """The endpoints served, with their URL paths under the first prefix."""
        return self.registry.describe(self.settings.url_prefix)

    def background(self) -> list[str]:
        """The background tasks of the endpoints served, as `tick (ws/clock.py:20)`."""
        return [
            f"{getattr(task, '__name__', 'task')} ({place(task)})"
            for handler in self.registry.endpoints()
            for task in handler.background_tasks
        ]

    def types(self) -> str | None:
        """The TypeScript of the endpoints' message types (`wsside-env.d.ts`), with files
        named relative to the working folder (the project root under the shim); None while a
        handler file that never loaded fails (at a start, say): its endpoints' types are
        unknown, and the file written before (when it loaded) has them, where this text
        would leave them out and fail `tsc` on every page that uses them."""
        if self.registry.unserved_failures():
            return None
        return render(self.registry.endpoints(), self.settings.handlers_dir, Path.cwd())

    async def serve_tcp(self, host: str, port: int, *, reuse_port: bool = False) -> web.TCPSite:
        """Listen on `host:port`; `reuse_port`: beside other processes' listeners on the
        same port (SO_REUSEPORT: the kernel spreads new connections over them)."""
        site = web.TCPSite(
            self.runner, host, port, reuse_address=True, reuse_port=reuse_port, backlog=BACKLOG
        )
        await site.start()
        return site

    async def close(
        self,
        code: int = CloseCode.GOING_AWAY,
        reason: str = CloseReason.GOING_AWAY,
        timeout: float | None = None,
        *,
        keep_listening: bool = False,
    ) -> None:
        """Stop accepting, close every connection with `code` (their `on_close` runs), then
        stop serving, all within `timeout` seconds (default `settings.shutdown_timeout`):
        clients that have not finished their closing handshake by then are cut off. With
        `keep_listening`, the listeners close last (`runner.cleanup`), not first: what the
        intake answers while `draining` (health probes) is heard until then."""
        deadline = time.monotonic() + (
            self.settings.shutdown_timeout if timeout is None else timeout
        )
        # No upgrade is admitted from now on (503), a restart's included: one admitted now
        # would be served by the code being replaced, and closed by nothing.
        self.intake.draining = True
        for site in () if keep_listening else tuple(self.runner.sites):
            await site.stop()
        if self.reloader is not None:
            await self.reloader.stop()

        def budget() -> float:  # what is left, less a reserve for the steps after
            left = deadline - time.monotonic()
            return left - min(CLEANUP_RESERVE, left / 3)

        await asyncio.gather(
            close_sessions(self.intake.sessions, code, reason.encode(), budget),
            self._cut_requests(budget),
        )
        if self.backplane is not None:
            # After `on_close`: what those callbacks broadcast still reaches other processes.
            await self.backplane.close()
        # Background tasks' clean-up: up to STOP_WAIT, within what is left of the budget.
        left = max(deadline - time.monotonic(), 0.0)
        await self.registry.close(timeout=min(left, STOP_WAIT))
        if self._started:
            await self.runner.cleanup()
        self.stall.stop()
        emit({"type": "closed"})

    async def _cut_requests(self, budget: Callable[[], float]) -> None:
        """Wait for the requests being answered (upgrades whose `authenticate` still runs: one
        that ends now gets 503, as the stop began) for the `budget`, then cut those left: else
        aiohttp's runner would wait for them twice its own grace (`SHUTDOWN_GRACE`), past
        the shutdown timeout, and a supervisor's kill."""
        if not self._handling:
            return
        await asyncio.wait(tuple(self._handling), timeout=max(budget(), 0.0))
        left = tuple(self._handling)
        for task in left:
            task.cancel()  # aiohttp closes its connection, unanswered
        if left:
            count = len(left)
            log(
                f"{count} upgrade request{'s' * (count != 1)} still waiting for authenticate "
                f"at the end of the shutdown timeout: cut without an answer"
            )
