"""`ASGIApp`: the same handlers under any ASGI 3 server (uvicorn, hypercorn), alone or
mounted in an ASGI application (Starlette, FastAPI).

A WebSocket scope is admitted as `wsside serve` admits an upgrade (the Origin rule and the
route from `Registry.match`, checked in `asgi_admission.py`, which also answers a refusal;
`authenticate` and the subprotocol from `admission.py`), then served by the same `Session` as
a socket wsside owns, over an `AsgiChannel` instead of a stream. What the ASGI server owns
(compression, pings, frame limits, the closing handshake) is its business: docs/asgi.md has
the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from .._io.asgi import AsgiChannel, AsgiIO, Receive, Send
from .._protocol.handshake import plain_refusal
from .._runtime.closing import close_sessions
from .._runtime.events import logger
from .._runtime.registry import Registry
from .._runtime.repeats import flush_all
from .._runtime.session import Session
from ..closecodes import CloseCode, CloseReason
from ..handler import Handler
from .admission import (
    LOCAL_PAGES_NOTE,
    NULL_ORIGIN_NOTE,
    Refusal,
    authenticate,
    decide,
    local_pages_of_a_site,
)
from .asgi_admission import admit, refuse, respond
from .asgi_folder import load_folder
from .asgi_paths import route_paths
from .asgi_setup import (
    RunBackplane,
    handler_list,
    lifespan_folders,
    log_events,
    note_refused_code,
    origin_set,
    served_handler,
    warn_at_start,
    warn_imported_twice,
    warn_no_lifespan,
)
from .asgi_workers import warn_workers_apart
from .not_found import NotFoundNotes

__all__ = ["ASGIApp"]

# How long shutdown waits for connections to close (and their `on_close` to run), and for
# the cancelled background tasks to end.
CLOSE_WAIT = 5.0


class ASGIApp:
    """An ASGI 3 application serving `Handler`s: `uvicorn app:app` with
    `app = ASGIApp("ws")`, or mounted: `starlette_app.mount("/api", ASGIApp("ws"))`.

    `handlers` is a folder of handler files (relative to the current directory; imported
    once, without hot reload) or an iterable of `Handler` objects. Patterns are matched on
    the path below the mount point. `allowed_origins`: browser origins accepted besides
    loopback ones (any other Origin gets 403); `loopback_origins=False` accepts only those.
    `backplane`: a `redis://` or `rediss://` URL shared with other processes (ASGI or
    `wsside serve`), so broadcasts reach their connections too.

    Background tasks start at the server's lifespan startup and are cancelled at its
    shutdown. A mounted app gets no lifespan events: give the outer app `lifespan=ws.lifespan`
    (`ws` being this app), else they start with the first connection (a warning says so, once
    per process) and stop only when the event loop ends (not at all under uvicorn's SIGTERM,
    which ends the process first).

    Raises ImportError naming the file and line when a handler file fails to import (or two
    declare one pattern), ValueError for one pattern given twice in a list, and the
    backplane's error for a bad URL or a missing `wsside[redis]` extra.
    """

    def __init__(
        self,
        handlers: str | os.PathLike[str] | Iterable[Handler],
        *,
        backplane: str | None = None,
        allowed_origins: Iterable[str] | None = None,
        loopback_origins: bool = True,
    ) -> None:
        log_events()
        self._allowed = origin_set(allowed_origins)
        if not isinstance(loopback_origins, bool):
            raise TypeError(
                f"ASGIApp(loopback_origins={loopback_origins!r}): expected True or False"
            )
        self._loopback = loopback_origins
        if local_pages_of_a_site(self._allowed, loopback_origins):
            logger.warning(
                "wsside: %s; in production, ASGIApp(..., loopback_origins=False) turns them off",
                LOCAL_PAGES_NOTE,
            )
        if "null" in self._allowed:
            logger.warning(
                "wsside: %s; take it out of ASGIApp(..., allowed_origins=[...]) unless your "
                "pages are file:// pages",
                NULL_ORIGIN_NOTE,
            )
        self._backplane: RunBackplane | None = None
        folder = Path(handlers) if isinstance(handlers, (str, os.PathLike)) else Path.cwd()
        self._registry = Registry(folder)
        if backplane is not None:
            self._backplane = RunBackplane(backplane, self._registry.deliver)
            self._registry.backplane = self._backplane
        # The handlers folder, resolved: two apps of one folder are a slip (warn_no_lifespan).
        self._folder = folder.resolve() if isinstance(handlers, (str, os.PathLike)) else None
        if isinstance(handlers, (str, os.PathLike)):
            load_folder(self._registry, folder)
        else:
            self._registry.add_handlers(handler_list(handlers))
        warn_at_start(self._registry, folder, backplane=backplane is not None)
        self._not_found: NotFoundNotes | None = None  # made at the first 404
        self._sessions: set[Session] = set()
        self._starting: asyncio.Future[None] | None = None
        self._ready = False
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of the current run
        # Without a lifespan: the task that stops this run when its event loop ends.
        self._stopper: asyncio.Task[None] | None = None

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            await self._http(scope, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # as the ASGI spec asks of an application that does not know a scope type
            raise ValueError(f"wsside.ASGIApp: unknown ASGI scope type {kind!r}")

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Start (background tasks, the backplane) and stop (close connections 1001, cancel
        the tasks) with an outer application: `Starlette(routes=[Mount("/api", ws)],
        lifespan=ws.lifespan)`. A mounted app gets no lifespan events of its own."""
        await self._startup()
        try:
            yield
        finally:
            await self._shutdown()

    def handler(self, pattern: str) -> Handler:
        """The `Handler` serving `pattern` (as declared: "/ws/chat"), for a route that pushes:
        `ws.handler("/ws/chat").broadcast(data)`. KeyError when none declares it."""
        return served_handler(self._registry, pattern)

    # ---- lifespan --------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                try:
                    await self._startup()
                except Exception as exc:  # noqa: BLE001 - the server reports it and stops
                    await send({"type": "lifespan.startup.failed", "message": f"wsside: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _startup(self, lazy: bool = False) -> None:
        """Start this run; `lazy`: for a connection, no lifespan startup having come."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            await self._left_loop(loop)
        if self._ready:
            return
        if not lazy and self._folder is not None:
            lifespan_folders[self] = self._folder
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
            if lazy and self._has_work():
                self._stopper = loop.create_task(self._stop_with_loop())
                # Now: at uvicorn's SIGTERM nothing of ours runs any more.
                warn_no_lifespan(self, self._folder)
        # Shielded: one connection that goes away must not cancel the start for the others.
        await asyncio.shield(self._starting)
        self._ready = True

    async def _left_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve on `loop` from now on. A run on an earlier loop that no longer runs (a
        server started again in one process, a test client's loop per request) ended without
        a lifespan shutdown: its background tasks ended with it, so they start again here."""
        if self._loop is not None and self._loop.is_running():
            return  # another thread's server still runs it: left as it is
        self._loop = loop
        self._stopper = None  # its loop ended without cancelling it
        if self._ready:
            await self._registry.close(timeout=0)  # forgets the tasks of the old loop
            self._starting, self._ready = None, False

    async def _start(self) -> None:
        if self._backplane is not None:
            await self._backplane.start()
        else:
            warn_workers_apart("start")
        self._registry.start_background()
        warn_imported_twice(self._registry)  # by now the app has imported what it imports

    async def _stop_with_loop(self) -> None:
        """Stop a run that no lifespan started when its event loop ends (`asyncio.run` and
        uvicorn's runner cancel every task then): the backplane closed, background tasks
        cancelled and awaited, instead of Redis connections and tasks left to the collector."""
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        except asyncio.CancelledError:
            if self._stopper is asyncio.current_task():  # else a lifespan shutdown ran
                self._stopper = None
                await self._shutdown()
            raise

    def _has_work(self) -> bool:
        """Whether a run has something to stop or wait for: a backplane, background tasks,
        or `on_close` callbacks (else a lifespan would change nothing)."""
        handlers = [h for f in self._registry.files.values() for h in f]
        return self._backplane is not None or any(
            h.background_tasks or h.callbacks["on_close"] for h in handlers
        )

    async def _shutdown(self) -> None:
        stopper, self._stopper = self._stopper, None
        if stopper is not None:
            stopper.cancel()
        going_away = CloseReason.GOING_AWAY.encode()
        await close_sessions(self._sessions, CloseCode.GOING_AWAY, going_away, lambda: CLOSE_WAIT)
        # Background tasks are cancelled and awaited: the `finally` of a task runs before the
        # app's own lifespan goes on (closing what the task uses) and before the server exits.
        await self._registry.close()
        if self._backplane is not None:
            await self._backplane.close()
        flush_all()  # the counts of the windows still open (refused Origins, misfits, ...)
        self._starting, self._ready = None, False

    # ---- plain HTTP ------------------------------------------------------------------------

    async def _http(self, scope: Mapping[str, Any], send: Send) -> None:
        full, below = route_paths(scope)
        why = plain_refusal(full, self._registry.match(below) is not None, scope.get("method", ""))
        await respond(send, "http.response", Refusal(*why))

    # ---- WebSocket -------------------------------------------------------------------------

    def _note_not_found(self, scope: Mapping[str, Any]) -> None:
        """Name a path that got 404 once, with the endpoint likely meant: a mount point and a
        pattern that both say `/ws` (`app.mount("/ws", ...)`, `Handler("/ws/chat")`) serve
        `/ws/ws/chat`, and the client's `/ws/chat` is refused without a word otherwise."""
        full, below = route_paths(scope)
        if self._not_found is None:
            mount = full[: len(full) - len(below)] if below and full.endswith(below) else ""
            self._not_found = NotFoundNotes(
                self._registry, (mount,), self._registry.root, "the mount point"
            )
        self._not_found(full)

    async def _websocket(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return  # the client left before the application saw it
        await self._startup(lazy=True)
        if self._backplane is None:
            warn_workers_apart("connection")
        admitted = admit(scope, self._registry, self._allowed, self._loopback)
        if isinstance(admitted, Refusal):
            if admitted.status == 404:
                self._note_not_found(scope)
            await refuse(scope, send, admitted)
            return
        hub, request = admitted
        verdict = authenticate(hub.handler, request)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        handler = hub.handler
        accepted = decide(handler, request, verdict)
        if isinstance(accepted, Refusal):
            await refuse(scope, send, accepted)
            return
        try:
            await send({"type": "websocket.accept", "subprotocol": accepted.protocol})
        except Exception:  # noqa: BLE001 - each server has its own "client gone" errors
            return
        channel = AsgiChannel(
            receive, send, handler.max_message_size, scope.get("client"), note_refused_code
        )
        session = Session(
            hub,
            AsgiIO(channel),
            channel,
            self._sessions,
            path=request.path,
            params=request.params,
            query=request.query,
            headers=request.headers,
            subprotocol=accepted.protocol,
            metadata=dict(accepted.metadata) if accepted.metadata else None,
        )
        try:
            session.start(request)
            # Until `on_close` ran, so that a server's graceful shutdown waits for it. Shielded:
            # a server that gives up waiting cancels this call, and `finished` must stay
            # pending for `_shutdown`, else the process ends with `on_close` half run.
            await asyncio.shield(session.finished)
        finally:
            channel.abort()  # no-op once ended; else the server cancelled this call
