"""The tree a message type is read into (`wsside.schema`): what the runtime check and the
TypeScript generator walk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


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
