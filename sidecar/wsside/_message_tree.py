"""The tree a message type is read into (`wsside.schema`): what the runtime check and the
TypeScript generator walk, and how a node is named in a message that says what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Scalar:
    """A JSON scalar or binary data; `kind` is `str`, `bytes`, `int`, `float`, `bool` or
    `None`. `flag`: an IntFlag (kind `int`), whose values fit: `Perm(3)` is `READ | WRITE`,
    which a Literal of its members would leave out."""

    kind: str
    flag: type | None = None


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
    """`dict[str, value]`; `keys`, when not None, the only keys allowed (`dict[Literal["a",
    "b"], value]`, or a StrEnum's values), any of which may be absent."""

    value: Node
    keys: Literals | None = None


@dataclass(frozen=True)
class OneOf:
    """A union: a value fits when it fits one of `options`."""

    options: tuple[Node, ...]


@dataclass(frozen=True)
class Field:
    """One key of a `Record`; `required` is False for a key that may be left out.
    `defaulted`: a dataclass field with a default, which a received dict may leave out but an
    instance always carries (so it is required in what is sent)."""

    name: str
    node: Node
    required: bool
    defaulted: bool = False


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


@dataclass(eq=False)
class Alias:
    """A type alias that names itself (`Json = Union[str, ..., list["Json"]]`, or `type Tree =
    dict[str, Tree] | int`): `node` is what it names, and holds this alias where it recurs, so
    walkers remember the aliases they have seen, as they do records."""

    name: str
    node: Node = AnyValue()
    source: object = None  # the alias's Python object


Node = Union[Scalar, AnyValue, Literals, ListOf, DictOf, OneOf, Record, Alias]  # noqa: UP007 - a runtime alias on 3.10


def options_of(node: Node) -> tuple[Node, ...]:
    """The options of a union, or `node` alone."""
    return node.options if isinstance(node, OneOf) else (node,)


def one_of(nodes: list[Node]) -> Node:
    """One node for a union: nested unions flattened, repeats dropped, and its Literals (with
    None, when there are Literals) as one `Literals`, so a mismatch reads
    "expected 'a', 'b' or None, got 'c'"."""
    flat = [o for node in nodes for o in options_of(node)]
    values = [v for o in flat if isinstance(o, Literals) for v in o.values]
    if values and Scalar("None") in flat:
        values.append(None)
    # Keyed by (type, value): True and 1 are both kept.
    merged = Literals(tuple(v for _, v in dict.fromkeys((type(v), v) for v in values)))
    options: list[Node] = []
    for option in flat:
        if isinstance(option, Literals) or (values and option == Scalar("None")):
            option = merged
        if option not in options:
            options.append(option)
    return options[0] if len(options) == 1 else OneOf(tuple(options))


def describe(node: Node) -> str:
    """A short Python-like name for what `node` accepts (`ChatIn`, `str or None`)."""
    if isinstance(node, Scalar):
        return node.kind if node.flag is None else node.flag.__name__
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
    return node.name  # a Record or an Alias


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# The longest value shown in a message about it.
MAX_SHOWN = 40


def show_value(value: Any) -> str:
    """`value` as Python writes it, cut to `MAX_SHOWN` characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 4] + "...'"
