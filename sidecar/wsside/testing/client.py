"""The clients of `wsside.testing`: one WebSocket connection each, over aiohttp's client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from .._io.engine import drop_client
from .._protocol.codec import encode
from .._protocol.frames import TEXT

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = [
    "TIMEOUT",
    "Client",
    "ConnectionClosed",
    "HandshakeRefused",
    "Match",
    "require_server_loop",
]

TIMEOUT = 5.0
# What `receive_json(match=...)` waits for: the items a message must have, or a function of it.
Match = Mapping[str, Any] | Callable[[Any], bool]
# aiohttp's own words for it: "Timeout context manager should be used inside a task".
_ANOTHER_LOOP = (
    "wsside.testing: the server runs on another event loop than this test (a fixture of wider "
    "scope): mark the test with the fixture's loop scope, "
    'pytest.mark.asyncio(loop_scope="module") under pytest-asyncio'
)


def require_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Raise, in words that say what to do, unless the running loop is the server's."""
    if asyncio.get_running_loop() is not loop:
        raise RuntimeError(_ANOTHER_LOOP)


class HandshakeRefused(Exception):
    """The server answered the upgrade with an HTTP status (401 from `authenticate`, 403 for
    an Origin, 404 for a path no handler declares)."""

    def __init__(self, path: str, status: int, why: str = "") -> None:
        super().__init__(f"{path}: the handshake was refused with HTTP {status}{why}")
        self.status = status


class ConnectionClosed(Exception):
    """The connection closed where a message was expected; `code` and `reason` are the
    close frame's (1006 when the connection ended without one)."""

    def __init__(self, path: str, code: int, reason: str) -> None:
        super().__init__(f"{path}: the connection closed ({code} {reason!r}) instead of a message")
        self.code = code
        self.reason = reason


