"""Declarations, for type checkers only: what each function a `Handler` takes may be.

What wsside passes, or fewer leading parameters (see `_signatures`); sync or async (a
coroutine is an object).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._threads import ThreadMark
    from .connection import Connection
    from .handler import Handler
    from .request import Request

    OnConnect: TypeAlias = (
        Callable[[Connection, Request], object]
        | Callable[[Connection], object]
        | Callable[[], object]
    )
    OnMessage: TypeAlias = (
        Callable[[Connection, Any], object] | Callable[[Connection], object] | Callable[[], object]
    )
    OnClose: TypeAlias = (
        Callable[[Connection, int, str, bool], object]
        | Callable[[Connection, int, str], object]
        | Callable[[Connection, int], object]
        | Callable[[Connection], object]
        | Callable[[], object]
    )
    # A callback's `sys.exit()` reaches on_error as a RuntimeError (`_runtime/callbacks.py`).
    OnError: TypeAlias = (
        Callable[[Connection, Exception], object]
        | Callable[[Connection], object]
        | Callable[[], object]
    )
    OnControl: TypeAlias = (
        Callable[[Connection, bytes], object]
        | Callable[[Connection], object]
        | Callable[[], object]
    )
    # What `authenticate` may return: False or None refuse, a mapping is merged into
    # `conn.metadata` (another object would accept and be dropped: wsside warns at run time).
    Verdict: TypeAlias = bool | Mapping[str, Any] | None
    Authenticate: TypeAlias = (
        Callable[[Request], Verdict | Awaitable[Verdict]]
        | Callable[[], Verdict | Awaitable[Verdict]]
    )
    TransformRawData: TypeAlias = Callable[[str | bytes], object] | Callable[[], object]
    Background: TypeAlias = (
        Callable[[Handler], Coroutine[Any, Any, object]] | Callable[[], Coroutine[Any, Any, object]]
    )


class Endpoint(Protocol):
    """What serves a handler's connections (the runtime's hub), for server-side push."""

    # the thread that writes to its connections, while it has any
    thread: ThreadMark | None

    def open_connections(self, room: str | None = None) -> tuple[Connection, ...]: ...

    def broadcast(
        self, data: object, room: str | None = None, exclude: Connection | None = None
    ) -> int: ...
