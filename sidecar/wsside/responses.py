"""Declarations: declarative responses, the rules that answer messages without code
(`Handler(responses=[...])`, `handler.respond(...)`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._js_options import as_call
from ._signatures import adapt_callback

if TYPE_CHECKING:
    from typing import TypeAlias

    from .connection import Connection, Sendable

    # A rule's functions: `fn(conn, msg)`, or fewer leading parameters; sync or async.
    RuleFunction: TypeAlias = (
        Callable[[Connection, Any], object] | Callable[[Connection], object] | Callable[[], object]
    )
    Match: TypeAlias = RuleFunction | Mapping[str, Any]
    Reply: TypeAlias = RuleFunction | Sendable

__all__ = ["Broadcast", "Response"]


@dataclass(frozen=True)
class Broadcast:
    """Where a declarative response goes: `room`, or every connection of the handler."""

    room: str | None = None
    include_self: bool = False

    def __post_init__(self) -> None:
        # Here, at the declaration's line, not when the rule first fires.
        given: object = self.room
        if given is not None and not isinstance(given, str):
            raise TypeError(
                f"Broadcast(room=...): a room is a str, its name; got {type(given).__name__} "
                f"{given!r:.80}"
            )
        if not isinstance(self.include_self, int):  # a bool, or 0 and 1 as some write them
            raise TypeError(
                f"Broadcast(include_self=...): expected True or False, got {self.include_self!r}"
            )


@dataclass(frozen=True)
class Response:
    """A declarative rule: when `match` fits a message, reply with `response`.

    `match` is `fn(conn, msg) -> bool` or a dict that must be a subset of the parsed message.
    `response` is a value or `fn(conn, msg)` (sync or async); `None` sends nothing.
    `broadcast=True` sends to the sender's rooms (sender excluded); a `Broadcast` picks a room.
    """

    match: Match
    response: Reply
    broadcast: bool | Broadcast | None = None

    def __post_init__(self) -> None:
        if not callable(self.match) and not isinstance(self.match, Mapping):
            raise TypeError("Response(match=...): expected a function or a dict")
        # Functions are checked (and given fewer arguments if they take fewer) here, so a
        # wrong signature is a load error at this line, not an error on every message.
        if callable(self.match):
            object.__setattr__(self, "match", adapt_callback("Response(match=...)", self.match))
        if callable(self.response):
            adapted = adapt_callback("Response(response=...)", self.response)
            object.__setattr__(self, "response", adapted)
        given: object = self.broadcast  # as passed, whatever the annotation says
        if given is not None and not isinstance(given, (bool, Broadcast)):
            said = "Response(broadcast=...): expected True, False or Broadcast(...)"
            if isinstance(given, Mapping):  # the JavaScript plugin's options object
                said += f", here {as_call('Broadcast', given)}"
            raise TypeError(said)

    def _matches(self, conn: Connection, msg: Any) -> Any:
        # Any: __post_init__ made every function take (conn, msg), whatever `Match` allows.
        match: Any = self.match
        if isinstance(match, Mapping):
            return isinstance(msg, Mapping) and all(
                k in msg and msg[k] == v for k, v in match.items()
            )
        return match(conn, msg)
