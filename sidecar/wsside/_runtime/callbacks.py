"""Running user code: one data message through the handler, and the error policy around
every callback.

A callback that raises gets the error policy: `on_error(conn, exc)` if the handler has one,
else the client gets `{"type": "error", "message": ...}` (unless its `sends=` is all bytes,
str and string literals: `sends_error_frame`); either way the traceback is reported (Vite's
terminal and overlay, or the console). `on_error` or `on_close` raising is only reported. The
session decides what a failed `on_connect` means (close 1011).

A message that does not fit the handler's `receives` gets the same policy with a
`MessageTypeError`, reported as a warning line: the page sent it, no handler code failed
(the check and the line: `message_fit.py`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from types import FrameType
from typing import TYPE_CHECKING, Any

from .._message_tree import options_of
from .._protocol.codec import decode_text
from ..schema import Literals, MessageTypeError, Node, Scalar, Schema
from .callback_notes import refused_too_late, returned
from .cancels import cancelled_here
from .events import log, report_runtime_error, shown
from .message_fit import against_receives, warn_refused
from .unanswered import unanswered

if TYPE_CHECKING:
    from ..connection import Connection
    from ..handler import Handler
    from ..responses import Response

__all__ = [
    "USER_ERRORS",
    "error_frame",
    "is_error_frame",
    "message_now",
    "run_callback",
    "run_message",
    "sends_error_frame",
    "stuck_warning",
]

# What user code may raise and still only fail its callback. SystemExit belongs here: argparse,
# click and others call sys.exit() on bad input, and out of a callback it would end the whole
# server; `on_error` and the report get it as a RuntimeError (`_as_error`). (KeyboardInterrupt
# keeps its meaning, and so does CancelledError while the task is being cancelled: `_caught`.)
USER_ERRORS: tuple[type[BaseException], ...] = (Exception, SystemExit)
_OR_CANCELLED = (*USER_ERRORS, asyncio.CancelledError)

# What reports call a failing `Response` rule's function: `error in a Response of ws/x.py:7`.
A_RESPONSE = "a Response"

_UNREAD: Any = object()  # `message_now` without `data`: the message is still to be read


def _caught() -> tuple[type[BaseException], ...]:
    """What the callbacks' `except` clauses catch, worked out only once something was raised:
    USER_ERRORS, and a CancelledError of something the callback awaited (`cancels.py`)."""
    return USER_ERRORS if cancelled_here() else _OR_CANCELLED


async def run_message(conn: Connection, handler: Handler, raw: str | bytes) -> None:
    """transform_raw_data (or JSON decoding), delay, the `receives` check, then the rules and
    `on_message` as `message_now` runs them."""
    try:
        if handler.transform_raw_data is not None:
            try:
                data = await _maybe(handler.transform_raw_data(raw))
            except _caught() as exc:  # said as the transform's, not on_message's
                await _fail(conn, handler, exc, "transform_raw_data")
                return
        elif isinstance(raw, str):
            data = decode_text(raw)
        else:
            data = raw
        if handler.delay:
            await asyncio.sleep(handler.delay)
        if handler.receives is not None:
            data, problem = against_receives(handler, raw, data)
            if problem is not None:
                await _refuse(conn, handler, MessageTypeError(problem))
                return
    except _caught() as exc:  # the error policy decides what the client sees
        await _fail(conn, handler, exc, "on_message")
        return
    rest = message_now(conn, handler, raw, data)
    if rest is not None:
        await rest


def message_now(
    conn: Connection, handler: Handler, raw: str | bytes, data: Any = _UNREAD, first: int = 0
) -> Coroutine[Any, Any, None] | None:
    """`run_message` without a coroutine, for handlers whose message path is all plain
    functions (`Hub.messages_inline`): runs it to the end and returns None, or returns what is
    left to await (an awaitable a match or callback returned, or the error policy).

    It is also the one place the first matching rule, else `on_message`, answers a message:
    `run_message` passes the message it has read (`data`), and once a match has returned an
    awaitable that came false, `first` is the rule to go on from. On the inline path (no
    `data`), nothing is allocated until a match or a callback returns an awaitable."""
    try:
        if data is _UNREAD:
            if handler.transform_raw_data is not None:
                try:
                    data = handler.transform_raw_data(raw)
                except _caught() as exc:  # said as the transform's, not on_message's
                    return _fail(conn, handler, exc, "transform_raw_data")
            elif type(raw) is str:
                data = decode_text(raw)
            else:
                data = raw
            if handler.receives is not None:
                data, problem = against_receives(handler, raw, data)
                if problem is not None:
                    return _refuse(conn, handler, MessageTypeError(problem))
        rules = handler.responses
        if rules:
            for index in range(first, len(rules)):
                rule = rules[index]
                try:
                    fits = rule._matches(conn, data)
                except _caught() as exc:  # said as the rule's, not on_message's
                    return _fail(conn, handler, exc, A_RESPONSE)
                if inspect.isawaitable(fits):  # a plain function that called an async one
                    rest = _after_awaited_match(conn, handler, raw, data, index, fits)
                    return _finish_message(conn, handler, rest)
                if fits:
                    return _respond(conn, handler, rule, data)
        fn = handler.callbacks["on_message"]
        if fn is None:
            if rules:
                unanswered(handler, data)
            return None
        result = fn(conn, data)
    except _caught() as exc:  # the error policy decides what the client sees
        return _fail(conn, handler, exc, "on_message")
    if result is None:
        return None
    if not inspect.isawaitable(result):
        returned(handler, result)
        return None
    return _finish_message(conn, handler, result)


async def _finish_message(conn: Connection, handler: Handler, pending: Awaitable[Any]) -> None:
    try:
        result = await pending
    except _caught() as exc:  # the error policy decides what the client sees
        await _fail(conn, handler, exc, "on_message")
        return
    if result is not None:
        returned(handler, result)


async def _after_awaited_match(
    conn: Connection,
    handler: Handler,
    raw: str | bytes,
    data: Any,
    index: int,
    fits: Awaitable[Any],
) -> None:
    """Rule `index`'s match returned an awaitable (`fits`): its rule answers if it comes true,
    else `message_now` goes on from the next rule."""
    try:
        fits = await fits
    except _caught() as exc:  # said as the rule's, not on_message's
        return await _fail(conn, handler, exc, A_RESPONSE)
    if fits:
        return await _respond(conn, handler, handler.responses[index], data)
    rest = message_now(conn, handler, raw, data, index + 1)
    if rest is not None:
        await rest


async def _respond(conn: Connection, handler: Handler, rule: Response, data: Any) -> None:
    """The rule's reply to `data`; what fails in it is reported as the rule's (a `Response`
    is declared where no callback is named), with the same error policy."""
    reply: Any = rule.response  # Response made every function take (conn, msg)
    try:
        if callable(reply):
            reply = await _maybe(reply(conn, data))
        if reply is None:
            return
        target = rule.broadcast
        if target is True:
            conn.broadcast_all_rooms(reply)
        elif target:
            conn.broadcast(reply, room=target.room, include_self=target.include_self)
        else:
            await conn.send(reply)
    except _caught() as exc:  # the error policy decides what the client sees
        await _fail(conn, handler, exc, A_RESPONSE)


async def run_callback(
    conn: Connection,
    handler: Handler,
    name: str,
    fn: Callable[..., Any],
    *args: Any,
    report_only: bool = False,
) -> bool:
    """Run one callback; on error apply the error policy (or, with `report_only`, only report
    it). True when it succeeded."""
    try:
        result = await _maybe(fn(*args))
    except _caught() as exc:  # user code may raise anything
        if report_only:
            _report(conn, handler, _as_error(exc, name), name)
        else:
            await _fail(conn, handler, exc, name)
        return False
    if result is False and name == "on_connect":
        refused_too_late(handler, fn)
    return True


async def _refuse(conn: Connection, handler: Handler, exc: MessageTypeError) -> None:
    warn_refused(conn, handler, exc)
    await _answer(conn, handler, exc)


def _where(handler: Handler) -> str:
    return f"{shown(handler.file)}:{handler.line}"


async def _fail(conn: Connection, handler: Handler, exc: BaseException, where: str) -> None:
    error = _as_error(exc, where)
    _report(conn, handler, error, where)
    await _answer(conn, handler, error)


def _as_error(exc: BaseException, where: str) -> Exception:
    """`exc` as the Exception that `on_error` is typed to get: a SystemExit or CancelledError
    (the others `_caught` catches) becomes a RuntimeError saying so, raised where it was."""
    if isinstance(exc, Exception):
        return exc
    if isinstance(exc, asyncio.CancelledError):
        error = RuntimeError(f"{where} raised CancelledError: something it awaited was cancelled")
    else:
        code = exc.code if isinstance(exc, SystemExit) else None
        error = RuntimeError(f"{where} called sys.exit({code!r})")
    return error.with_traceback(exc.__traceback__)


async def _answer(conn: Connection, handler: Handler, exc: Exception) -> None:
    """The error policy: `on_error(conn, exc)`, else the error frame (if it is one of the
    endpoint's messages)."""
    on_error = handler.callbacks["on_error"]
    if on_error is None:
        # A look at sends='s options that only a failure pays for, never a message.
        if sends_error_frame(handler.sends):
            # What was wrong with the client's own message is always said; the rest may carry
            # what a client must not see (a database URL in a connection error, say).
            said = handler.error_details or isinstance(exc, MessageTypeError)
            conn.send(error_frame(str(exc) if said else "Internal error"))
        return
    try:
        await _maybe(on_error(conn, exc))
    except _caught() as again:  # on_error failing must never crash anything
        _report(conn, handler, _as_error(again, "on_error"), "on_error")


def error_frame(message: str) -> dict[str, str]:
    """What a handler without `on_error` sends for a callback that raised or a message that
    does not fit `receives=` (unless `sends_error_frame` says no): part of what its endpoint
    sends (the client's `ErrorFrame`)."""
    return {"type": "error", "message": message}


def sends_error_frame(sends: Schema | None) -> bool:
    """Whether a handler without `on_error` that declares `sends` answers a failure with the
    error frame (and `wsside types` adds `ErrorFrame` to its `Sends`): not when every option
    of `sends` is bytes, str or a Literal of strings (sent as text as a str is), a binary or
    plain-text protocol of which a JSON object is no message (y-websocket fails on one); the
    report is the same either way."""
    if sends is None:
        return True
    return not all(_plain(option) for option in options_of(sends.node))


def _plain(node: Node) -> bool:
    """Whether `node` is sent as raw bytes or text, never as JSON."""
    if isinstance(node, Literals):
        return all(isinstance(value, str) for value in node.values)
    return isinstance(node, Scalar) and node.kind in ("bytes", "str")


def is_error_frame(data: object) -> bool:
    return (
        isinstance(data, dict)
        and data.keys() == {"type", "message"}
        and data["type"] == "error"
        and isinstance(data["message"], str)
    )


def _report(conn: Connection, handler: Handler, exc: BaseException, where: str) -> None:
    report_runtime_error(handler, exc, where, conn.path, conn._client())


def stuck_warning(
    conn: Connection, handler: Handler, frames: list[FrameType], when: str, dropped: int
) -> None:
    """Report a callback cancelled because it was still running `when` (`5 s after the
    connection closed`), at the line of the handler file it is waiting in, and the `dropped`
    messages queued behind it."""
    mine = [f for f in frames if f.f_code.co_filename == handler.file] or frames
    where = f" at {shown(mine[-1].f_code.co_filename)}:{mine[-1].f_lineno}" if mine else ""
    cancelled = "it was cancelled"
    if dropped:
        queued = (
            f"the {dropped} messages queued after it were"
            if dropped > 1
            else "the message queued after it was"
        )
        cancelled += f", and {queued} dropped"
    log(
        f"a callback of {conn.path} was still running {when}{where}; {cancelled}",
        "warning",
    )


async def _maybe(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
