"""Test your handlers: the engine of `wsside serve` and Vite's sidecar, in the test's own event
loop on a free loopback port, and clients that speak JSON.

    from wsside.testing import serve

    async def test_a_message_reaches_the_room():
        async with serve() as server:  # what `wsside serve` would serve here
            ada = await server.connect("/ws/chat", query={"username": "Ada"})
            bob = await server.connect("/ws/chat", query={"username": "Bob"})
            await ada.send({"type": "chat", "room": "general", "text": "hi"})
            assert (await bob.receive_json())["text"] == "hi"

Leaving the block closes every client (code 1000: each `on_close` runs), then the server,
and fails the test with `HandlerError` when a callback or background task of the handlers
raised meanwhile (`serve(..., raise_errors=False)` keeps the reports in `server.errors`
instead). Every wait has a timeout (5 s unless given) and says what it waited for.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from ._edge.asgi_setup import log_events
from ._edge.server import Sidecar
from ._runtime import events
from ._runtime.config import build_settings
from ._runtime.config_keys import PREFIX_EXPECTED, is_prefix_path
from ._runtime.settings import Settings
from .handler import Handler

__all__ = ["Client", "ConnectionClosed", "HandlerError", "HandshakeRefused", "Server", "serve"]

TIMEOUT = 5.0


class HandshakeRefused(Exception):
    """The server answered the upgrade with an HTTP status (401 from `authenticate`, 403 for
    an Origin, 404 for a path no handler declares)."""

    def __init__(self, path: str, status: int) -> None:
        super().__init__(f"{path}: the handshake was refused with HTTP {status}")
        self.status = status


class ConnectionClosed(Exception):
    """The connection closed where a message was expected; `code` and `reason` are the
    close frame's (1006 when the connection ended without one)."""

    def __init__(self, path: str, code: int, reason: str) -> None:
        super().__init__(f"{path}: the connection closed ({code} {reason!r}) instead of a message")
        self.code = code
        self.reason = reason


class HandlerError(AssertionError):
    """A callback or background task of the handlers raised while the server ran: each
    report as the console shows it, headline and traceback."""


def serve(
    handlers: str | os.PathLike[str] | Iterable[Handler] | None = None,
    *,
    prefix: str | None = None,
    raise_errors: bool = True,
) -> Server:
    """A test server for `async with`, set up as `wsside serve` run in the current directory
    would be: its config file (wsside.toml, or [tool.wsside] in pyproject.toml) gives the
    handlers folder, the prefix and the `[defaults]` of the folder's handlers; without one,
    `ws` and `/api`. `handlers` (a folder, or `Handler` objects) and `prefix` override it."""
    return Server(handlers, prefix=prefix, raise_errors=raise_errors)


