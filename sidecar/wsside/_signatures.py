"""Callbacks as wsside calls them: what each one is passed, and how a callback that declares
fewer parameters (`def on_close(conn)`) gets the leading ones, decided once when it is given.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ._places import place

__all__ = [
    "CALLBACK_ARGUMENTS",
    "Callback",
    "adapt_callback",
    "connection_first_note",
    "optional_callable",
]

Callback = Callable[..., Any]

# What wsside passes each callback (and each other function a declaration takes), in order. As
# in JavaScript, a callback may declare fewer parameters (`def on_close(conn)`): it gets the
# leading ones.
CALLBACK_ARGUMENTS = {
    "on_connect": ("conn", "request"),
    "on_message": ("conn", "data"),
    "on_close": ("conn", "code", "reason", "initiated_by_client"),
    "on_error": ("conn", "exc"),
    "on_ping": ("conn", "payload"),
    "on_pong": ("conn", "payload"),
    "authenticate": ("request",),
    "transform_raw_data": ("raw",),
    "background": ("handler",),
    "Response(match=...)": ("conn", "msg"),
    "Response(response=...)": ("conn", "msg"),
}


def adapt_callback(name: str, fn: object) -> Callback | None:
    """`fn` as the runtime calls it: itself when it takes every argument, else a wrapper that
    passes the leading ones (decided once here, so calls cost nothing extra). A signature
    that cannot take what wsside passes is a TypeError naming the function's file and line."""
    fn = optional_callable(name, fn)
    if fn is None:
        return None
    passed = CALLBACK_ARGUMENTS[name]
    own = inspect.unwrap(fn)
    if not inspect.isroutine(own) and not isinstance(own, functools.partial):
        own = type(own).__call__  # an instance (callable, checked above): its class's
    if inspect.isgeneratorfunction(own) or inspect.isasyncgenfunction(own):
        # Calling one runs none of its body: wsside would drop the generator it returns.
        if name == "background":
            instead = "broadcast each value with handler.broadcast(...)"
        elif passed[0] == "conn":
            instead = "send each value with conn.send(...)"
        else:
            instead = "return the value"
        raise TypeError(
            f"{name}: {_where(fn)} is a generator (it has yield), and calling one runs none of "
            f"its body: {instead} in place of yield"
        )
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some builtins): call it as is
        return fn
    taken = required = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            return fn
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            taken += 1
            required += p.default is p.empty
        elif p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            raise TypeError(
                f"{name}: {_where(fn)} has a required keyword-only parameter {p.name!r}; "
                f"wsside passes ({', '.join(passed)})"
            )
    if required > len(passed):
        raise TypeError(
            f"{name}: {_where(fn)} requires {required} parameters; wsside passes "
            f"{len(passed)} ({', '.join(passed)})"
        )
    return fn if taken >= len(passed) else _leading(fn, taken)


# Names that read as what a callback taking `(conn, x, ...)` gets after the connection: a
# one-parameter callback named so (`def message(data)`) means that value, but gets `conn`.
_MESSAGE_NAMES = frozenset(
    ("data", "msg", "message", "payload", "text", "body", "event", "frame", "json")
)
_AFTER_CONN_NAMES = {
    "on_connect": frozenset(("request", "req")),
    "on_close": frozenset(("code", "reason")),
    "on_error": frozenset(("exc", "e", "err", "error", "exception")),
    "on_ping": frozenset(("payload", "data")),
    "on_pong": frozenset(("payload", "data")),
}


def connection_first_note(name: str, fn: Callback | None) -> str | None:
    """A warning for the callback `name` given as `fn` when it takes one parameter whose name
    reads as what comes after the connection (`def message(data)` as `on_message`): it gets
    the connection there, and fails later on it (`'Connection' object is not subscriptable`).
    None for any other function."""
    passed = CALLBACK_ARGUMENTS.get(name, ())
    if fn is None or len(passed) < 2 or passed[0] != "conn":
        return None
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) != 1 or any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    param = positional[0].name
    if param not in _MESSAGE_NAMES | _AFTER_CONN_NAMES.get(name, frozenset()) | set(passed[1:]):
        return None
    own = getattr(inspect.unwrap(fn), "__name__", "")
    is_def = own.isidentifier()  # else a lambda
    fix = f"def {own}(conn, {param})" if is_def else f"lambda conn, {param}: ..."
    if name in _AFTER_CONN_NAMES or name == "on_message":
        what = f"{name}({param})"
    else:  # a Response's function: `Response(match=...) function is_ping(msg)`
        what = f"{name} function " + (f"{own}({param})" if is_def else f"lambda {param}")
    return (
        f"{what} at {place(fn)} gets the connection first: wsside passes "
        f"({', '.join(passed)}); write {fix}"
    )


def _leading(fn: Callback, count: int) -> Callback:
    # A coroutine function stays one, so the runtime still runs it in a task.
    if inspect.iscoroutinefunction(fn):

        async def call_async(*args: Any) -> Any:
            return await fn(*args[:count])

        return functools.update_wrapper(call_async, fn)

    def call(*args: Any) -> Any:
        return fn(*args[:count])

    return functools.update_wrapper(call, fn)


def _where(fn: Callback) -> str:
    """`name() at ws/chat.py:12` for a function, else its repr."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return repr(fn) if code is None else f"{code.co_name}() at {place(fn)}"


def optional_callable(name: str, fn: object) -> Callback | None:
    if fn is not None and not callable(fn):
        raise TypeError(f"{name}: expected a function, got {type(fn).__name__}")
    return fn
