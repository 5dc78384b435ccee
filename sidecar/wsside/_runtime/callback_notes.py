"""What the runtime says of a callback's return value that nothing uses, once per handler: an
`on_message` that returns a value (a reply that is never sent), an `on_connect` that returns
False (python-socketio's refusal, which leaves the connection open)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._places import place
from .events import log, shown

if TYPE_CHECKING:
    from ..handler import Handler

__all__ = ["refused_too_late", "returned"]


# Handlers whose on_message was seen returning a value (`returned`): said once each.
_returning: weakref.WeakSet[Handler] = weakref.WeakSet()


def returned(handler: Handler, value: object) -> None:
    """Say, once per handler, that its on_message returned `value`, which nothing sends: a
    `return {"type": "pong"}` looks like a reply, as a `Response`'s function's is."""
    if handler in _returning:
        return
    _returning.add(handler)
    fn = handler.callbacks["on_message"]
    where = place(fn) if fn is not None else f"{shown(handler.file)}:{handler.line}"
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    log(
        f"on_message at {where} returned {article} {kind}, which wsside does not send: "
        "conn.send(...) sends it (a Response rule sends what it returns)",
        "warning",
    )


# Handlers whose on_connect was seen returning False (`refused_too_late`): said once each.
_refusing: weakref.WeakSet[Handler] = weakref.WeakSet()


def refused_too_late(handler: Handler, fn: Callable[..., Any]) -> None:
    """Say, once per handler, that its on_connect returned False, which refuses nothing (as
    python-socketio's connect handler's would): the connection stays open."""
    if handler in _refusing:
        return
    _refusing.add(handler)
    log(
        f"on_connect at {place(fn)} returned False, which does not refuse the connection (it "
        "stays open): refuse in authenticate= (False there answers the handshake with 401), "
        "or close it from on_connect with conn.close(4001, 'why')",
        "warning",
    )
