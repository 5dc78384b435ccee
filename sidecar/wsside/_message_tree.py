"""The tree a message type is read into (`wsside.schema`): what the runtime check and the
TypeScript generator walk, and how a node is named in a message that says what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Scalar:
    """A JSON scalar or binary data; `kind` is `str`, `bytes`, `int`, `float`, `bool` or
    `None`."""

    kind: str


@dataclass(frozen=True)
class AnyValue:
    """`Any`: every value fits."""


@dataclass(frozen=True)
class Literals:
    """`Literal[...]`: one of these values (str, int, bool or None)."""

    values: tuple[str | int | bool | None, ...]


@dataclass(frozen=True)
class ListOf:
    """`list[item]`."""

    item: Node


@dataclass(frozen=True)
class DictOf:
    """`dict[str, value]`."""

    value: Node


@dataclass(frozen=True)
class OneOf:
    """A union: a value fits when it fits one of `options`."""

    options: tuple[Node, ...]


@dataclass(frozen=True)
class Field:
    """One key of a `Record`; `required` is False for a key that may be left out."""

    name: str
    node: Node
    required: bool


@dataclass(eq=False)
class Record:
    """A TypedDict or dataclass: a JSON object with named keys. `name` is the class name,
    `doc` its own docstring, `source` the class itself (each `Schema` reads its own records,
    so two schemas meet the same class as two records). A record may contain itself (a tree
    of comments), so walkers remember the records they have seen."""

    name: str
    doc: str | None
    source: type
    fields: tuple[Field, ...] = ()


Node = Union[Scalar, AnyValue, Literals, ListOf, DictOf, OneOf, Record]  # noqa: UP007 - a runtime alias on 3.10


def describe(node: Node) -> str:
    """A short Python-like name for what `node` accepts (`ChatIn`, `str or None`)."""
    if isinstance(node, Scalar):
        return node.kind
    if isinstance(node, AnyValue):
        return "any value"
    if isinstance(node, Literals):
        return _either([show_value(v) for v in node.values])
    if isinstance(node, ListOf):
        return "list"
    if isinstance(node, DictOf):
        return "dict"
    if isinstance(node, OneOf):
        return _either([describe(option) for option in node.options])
    return node.name


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# The longest value shown in a message about it.
MAX_SHOWN = 40


def show_value(value: Any) -> str:
    """`value` as Python writes it, cut to `MAX_SHOWN` characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 4] + "...'"
