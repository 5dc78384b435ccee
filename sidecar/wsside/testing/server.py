"""The server of `wsside.testing`: a `Sidecar` in the test's event loop, on a free port."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from .._edge.asgi_setup import handler_list, log_events
from .._edge.closest_endpoint import closest, refused_segment
from .._edge.server import Sidecar
from .._runtime import events
from .._runtime.config import build_settings, config_search
from .._runtime.config_keys import PREFIX_EXPECTED, is_prefix_path
from .._runtime.missing_env import NOT_IN_ENVIRONMENT
from .._runtime.settings import Settings
from ..handler import Handler
from .client import TIMEOUT, Client, HandshakeRefused, require_server_loop

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = ["HandlerError", "Server", "serve"]

# After "no handlers folder at ..." when the project's config chose the folder.
_RUN_IN_THE_PROJECT = (
    ": run pytest in the project's folder, as `wsside serve` runs, or give the folder, "
    "serve('path/to/ws')"
)

# The server whose code runs: set while one starts, so that every task its listener and its
# handlers start has it (a task keeps the context it was made in). An error event names only
# the pattern, which two servers of one folder share.
_running: ContextVar[Server | None] = ContextVar("wsside.testing server", default=None)

# The hint a handler file's `os.environ["NAME"]` gets for a variable not set
# (_runtime/missing_env.py), which speaks of Vite and `wsside serve`, not of tests.
_UNSET = re.compile(rf"KeyError: ('[^']*'): {re.escape(NOT_IN_ENVIRONMENT)}")


class HandlerError(AssertionError):
    """A callback or background task of the handlers raised while the server ran, or a
    handler sent what does not fit its `sends=`: each report as the console shows it
    (headline and traceback, or the warning's line), in the message and in `errors`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(
            f"{len(errors)} error(s) in the handlers during the test:\n\n" + "\n\n".join(errors)
        )
        self.errors: list[str] = list(errors)
        "Each report, as `server.errors` has it (`raise_errors=False`)."


def serve(
    handlers: str | os.PathLike[str] | Iterable[Handler] | None = None,
    *,
    prefix: str | None = None,
    raise_errors: bool = True,
) -> Server:
    """A test server for `async with`, set up as `wsside serve` (`--handlers FOLDER` for a
    folder given) run in the current directory would be: its config file (wsside.toml, or
    [tool.wsside] in pyproject.toml, in the current folder, else beside the folder given)
    gives the handlers folder, the prefix, the `[defaults]` of the folder's handlers and the
    Origins accepted; without one, `ws`, `/api` and loopback Origins. `handlers` (a folder,
    or `Handler` objects) and `prefix` override it. Nothing else of the file applies (no
    backplane, no health path)."""
    return Server(handlers, prefix=prefix, raise_errors=raise_errors)