class Client:
    """One WebSocket connection of a test. `send` as `conn.send` and the browser client do
    (dicts and lists as JSON text, `str` as text, `bytes` as binary); `receive_*` wait for the
    next message, `receive_close` for the close."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse[bool],
        path: str,
        find: Callable[[str], Connection | None],
        finished: Callable[[Connection], asyncio.Future[None] | None],
    ) -> None:
        self.path = path
        self._ws = ws
        self._find = find  # the server's open connection of a client at `host:port`
        self._finished = finished  # resolves once that connection's on_close has run
        self._closed: tuple[int, str] | None = None
        self._loop = asyncio.get_running_loop()
        # Read all the time, as a browser does: pings are answered while the test awaits
        # something else (a heartbeat would otherwise close the connection), and a wait's
        # timeout is one deadline (aiohttp's own restarts at each ping it answers).
        # (Of aiohttp's messages, whose type is named differently across its versions.)
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._read())

    @property
    def connection(self) -> Connection:
        """The server's side of this client: the `Connection` its handler's callbacks get
        (`metadata`, `rooms`, `id`), while it is open."""
        address = self._ws.get_extra_info("sockname")
        found = self._find(f"{address[0]}:{address[1]}") if address else None
        if found is None:
            raise LookupError(f"{self.path}: the server has no open connection of this client")
        return found

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, or None."""
        return self._ws.protocol

    @property
    def compressed(self) -> bool:
        """Whether the server took the permessage-deflate that `connect(compress=True)`
        offered."""
        return bool(self._ws.compress)

    async def send(self, message: object) -> None:
        """Send `message` as the browser client does: a str as text, bytes as binary, anything
        else as JSON text, encoded as `conn.send` encodes it (the same TypeError for what it
        refuses, NaN among them)."""
        require_server_loop(self._loop)
        opcode, payload = encode(message)
        kind = aiohttp.WSMsgType.TEXT if opcode == TEXT else aiohttp.WSMsgType.BINARY
        await self._ws.send_frame(payload, kind)

    async def receive_json(self, *, timeout: float = TIMEOUT, match: Match | None = None) -> Any:
        """The next message, decoded from JSON. With `match` (the items a message must have,
        as a rule's dict matches, or a function of the message that says whether it is the
        one), the first that matches: the others before it are skipped, and the whole wait
        has the one `timeout`."""
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        if match is None:
            return self._decoded(await self.receive_text(timeout=timeout))
        deadline = time.monotonic() + timeout
        skipped: list[Any] = []
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                message = self._decoded(await self.receive_text(timeout=left))
            except TimeoutError:
                raise TimeoutError(
                    f"{self.path}: no message matching {_shown(match)} within {timeout} s"
                    + _skipped(skipped)
                ) from None
            if _fits(match, message):
                return message
            skipped.append(message)

    async def receive_text(self, *, timeout: float = TIMEOUT) -> str:
        """The next message, which must be text (`ConnectionClosed` once the server closed,
        `TimeoutError` when none comes within `timeout` s)."""
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        message = await self._message(timeout)
        if not isinstance(message, str):
            raise AssertionError(f"{self.path}: expected a text message, got binary {message!r}")
        return message

    async def receive_bytes(self, *, timeout: float = TIMEOUT) -> bytes:
        """The next message, which must be binary (`ConnectionClosed` once the server closed,
        `TimeoutError` when none comes within `timeout` s)."""
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        message = await self._message(timeout)
        if not isinstance(message, bytes):
            raise AssertionError(
                f"{self.path}: expected a binary message, got the text {message!r}"
            )
        return message

    async def receive_close(self, *, timeout: float = TIMEOUT) -> tuple[int, str]:
        """The server's close frame as (code, reason); a message before it fails the test."""
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        if self._closed is None:
            message = await self._next(timeout, "close frame")
            if message is not None:
                raise AssertionError(f"{self.path}: expected the close, got {message!r}")
        assert self._closed is not None
        return self._closed

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client's side and wait for the server's answer (its `on_close` has
        run by then); nothing to do once closed."""
        if self._closed is not None and self._reader.done():
            return
        require_server_loop(self._loop)
        if self._closed is None:
            self._closed = (code, reason)
            await self._ws.close(code=code, message=reason.encode())
        if not self._reader.done():
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass

    async def drop(self) -> None:
        """End the connection without a close frame, as a client that crashes, is killed or
        loses its network does, and wait until the server's `on_close` has run (its code is
        1006); nothing to do once closed."""
        if self._reader.done():  # it ended already: the server's close (still to be read), or ours
            return
        require_server_loop(self._loop)
        try:
            finished = self._finished(self.connection)
        except LookupError:  # the server closed it meanwhile: there is no on_close to wait for
            finished = None
        self._closed = (1006, "")
        drop_client(self._ws)
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass
        if finished is not None:
            try:
                await asyncio.wait_for(asyncio.shield(finished), TIMEOUT)
            except asyncio.TimeoutError:
                raise TimeoutError(
                    f"{self.path}: the server's on_close did not end within {TIMEOUT} s of the drop"
                ) from None

    async def _read(self) -> None:
        """Move each message into the inbox until the connection ends (its close, or the end
        of its reading when `close` closes it)."""
        while True:
            message = await self._ws.receive()
            self._inbox.put_nowait(message)
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return

    def _decoded(self, text: str) -> Any:
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        try:
            return json.loads(text)
        except ValueError:
            raise AssertionError(f"{self.path}: expected JSON, got the text {text!r}") from None

    async def _message(self, timeout: float) -> str | bytes:
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        message = None if self._closed else await self._next(timeout, "message")
        if message is None:
            assert self._closed is not None
            raise ConnectionClosed(self.path, *self._closed)
        return message

    async def _next(self, timeout: float, wanted: str) -> str | bytes | None:
        """The next message, or None once the connection closed (`_closed` says how)."""
        __tracebackhide__ = True  # pytest shows the test's line, not these frames
        require_server_loop(self._loop)
        try:
            message = await asyncio.wait_for(self._inbox.get(), timeout)
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


def _fits(match: Match, message: Any) -> bool:
    if callable(match):
        return bool(match(message))
    return isinstance(message, dict) and all(
        key in message and message[key] == value for key, value in match.items()
    )


def _shown(match: Match) -> str:
    return (
        f"{getattr(match, '__name__', 'the function')}()" if callable(match) else repr(dict(match))
    )


def _skipped(messages: list[Any]) -> str:
    """`; skipped 7: {...}, {...}, {...} …` (the first three), or nothing."""
    if not messages:
        return ""
    shown = ", ".join(repr(m) for m in messages[:3])
    return f"; skipped {len(messages)}: {shown}{' …' if len(messages) > 3 else ''}"
