"""A message that no `Response` rule of its handler matched, to a handler without
`on_message`: dropped, as the rules say (no match goes to `on_message`), and said once per
handler, since a page whose `type` has a typo otherwise gets nothing and no line says why.

The line names the message by its `type` when it has one (`{"type": "pnig"}`), else by its
kind: a client's message may hold what a log must not.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._places import shown
from .events import log

if TYPE_CHECKING:
    from ..handler import Handler

__all__ = ["unanswered"]

# The rules' dict matches named in the line, at most.
RULES_NAMED = 3

# Handlers whose unanswered message was said (a reload makes new ones: said again).
_said: weakref.WeakSet[Handler] = weakref.WeakSet()


def unanswered(handler: Handler, data: Any) -> None:
    """`data` matched none of `handler`'s rules, and it has no `on_message`."""
    if handler in _said:
        return
    _said.add(handler)
    matches = [json.dumps(dict(r.match)) for r in handler.responses if isinstance(r.match, Mapping)]
    named = ", ".join(matches[:RULES_NAMED]) + (", …" if len(matches) > RULES_NAMED else "")
    rules = f"; its rules match {named}" if named else ""
    log(
        f"a message to {handler.pattern.source} ({_described(data)}) matched no Response rule of "
        f"{shown(handler.file)}:{handler.line} and it has no on_message, so it was dropped "
        f"without an answer{rules}; said once (an on_message gets every message no rule takes)",
        "warning",
    )


def _described(data: Any) -> str:
    """`{"type": "pnig"}` for a dict with a string `type`, else its kind (`a list`)."""
    if isinstance(data, Mapping) and isinstance(data.get("type"), str):
        return json.dumps({"type": data["type"]})
    if isinstance(data, Mapping):
        return "an object without a string type"
    kinds: dict[type, str] = {str: "a text that is not JSON", bytes: "binary", list: "a list"}
    return kinds.get(type(data), f"a {type(data).__name__}")