class Server:
    """What `serve` gives: `connect` clients; `handler(pattern)` for the served `Handler`
    (to broadcast from the test); `url` (`http://127.0.0.1:PORT`) for clients of your own."""

    def __init__(
        self,
        handlers: str | os.PathLike[str] | Iterable[Handler] | None,
        *,
        prefix: str | None,
        raise_errors: bool,
    ) -> None:
        self.errors: list[str] = []
        self.url = ""
        self._raise = raise_errors
        self._clients: list[Client] = []
        self._session: aiohttp.ClientSession | None = None
        given: list[Handler] | None = None
        folder: Path | None = None
        if isinstance(handlers, (str, os.PathLike)):
            folder = Path(handlers)
        elif handlers is not None:
            if isinstance(handlers, Handler) or not isinstance(handlers, Iterable):
                raise TypeError(
                    f"wsside.testing.serve({handlers!r}): expected a folder or a list of "
                    "Handler objects (for one handler: [handler])"
                )
            given = list(handlers)
            for handler in given:
                if not isinstance(handler, Handler):
                    raise TypeError(f"wsside.testing.serve: {handler!r} is not a Handler")
        if prefix is not None and not is_prefix_path(prefix):
            raise ValueError(f"wsside.testing.serve(prefix={prefix!r}): expected {PREFIX_EXPECTED}")
        project = build_settings({"handlers_dir": folder}, search=[Path.cwd()])
        if given is None and not project.handlers_dir.is_dir():
            raise FileNotFoundError(
                f"wsside.testing.serve: no handlers folder at {project.handlers_dir.resolve()}"
            )
        settings = Settings(
            handlers_dir=project.handlers_dir if given is None else Path.cwd(),
            prefixes=(prefix,) if prefix is not None else project.prefixes,
            reload=False,
            handler_defaults=project.handler_defaults,
        )
        self._prefix = settings.url_prefix
        self._sidecar = Sidecar(settings, handlers=given)

    async def __aenter__(self) -> Server:
        log_events()  # warnings and errors reach the `wsside` logger, which pytest shows
        events.subscribe(self._on_event)
        try:
            await self._sidecar.start()
            failed = list(self._sidecar.registry.errors.values())
            if failed:
                raise ImportError("\n".join(_report(error) for error in failed))
            await self._sidecar.serve_tcp("127.0.0.1", 0)
        except BaseException:
            await self._stop()
            raise
        host, port = self._sidecar.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            for client in self._clients:
                await client.close()
        finally:
            await self._stop()
        if self.errors and self._raise and exc is None:
            raise HandlerError(
                f"{len(self.errors)} error(s) in the handlers during the test:\n\n"
                + "\n\n".join(self.errors)
            )

    async def connect(
        self,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        protocols: Iterable[str] = (),
    ) -> Client:
        """A client of `path`, below the prefix (`"/ws/chat"`), once the handshake is done
        (`on_connect` has started). `headers` go with the upgrade request (`Origin`,
        `Authorization`); a refusal raises `HandshakeRefused`."""
        if self._session is None:
            raise RuntimeError("wsside.testing: connect() inside `async with serve(...)` only")
        try:
            ws = await self._session.ws_connect(
                self.url + self._prefix + path,
                params=query,
                headers=headers,
                protocols=tuple(protocols),
                max_msg_size=0,  # as a browser: no limit of the client's own
                timeout=aiohttp.ClientWSTimeout(ws_close=TIMEOUT),
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise HandshakeRefused(path, exc.status) from None
        client = Client(ws, path)
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

    def _on_event(self, event: dict[str, Any]) -> None:
        if (
            event.get("type") == "runtime_error"
            and event.get("pattern") in self._sidecar.registry.hubs
        ):
            self.errors.append(_report(event))

    async def _stop(self) -> None:
        try:
            if self._session is not None:
                await self._session.close()
            await self._sidecar.close(timeout=TIMEOUT)
        finally:
            events.unsubscribe(self._on_event)


def _report(event: dict[str, Any]) -> str:
    traceback = event.get("traceback")
    return events.error_headline(event) + (f"\n{traceback}" if traceback else "")


class Client:
    """One WebSocket connection of a test. `send` as `conn.send` and the browser client do
    (dicts and lists as JSON text, `str` as text, `bytes` as binary); `receive_*` wait for the
    next message, `receive_close` for the close."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool], path: str) -> None:
        self.path = path
        self._ws = ws
        self._closed: tuple[int, str] | None = None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, or None."""
        return self._ws.protocol

    async def send(self, message: object) -> None:
        if isinstance(message, str):
            await self._ws.send_str(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            await self._ws.send_bytes(bytes(message))
        else:
            await self._ws.send_str(json.dumps(message, separators=(",", ":"), ensure_ascii=False))

    async def receive_json(self, timeout: float = TIMEOUT) -> Any:
        text = await self.receive_text(timeout)
        try:
            return json.loads(text)
        except ValueError:
            raise AssertionError(f"{self.path}: expected JSON, got the text {text!r}") from None

    async def receive_text(self, timeout: float = TIMEOUT) -> str:
        message = await self._message(timeout)
        if not isinstance(message, str):
            raise AssertionError(f"{self.path}: expected a text message, got binary {message!r}")
        return message

    async def receive_bytes(self, timeout: float = TIMEOUT) -> bytes:
        message = await self._message(timeout)
        if not isinstance(message, bytes):
            raise AssertionError(
                f"{self.path}: expected a binary message, got the text {message!r}"
            )
        return message

    async def receive_close(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """The server's close frame as (code, reason); a message before it fails the test."""
        if self._closed is None:
            message = await self._next(timeout, "close frame")
            if message is not None:
                raise AssertionError(f"{self.path}: expected the close, got {message!r}")
        assert self._closed is not None
        return self._closed

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client's side and wait for the server's answer (its `on_close` has
        run by then); nothing to do once closed."""
        if self._closed is None:
            self._closed = (code, reason)
            await self._ws.close(code=code, message=reason.encode())

    async def _message(self, timeout: float) -> str | bytes:
        message = None if self._closed else await self._next(timeout, "message")
        if message is None:
            assert self._closed is not None
            raise ConnectionClosed(self.path, *self._closed)
        return message

    async def _next(self, timeout: float, wanted: str) -> str | bytes | None:
        """The next message, or None once the connection closed (`_closed` says how)."""
        try:
            message = await self._ws.receive(timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.path}: no {wanted} within {timeout} s") from None
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            data: str | bytes = message.data
            return data
        if message.type is aiohttp.WSMsgType.CLOSE:
            self._closed = (int(message.data), str(message.extra or ""))
        else:  # CLOSED, CLOSING or ERROR: it ended without a close frame of the server's
            self._closed = (self._ws.close_code or 1006, "")
        return None
