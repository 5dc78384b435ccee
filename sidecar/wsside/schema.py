"""Message types: what a handler receives and sends (`Handler(receives=T, sends=U)`).

A type is read once, when its `Handler` is declared, into a small tree of nodes that both the
runtime check and the TypeScript generator walk. The check is compiled from that tree into
closures, so checking a message does no introspection.

A message type is a `TypedDict` (`total=False`, `Required`, `NotRequired`), a dataclass (read
as the shape of a JSON object: a field with a default may be left out; handlers still get the
dict; in what is sent, an instance carries every field), `str`, `bytes`, `int`, `float`,
`bool`, `None`, `list[T]`, `dict[str, T]` (or keys of a `Literal` of strings or a `StrEnum`),
`Literal[...]` of strings, ints, bools and None, a `StrEnum` or `IntEnum` (read as the
`Literal` of its values; so is an enum member inside `Literal`), an `IntFlag` (read as an int
the flag takes: its members combined), a union (`X | Y`,
`Optional[X]`), `Annotated[X, ...]` (read as X), a `NewType` (read as its base type), a type
alias (read as what it names; one that names itself is an `Alias` node) or `Any` (every value
fits; TypeScript `unknown`). Anything else is a `TypeError` when the handler is declared,
naming the field.

Checks follow JSON: an int fits `float`, a bool never fits `int`, a tuple fits `list`; keys a
TypedDict does not declare are allowed, since a newer page may send more than a handler reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._message_check import compile_check
from ._message_read import Reader
from ._message_tree import (
    Alias,
    AnyValue,
    DictOf,
    Field,
    ListOf,
    Literals,
    Node,
    OneOf,
    Record,
    Scalar,
    describe,
)

__all__ = [
    "Alias",
    "AnyValue",
    "DictOf",
    "Field",
    "ListOf",
    "Literals",
    "MessageTypeError",
    "Node",
    "OneOf",
    "Record",
    "Scalar",
    "Schema",
    "describe",
]


class MessageTypeError(ValueError):
    """An incoming message that does not fit its handler's `receives`. The message names the
    field and what was expected: `items[2].price: expected float, got str`."""


class Schema:
    """A declared message type, read once. `node` is its tree; `check(value)` returns what
    is wrong with `value` (`text: expected str, got int`), or None when it fits.

    Raises TypeError, naming `label` (`receives`/`sends`) and the field, for a type that is
    not a message type. Strings left inside `tp` (`list["Json"]`) are resolved in the module
    named `module` (the declaring one).
    """

    __slots__ = ("check", "node", "notes")

    def __init__(self, tp: Any, label: str, module: str | None = None) -> None:
        reader = Reader(label, module)
        self.node: Node = reader.declared(tp)
        # What loading warns of (a pydantic dataclass's validators, which are not run).
        self.notes: tuple[str, ...] = tuple(reader.notes)
        problem_of = compile_check(self.node, {})

        def check(value: object) -> str | None:
            try:
                problem = problem_of(value)
            except RecursionError:  # a recursive type, and a value nested deeper than Python
                return "nested too deeply to check"
            if problem is None:
                return None
            path, what = problem
            return f"{path}: {what}" if path else what

        self.check: Callable[[object], str | None] = check

    def __repr__(self) -> str:
        return f"Schema({describe(self.node)})"