class Server:
    """What `serve` gives: `connect` clients; `handler(pattern)` for the served `Handler`
    (to broadcast from the test); `url + prefix + path` for clients of your own."""

    def __init__(
        self,
        handlers: str | os.PathLike[str] | Iterable[Handler] | None,
        *,
        prefix: str | None,
        raise_errors: bool,
    ) -> None:
        self.errors: list[str] = []
        # `http://127.0.0.1:PORT` once started: with `prefix`, for clients of your own.
        self.url: str = ""
        self._raise = raise_errors
        self._clients: list[Client] = []
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        given: list[Handler] | None = None
        folder: Path | None = None
        if isinstance(handlers, (str, os.PathLike)):
            folder = Path(handlers)
        elif handlers is not None:
            given = handler_list(handlers, "wsside.testing.serve")
        if prefix is not None and not is_prefix_path(prefix):
            raise ValueError(f"wsside.testing.serve(prefix={prefix!r}): expected {PREFIX_EXPECTED}")
        # Where `wsside serve --handlers FOLDER` looks: a test names the folder from its own.
        project = build_settings({"handlers_dir": folder}, search=config_search(Path.cwd(), folder))
        if given is None and not project.handlers_dir.is_dir():
            fix = "" if folder is not None else _RUN_IN_THE_PROJECT  # a folder given: named
            raise FileNotFoundError(
                f"wsside.testing.serve: no handlers folder at {project.handlers_dir.resolve()}{fix}"
            )
        settings = Settings(
            handlers_dir=project.handlers_dir if given is None else Path.cwd(),
            prefixes=(prefix,) if prefix is not None else project.prefixes,
            reload=False,
            handler_defaults=project.handler_defaults,
            allowed_origins=project.allowed_origins,
            loopback_origins=project.loopback_origins,
        )
        self.prefix: str = settings.url_prefix
        self._sidecar = Sidecar(settings, handlers=given)
        # What the handlers send is checked against their sends= (as under log_level debug),
        # and a message that does not fit fails the test as a handler's error does.
        self._sidecar.registry.check_sends = True
        self._folder = settings.handlers_dir if given is None else None

    async def __aenter__(self) -> Server:
        log_events()  # warnings and errors reach the `wsside` logger, which pytest shows
        events.subscribe(self._on_event)
        self._loop = asyncio.get_running_loop()
        running = _running.set(self)
        try:
            if self._folder is not None:
                _forget_modules_of(self._folder)
            await self._sidecar.start()
            failed = list(self._sidecar.registry.errors.values())
            if failed:
                raise ImportError("\n".join(_report(error) for error in failed))
            await self._sidecar.serve_tcp("127.0.0.1", 0)
        except BaseException:
            await self._stop()
            raise
        finally:
            _running.reset(running)
        host, port = self._sidecar.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        require_server_loop(self._loop)
        try:
            for client in self._clients:
                await client.close()
        finally:
            await self._stop()
        if self.errors and self._raise and exc is None:
            raise HandlerError(self.errors)

    async def connect(
        self,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        protocols: Iterable[str] = (),
        compress: bool = False,
    ) -> Client:
        """A client of `path`, below the prefix (`"/ws/chat"`), once the handshake is done
        (`on_connect` has started). `headers` go with the upgrade request (`Origin`,
        `Authorization`); a refusal raises `HandshakeRefused`. With `compress`, it offers
        permessage-deflate, as browsers do (`client.compressed` says whether it was taken)."""
        if self._session is None:
            raise RuntimeError("wsside.testing: connect() inside `async with serve(...)` only")
        require_server_loop(self._loop)
        try:
            ws = await self._session.ws_connect(
                self.url + self.prefix + path,
                params=query,
                headers=headers,
                protocols=tuple(protocols),
                max_msg_size=0,  # as a browser: no limit of the client's own
                compress=15 if compress else 0,
                timeout=aiohttp.ClientWSTimeout(ws_close=TIMEOUT),
            )
        except aiohttp.WSServerHandshakeError as exc:
            why = self._not_found(path) if exc.status == 404 else ""
            raise HandshakeRefused(path, exc.status, why) from None
        client = Client(ws, path, self._connection_at, self._finished_of)
        self._clients.append(client)
        return client

    def handler(self, pattern: str) -> Handler:
        """The served `Handler` of `pattern` (`"/ws/chat"`): `server.handler("/ws/chat")
        .broadcast(...)` reaches its connections. A module the test imports itself is another
        copy, which serves nothing."""
        hub = self._sidecar.registry.hubs.get(pattern)
        if hub is None:
            known = ", ".join(sorted(self._sidecar.registry.hubs)) or "none"
            raise KeyError(f"no Handler served here declares {pattern!r} (the patterns: {known})")
        return hub.handler

    def _not_found(self, path: str) -> str:
        """Why `path` got 404, for `HandshakeRefused`: the prefix given too, or a pattern
        close to it."""
        if self.prefix and path.startswith(self.prefix + "/"):
            return f": connect() takes the path below the prefix, {path[len(self.prefix) :]}"
        patterns = sorted(self._sidecar.registry.hubs)
        close = closest(path, patterns)
        if close is not None:
            return f": no Handler declares it; did you mean {close}?{refused_segment(close, path)}"
        return f": no Handler declares it (the patterns: {', '.join(patterns) or 'none'})"

    def _connection_at(self, client: str) -> Connection | None:
        """The open connection whose client is at `client` (`host:port`), if any."""
        for hub in self._sidecar.registry.hubs.values():
            for conn in hub.handler.connections:
                if conn._client() == client:
                    return conn
        return None

    def _finished_of(self, conn: Connection) -> asyncio.Future[None] | None:
        """What resolves once `conn`'s `on_close` has run (None: it is not served here)."""
        for session in self._sidecar.intake.sessions:
            if session.conn is conn:
                return session.finished
        return None

    def _on_event(self, event: dict[str, Any]) -> None:
        running = _running.get()
        if running is not None and running is not self:
            return  # another server's (the test's own code runs in none: the pattern decides)
        hubs = self._sidecar.registry.hubs
        if event.get("type") == "runtime_error" and event.get("pattern") in hubs:
            self.errors.append(_report(event))
        elif event.get("unfit_send") in hubs:
            self.errors.append(str(event["message"]))

    async def _stop(self) -> None:
        try:
            if self._session is not None:
                await self._session.close()
            await self._sidecar.close(timeout=TIMEOUT)
        finally:
            events.unsubscribe(self._on_event)


def _report(event: dict[str, Any]) -> str:
    headline = events.error_headline(event)
    unset = _UNSET.match(str(event.get("message")))
    if unset is not None:
        headline += f"; in a test, monkeypatch.setenv({unset[1]}, ...) before serve()"
    traceback = event.get("traceback")
    return headline + (f"\n{traceback}" if traceback else "")


def _forget_modules_of(folder: Path) -> None:
    """Drop the modules an earlier server imported from `folder` (its helpers: `_shared.py`),
    so that this one's handler files import them afresh, as a new process would."""
    root = os.path.realpath(folder) + os.sep
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.realpath(file).startswith(root):
            del sys.modules[name]
