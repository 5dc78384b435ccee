"""Declarations: what an endpoint is and how it behaves. Nothing here touches a socket.

A `Handler` is created at import time of a handler file. The runtime attaches a hub (its open
connections and rooms) to it when the file is loaded; on hot reload the hub moves to the new
declaration, so open connections keep their rooms and metadata and reach the new code.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._handler_notes import background_too_late, declared_in_a_script, warn_detached, warn_unserved
from ._places import place
from ._signatures import Callback, adapt_callback
from ._threads import may_write, off_loop_error
from .connection import room_error
from .handler_options import (
    DEFAULTABLE_OPTIONS,
    Deflate,
    check_option,
    check_responses,
    milliseconds_note,
    opt_str,
)
from .pattern import Pattern
from .responses import Broadcast, Response
from .schema import Schema

if TYPE_CHECKING:
    from ._handler_types import (
        Authenticate,
        Background,
        Endpoint,
        OnClose,
        OnConnect,
        OnControl,
        OnError,
        OnMessage,
        TransformRawData,
    )
    from .connection import Connection, Sendable
    from .responses import Match, Reply

_OnConnectT = TypeVar("_OnConnectT", bound="OnConnect")
_OnMessageT = TypeVar("_OnMessageT", bound="OnMessage")
_OnCloseT = TypeVar("_OnCloseT", bound="OnClose")
_OnErrorT = TypeVar("_OnErrorT", bound="OnError")
_OnControlT = TypeVar("_OnControlT", bound="OnControl")
_BackgroundT = TypeVar("_BackgroundT", bound="Background")
_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["Handler", "collecting"]

MiB = 1024 * 1024
# What `max_message_size` is when neither the declaration nor [defaults] sets it.
DEFAULT_MAX_MESSAGE_SIZE = 16 * MiB


# Set while a handler file is imported, to collect the handlers it declares (`collecting`).
_collector: list[Handler] | None = None


@contextlib.contextmanager
def collecting() -> Iterator[list[Handler]]:
    """Collect every `Handler` created inside the `with` block (the loader imports each
    handler file inside one)."""
    global _collector
    outer, _collector = _collector, []
    try:
        yield _collector
    finally:
        _collector = outer


class Handler:
    """One WebSocket endpoint. See README "Handler API" for every option.

    Times are seconds, sizes bytes. Callbacks may be plain functions or coroutine functions,
    given as keyword arguments or with the decorators of the same name; a callback may declare
    fewer parameters than wsside passes (`def on_close(conn)`) and gets the leading ones, as
    may `authenticate`, `transform_raw_data`, a `Response`'s functions and a background task.
    A function that cannot take what wsside passes is a TypeError here, naming its file and line.

    `receives` and `sends` declare the message types (a TypedDict, a dataclass, `str`,
    `bytes`, a union of them...; see docs/types.md): a message that does not fit `receives`
    goes to `on_error` (a `MessageTypeError`) or the error frame instead of `on_message`, and
    `wsside types` turns both into TypeScript for the browser client. A type that is not a
    message type raises TypeError here, naming the field.
    """

    def __init__(
        self,
        pattern: str,
        *,
        default_room: str | None = None,
        heartbeat: float | None = None,
        inactivity_timeout: float | None = None,
        per_message_deflate: bool | Deflate | None = None,
        subprotocols: Iterable[str] | None = None,
        authenticate: bool | str | Authenticate | None = None,
        responses: Iterable[Response] = (),
        transform_raw_data: TransformRawData | None = None,
        delay: float | None = None,
        max_message_size: int | None = None,
        error_details: bool | None = None,
        disabled: bool = False,
        receives: object = None,
        sends: object = None,
        on_connect: OnConnect | None = None,
        on_message: OnMessage | None = None,
        on_close: OnClose | None = None,
        on_error: OnError | None = None,
        on_ping: OnControl | None = None,
        on_pong: OnControl | None = None,
    ) -> None:
        frame = sys._getframe(1)
        self.file: str = frame.f_code.co_filename
        self.line: int = frame.f_lineno
        self.pattern: Pattern = Pattern(pattern)
        self.default_room: str | None = opt_str("default_room", default_room)
        # None means "not set here": the config file's [defaults] may fill it in at load time.
        given = dict(
            heartbeat=heartbeat,
            inactivity_timeout=inactivity_timeout,
            per_message_deflate=per_message_deflate,
            subprotocols=subprotocols,
            delay=delay,
            max_message_size=max_message_size,
            error_details=error_details,
        )
        self._unset = frozenset(name for name, value in given.items() if value is None)
        self.heartbeat: float | None = None
        self.inactivity_timeout: float | None = None
        self.per_message_deflate: Deflate | None = None
        self.subprotocols: tuple[str, ...] = ()
        self.delay: float = 0.0
        self.max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
        # What a raising callback's error frame says: str(exc), or only "Internal error".
        self.error_details: bool = True
        for name, value in given.items():
            if value is not None:
                setattr(self, name, check_option(name, value))
        if not (
            authenticate in (None, False, True)
            or isinstance(authenticate, str)
            or callable(authenticate)
        ):
            raise TypeError("authenticate: expected True, a header name or a function")
        if callable(authenticate):
            authenticate = adapt_callback("authenticate", authenticate)
        self.authenticate: Literal[True] | str | Callback | None = authenticate or None
        self.responses: list[Response] = check_responses(responses)
        self.transform_raw_data: Callback | None = adapt_callback(
            "transform_raw_data", transform_raw_data
        )
        if not isinstance(disabled, bool):  # disabled="no" would be true, and disable it
            raise TypeError(f"disabled: expected True or False, got {disabled!r}")
        self.disabled: bool = disabled
        # Read now, so that a type that is not a message type fails at this line.
        # Strings inside a type (`list["Json"]`) name what the declaring module defines.
        module = frame.f_globals.get("__name__")
        self.receives: Schema | None = (
            Schema(receives, "receives", module) if receives is not None else None
        )
        self.sends: Schema | None = Schema(sends, "sends", module) if sends is not None else None
        callbacks = dict(
            on_connect=on_connect,
            on_message=on_message,
            on_close=on_close,
            on_error=on_error,
            on_ping=on_ping,
            on_pong=on_pong,
        )
        self.callbacks: dict[str, Callback | None] = {
            name: adapt_callback(name, fn) for name, fn in callbacks.items()
        }
        # Each callback as given, to name where the first was when a second comes.
        self._given: dict[str, Callable[..., Any]] = {
            name: fn for name, fn in callbacks.items() if fn is not None
        }
        self.background_tasks: list[Callback] = []
        # Set when the runtime has started the background tasks: one added later never runs.
        self._tasks_started = False
        self._endpoint: Endpoint | None = None
        # Set when the runtime stops serving this declaration (its file was reloaded or
        # removed), until the first push through it is warned of.
        self._detached = False
        # Set once a push through it before any server took it has been warned of, or once
        # a server has served it (a later push is the detached case, above).
        self._unserved_warned = False
        if _collector is not None:
            _collector.append(self)
        # Last: a declaration refused above is not one the script declares.
        if frame.f_globals.get("__name__") == "__main__" and not self.file.startswith("<"):
            declared_in_a_script(self)  # a file run as a script (not `python -c`, a REPL)

    # Decorators: `@chat.on_message` is the same as `Handler(..., on_message=fn)`.
    def on_connect(self, fn: _OnConnectT) -> _OnConnectT:
        """`fn(conn, request)`: after the handshake, with `default_room` already joined."""
        return self._set("on_connect", fn)

    def on_message(self, fn: _OnMessageT) -> _OnMessageT:
        """`fn(conn, data)`: each data message no declarative rule answered, in order."""
        return self._set("on_message", fn)

    def on_close(self, fn: _OnCloseT) -> _OnCloseT:
        """`fn(conn, code, reason, initiated_by_client)`: exactly once per connection."""
        return self._set("on_close", fn)

    def on_error(self, fn: _OnErrorT) -> _OnErrorT:
        """`fn(conn, exc)`: a callback raised (without `on_error` the client gets an error
        frame), or the client broke the protocol: then `exc` is a `ProtocolError` naming the
        close code, and `on_close` follows."""
        return self._set("on_error", fn)

    def on_ping(self, fn: _OnControlT) -> _OnControlT:
        """`fn(conn, payload)`: a ping arrived; the callback decides whether to `conn.pong()`."""
        return self._set("on_ping", fn)

    def on_pong(self, fn: _OnControlT) -> _OnControlT:
        """`fn(conn, payload)`: a pong arrived."""
        return self._set("on_pong", fn)

    def _apply_defaults(self, defaults: Mapping[str, Any]) -> None:
        """Fill the options this declaration left unset from the config file's [defaults]
        (the loader calls this)."""
        for name in self._unset & defaults.keys():
            setattr(self, name, check_option(name, defaults[name]))

    def _given_options(self) -> frozenset[str]:
        """The options of `DEFAULTABLE_OPTIONS` this declaration sets itself (the ASGI app and
        doctor's `--serve` checks warn about those a server owns; a 1009 close's log line says
        whether the limit was the file's own)."""
        return frozenset(DEFAULTABLE_OPTIONS) - self._unset

    def _load_notes(self) -> list[str]:
        """What the loader warns of, each as a sentence: the durations given here that look
        like milliseconds, and the checks of `receives` that wsside does not run."""
        durations = {"heartbeat", "inactivity_timeout", "delay"} - self._unset
        notes = (milliseconds_note(name, getattr(self, name)) for name in sorted(durations))
        schema_notes = self.receives.notes if self.receives is not None else ()
        return [note for note in notes if note is not None] + list(schema_notes)

    def _set(self, name: str, fn: _F) -> _F:
        first = self._given.get(name)
        if first is not None:
            # A second one would replace the first without a word: one of them is dead code.
            raise ValueError(f"{self!r} has {name} twice: {place(first)} and {place(fn)}; keep one")
        self.callbacks[name] = adapt_callback(name, fn)
        self._given[name] = fn
        return fn

    def respond(
        self, match: Match, response: Reply, broadcast: bool | Broadcast | None = None
    ) -> None:
        """Add a declarative rule; rules are tried in the order they were added."""
        self.responses.append(Response(match, response, broadcast))

    def background(self, fn: _BackgroundT) -> _BackgroundT:
        """Run `async def fn(handler)` (or `async def fn()`) while this handler is loaded
        (e.g. a game tick).

        It starts when the file is loaded and is cancelled when the file is reloaded or removed.
        """
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                "background: expected an async function taking the handler (async def "
                f"{getattr(fn, '__name__', 'task')}(handler)); blocking work (a training loop) "
                "runs in it with await asyncio.to_thread(function, *args)"
            )
        if self._tasks_started:
            raise RuntimeError(background_too_late(self, fn, sys._getframe(1).f_globals))
        # Checked here: a task that cannot take the handler would fail as the server starts.
        task = adapt_callback("background", fn)
        assert task is not None
        self.background_tasks.append(task)
        return fn

    def _background_started(self) -> None:
        """The runtime has started this declaration's background tasks: one added now would
        never run (`background` says so)."""
        self._tasks_started = True

    def _serve_with(self, endpoint: Endpoint | None) -> None:
        """Serve this declaration's connections with `endpoint` (None: no longer served).
        The runtime calls this when the handler file is loaded, reloaded or removed."""
        self._detached = endpoint is None and self._endpoint is not None
        self._endpoint = endpoint
        if endpoint is not None:
            self._unserved_warned = True  # served once: later pushes are the detached case

    def _warn_detached(self, use: str) -> None:
        """Say, once, that code still pushes through this declaration after its file was
        reloaded (`warn_detached` says how it came to)."""
        self._detached = False
        warn_detached(self, use)

    @property
    def connections(self) -> tuple[Connection, ...]:
        """The open connections of this endpoint (empty until the sidecar serves it)."""
        return self.connections_in(None)

    def connections_in(self, room: str | None) -> tuple[Connection, ...]:
        """The open connections of this endpoint in `room` (all of them for None), in this
        process, in the order they joined; its cost is the room's size, not the endpoint's."""
        if room is not None and not isinstance(room, str):
            raise room_error(room, "handler.connections_in")
        if self._endpoint is not None:
            return self._endpoint.open_connections(room)
        if self._detached:
            self._warn_detached("was asked for its connections")
        return ()

    def _warn_unserved(self, use: str) -> None:
        """Warn, once, of a push through this declaration while no server has ever served it
        (`warn_unserved` says why that is, and names the caller's line)."""
        if not self._unserved_warned:
            self._unserved_warned = True
            warn_unserved(self, use)

    def broadcast(self, data: Sendable, room: str | None = None) -> None:
        """Send to every connection of this endpoint, or to one room of it (with a backplane,
        in every process). On the event loop's thread: another thread hands the call over
        (`anyio.from_thread.run_sync`, `loop.call_soon_threadsafe`)."""
        if room is not None and not isinstance(room, str):
            raise room_error(room, "handler.broadcast")
        if (endpoint := self._endpoint) is not None:
            if not may_write(endpoint.thread):
                raise off_loop_error(repr(self), "broadcast", "handler.broadcast, data")
            endpoint.broadcast(data, room)
        elif self._detached:
            self._warn_detached("was broadcast to")
        else:
            self._warn_unserved("was broadcast to")

    def __repr__(self) -> str:
        # The pattern as every message shows it: `{room:[\w-]+}`, not repr's `[\\w-]+`.
        return f"Handler('{self.pattern.source}')"
