"""A message against its handler's declared types, and the warnings when one does not fit.

`callbacks.py` reads each message from the page against `receives=` (`against_receives`) and
warns about one that does not fit (`warn_refused`) before the error policy answers it. The
hub checks each message sent against `sends=` in debug mode, and `warn_unfit_send` says where
one that does not fit was sent.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

from .._message_tree import options_of
from ..schema import Scalar
from .events import emit, log, shown
from .repeats import REPEAT_WINDOW, Repeats

if TYPE_CHECKING:
    from ..connection import Connection
    from ..handler import Handler
    from ..schema import MessageTypeError, Schema

__all__ = ["against_receives", "warn_refused", "warn_unfit_send"]


def against_receives(handler: Handler, raw: str | bytes, data: Any) -> tuple[Any, str | None]:
    """The message as `on_message` gets it, and what does not fit `receives` (None: it fits)."""
    schema = handler.receives
    assert schema is not None  # the callers ask only handlers that declare it
    problem = schema.check(data)
    if problem is not None and handler.transform_raw_data is None:
        if _fits_as_sent(schema, raw, data):
            return raw, None
        problem = _wrong_kind(schema, raw) or problem
    return data, problem


def _fits_as_sent(schema: Schema, raw: str | bytes, data: Any) -> bool:
    """Whether the text as sent fits where its JSON reading did not: a page that sends the
    string "42" sends the same frame as one that sends the number 42, and a type that takes
    str takes it as the string."""
    return isinstance(raw, str) and data is not raw and schema.check(raw) is None


def _wrong_kind(schema: Schema, raw: str | bytes) -> str | None:
    """The problem in the wire's words when `schema` takes no message of `raw`'s kind: text
    where it takes only binary (`expected bytes, got dict` would name the JSON reading of the
    text, which the page never sent), binary where it takes only text."""
    binary = [isinstance(o, Scalar) and o.kind == "bytes" for o in options_of(schema.node)]
    if isinstance(raw, str):
        return "expected a binary message, got text" if all(binary) else None
    return None if any(binary) else "expected a text message, got binary"


def _more_unfit(count: int, last: str) -> str:
    messages = "1 more message" if count == 1 else f"{count} more messages"
    return (
        f"refused {messages} that did not fit receives= in the last {REPEAT_WINDOW:g} s "
        f"(the last: {last})"
    )


# A client decides how many misfits it sends: the first few distinct lines are written, the
# rest counted, one line per window.
_unfit = Repeats(lambda line: log(line, "warning"), _more_unfit, named=5)


def warn_refused(conn: Connection, handler: Handler, exc: MessageTypeError) -> None:
    """The warning line of a message from `conn`'s client that does not fit `receives`."""
    client = conn._client()
    _unfit.add(
        f"{conn.path}: refused a message from {client} that does not fit receives= "
        f"({_where(handler)}): {exc}",
        f"{conn.path} from {client}: {exc}",
    )


def warn_unfit_send(handler: Handler, problem: str) -> None:
    """Report an outgoing message that does not fit `sends` (debug mode), at the line of the
    handler file that sent it when that file is on the stack."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename != handler.file:
        frame = frame.f_back
    where = f"{shown(handler.file)}:{frame.f_lineno}" if frame is not None else _where(handler)
    message = (
        f"{handler.pattern.source}: a message sent at {where} does not fit "
        f"sends=: {problem} (it was sent anyway)"
    )
    # `unfit_send` names the pattern for wsside.testing, which fails the test with it.
    emit(
        {
            "type": "log",
            "level": "warning",
            "message": message,
            "unfit_send": handler.pattern.source,
        }
    )


def _where(handler: Handler) -> str:
    return f"{shown(handler.file)}:{handler.line}"
