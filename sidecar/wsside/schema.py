"""Message types: what a handler receives and sends (`Handler(receives=T, sends=U)`).

A type is read once, when its `Handler` is declared, into a small tree of nodes that both the
runtime check and the TypeScript generator walk. The check is compiled from that tree into
closures, so checking a message does no introspection.

A message type is a `TypedDict` (`total=False`, `Required`, `NotRequired`), a dataclass (read
as the shape of a JSON object: a field with a default may be left out; handlers still get the
dict), `str`, `bytes`, `int`, `float`, `bool`, `None`, `list[T]`, `dict[str, T]`,
`Literal[...]` of strings, ints, bools and None, a union (`X | Y`, `Optional[X]`),
`Annotated[X, ...]` (read as X) or `Any` (every value fits; TypeScript `unknown`). Anything else
is a `TypeError` when the handler is declared, naming the field.

Checks follow JSON: an int fits `float`, a bool never fits `int`, a tuple fits `list`; keys a
TypedDict does not declare are allowed, since a newer page may send more than a handler reads.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

__all__ = [
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
]


class MessageTypeError(ValueError):
    """An incoming message that does not fit its handler's `receives`. The message names the
    field and what was expected: `items[2].price: expected float, got str`."""


# ---- the tree --------------------------------------------------------------------------


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


class Schema:
    """A declared message type, read once. `node` is its tree; `check(value)` returns what
    is wrong with `value` (`text: expected str, got int`), or None when it fits.

    Raises TypeError, naming `label` (`receives`/`sends`) and the field, for a type that is
    not a message type.
    """

    __slots__ = ("check", "node")

    def __init__(self, tp: Any, label: str) -> None:
        self.node: Node = _Reader(label).read(tp, "")
        problem_of = _compile(self.node, {})

        def check(value: object) -> str | None:
            problem = problem_of(value)
            if problem is None:
                return None
            path, what = problem
            return f"{path}: {what}" if path else what

        self.check: Callable[[object], str | None] = check

    def __repr__(self) -> str:
        return f"Schema({describe(self.node)})"


def describe(node: Node) -> str:
    """A short Python-like name for what `node` accepts (`ChatIn`, `str or None`)."""
    if isinstance(node, Scalar):
        return node.kind
    if isinstance(node, AnyValue):
        return "any value"
    if isinstance(node, Literals):
        return _either([_show_value(v) for v in node.values])
    if isinstance(node, ListOf):
        return "list"
    if isinstance(node, DictOf):
        return "dict"
    if isinstance(node, OneOf):
        return _either([describe(option) for option in node.options])
    return node.name


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# ---- reading Python types ---------------------------------------------------------------

_SCALARS: dict[Any, str] = {
    str: "str",
    bytes: "bytes",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "None",
}
_HINT = (
    "a message type is a TypedDict, a dataclass, str, bytes, int, float, bool, None, "
    "list[...], dict[str, ...], Literal[...], a union of these, or Any"
)


def _forms(name: str) -> tuple[Any, ...]:
    """The special form `name` (`Literal`, `NotRequired`...) from `typing` and, when a handler
    file imported it, from `typing_extensions` (its own objects on older Pythons)."""
    found = []
    for module in (typing, sys.modules.get("typing_extensions")):
        form = getattr(module, name, None)
        if form is not None and form not in found:
            found.append(form)
    return tuple(found)


def _is_typeddict(tp: Any) -> bool:
    checks = (
        getattr(m, "is_typeddict", None) for m in (typing, sys.modules.get("typing_extensions"))
    )
    return any(check is not None and check(tp) for check in checks)


class _Reader:
    def __init__(self, label: str) -> None:
        self.label = label
        self.records: dict[type, Record] = {}
        self.literal = _forms("Literal")
        self.annotated = _forms("Annotated")
        self.required = _forms("Required")
        self.not_required = _forms("NotRequired")
        self.read_only = _forms("ReadOnly")
        # The module of the record whose fields are being read: where strings left inside
        # annotations are resolved.
        self.module: types.ModuleType | None = None

    def error(self, where: str, what: str, hint: str = _HINT) -> TypeError:
        return TypeError(f"{self.label}: {where + ': ' if where else ''}{what}; {hint}")

    def read(self, tp: Any, where: str, nested: bool = False) -> Node:
        """`tp` as a node; `nested` inside a list, dict or record, where only JSON goes."""
        origin = get_origin(tp)
        if origin in self.annotated:
            return self.read(get_args(tp)[0], where, nested)
        if tp is Any:
            return AnyValue()
        if tp is None:
            return Scalar("None")
        if _is_class(tp) and tp in _SCALARS:
            if nested and tp is bytes:
                raise self.error(
                    where,
                    "bytes inside a JSON message (only a whole message can be binary)",
                    "send binary data as a message of its own, or as a base64 str",
                )
            return Scalar(_SCALARS[tp])
        if origin in self.literal:
            return self.literals(tp, where)
        if origin is Union or isinstance(tp, types.UnionType):
            return _union([self.read(arg, where, nested) for arg in get_args(tp)])
        if tp is list:
            return ListOf(AnyValue())
        if origin is list:
            return ListOf(self.read(get_args(tp)[0], where, True))
        if tp is dict:
            return DictOf(AnyValue())
        if origin is dict:
            key, value = get_args(tp)
            if key is not str:
                raise self.error(
                    where, f"{_show(tp)}: keys must be str (JSON object keys are strings)"
                )
            return DictOf(self.read(value, where, True))
        if _is_class(tp) and (_is_typeddict(tp) or dataclasses.is_dataclass(tp)):
            return self.record(tp)
        if isinstance(tp, (str, typing.ForwardRef)) and self.module is not None:
            return self.read(self.resolve(tp, where), where, nested)
        if isinstance(tp, str):
            raise self.error(where, f"{tp!r} is a string, not a type (give the class itself)")
        if _is_class(tp):
            raise self.error(
                where, f"{_show(tp)} is a class that is neither a TypedDict nor a dataclass"
            )
        raise self.error(where, f"{_show(tp)} is not a message type")

    def literals(self, tp: Any, where: str) -> Literals:
        values = []
        for value in get_args(tp):
            if value is not None and type(value) not in (str, int, bool):
                raise self.error(
                    where,
                    f"{_show(tp)}: {value!r} is not a JSON value (Literal takes str, int, bool "
                    "and None)",
                )
            values.append(value)
        return Literals(tuple(values))

    def record(self, cls: type) -> Record:
        known = self.records.get(cls)
        if known is not None:
            return known
        doc = inspect.cleandoc(cls.__doc__) if cls.__doc__ else None
        if dataclasses.is_dataclass(cls) and doc and doc.startswith(cls.__name__ + "("):
            doc = None  # the signature dataclasses writes when a class has no docstring
        record = self.records[cls] = Record(cls.__name__, doc, cls)
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:  # noqa: BLE001 - NameError, SyntaxError...: all the user's
            raise self.error(
                cls.__name__, f"cannot resolve its annotations ({_name(exc)})", _DEFINE
            ) from None
        outer, self.module = self.module, sys.modules.get(cls.__module__)
        fields: list[Field] = []
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                required = f.default is dataclasses.MISSING and (
                    f.default_factory is dataclasses.MISSING
                )
                node = self.read(hints[f.name], f"{cls.__name__}.{f.name}", True)
                fields.append(Field(f.name, node, required))
        else:
            required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
            for name, hint in hints.items():
                hint, required = self.requiredness(hint, name in required_keys)
                node = self.read(hint, f"{cls.__name__}.{name}", True)
                fields.append(Field(name, node, required))
        self.module = outer
        record.fields = tuple(fields)
        return record

    def resolve(self, ref: str | typing.ForwardRef, where: str) -> Any:
        """A string inside an annotation (`list["Tree"]`), which Python 3.10 leaves as it is,
        evaluated in the module of the class being read, as `get_type_hints` does."""
        text = ref if isinstance(ref, str) else ref.__forward_arg__
        try:
            return eval(text, vars(self.module))
        except Exception as exc:  # noqa: BLE001 - the user's annotation may raise anything
            raise self.error(where, f"cannot resolve {text!r} ({_name(exc)})", _DEFINE) from None

    def requiredness(self, hint: Any, required: bool) -> tuple[Any, bool]:
        """The type inside `Required[...]`/`NotRequired[...]` and whether the key is required.

        The wrapper decides: `__required_keys__` is wrong for wrapped keys in a module with
        `from __future__ import annotations` (Python counts the unevaluated string as plain).
        """
        while True:
            origin = get_origin(hint)
            if origin in self.required or origin in self.not_required:
                required = origin in self.required
            elif origin not in self.annotated and origin not in self.read_only:
                return hint, required
            hint = get_args(hint)[0]


def _union(nodes: list[Node]) -> Node:
    """One node for a union: nested unions flattened, repeats dropped, and its Literals (with
    None, when there are Literals) as one `Literals`, so a mismatch reads
    "expected 'a', 'b' or None, got 'c'"."""
    flat = [o for node in nodes for o in (node.options if isinstance(node, OneOf) else (node,))]
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


_DEFINE = "define every type it names before the Handler(...) that uses it"


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _is_class(tp: Any) -> bool:
    # Python 3.10 counts `list[int]` as a type too.
    return isinstance(tp, type) and get_origin(tp) is None


def _show(tp: Any) -> str:
    if _is_class(tp):
        return str(tp.__qualname__)
    return repr(tp).replace("typing.", "").replace("collections.abc.", "")


# ---- checking values ---------------------------------------------------------------------

# What is wrong with a value: (path to the field, `expected ..., got ...`); path "" is the
# value itself.
Problem = tuple[str, str]
Check = Callable[[Any], Problem | None]

_MAX_SHOWN = 40


def _kind(value: Any) -> str:
    """A value's type as the messages name it (JSON's types, in Python's words)."""
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return "list"
    return type(value).__name__


def _show_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 4] + "...'"


def _at(label: str, problem: Problem) -> Problem:
    path, what = problem
    if not path:
        return label, what
    return (label + path if path.startswith("[") else f"{label}.{path}"), what


def _label(key: str) -> str:
    return key if key.isidentifier() else "[" + json.dumps(key, ensure_ascii=False) + "]"


def _expected(name: str) -> Callable[[Any], Problem]:
    return lambda value: ("", f"expected {name}, got {_kind(value)}")


def _check_str(value: Any) -> Problem | None:
    return None if isinstance(value, str) else ("", f"expected str, got {_kind(value)}")


def _check_bytes(value: Any) -> Problem | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    return "", f"expected bytes, got {_kind(value)}"


def _check_int(value: Any) -> Problem | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return "", f"expected int, got {_kind(value)}"


def _check_float(value: Any) -> Problem | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None
    return "", f"expected float, got {_kind(value)}"


def _check_bool(value: Any) -> Problem | None:
    return None if value is True or value is False else ("", f"expected bool, got {_kind(value)}")


def _check_none(value: Any) -> Problem | None:
    return None if value is None else ("", f"expected None, got {_kind(value)}")


def _check_any(value: Any) -> Problem | None:
    return None


_SCALAR_CHECKS: dict[str, Check] = {
    "str": _check_str,
    "bytes": _check_bytes,
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "None": _check_none,
}


def _compile(node: Node, records: dict[Record, Check]) -> Check:
    if isinstance(node, Scalar):
        return _SCALAR_CHECKS[node.kind]
    if isinstance(node, AnyValue):
        return _check_any
    if isinstance(node, Literals):
        return _literal_check(node)
    if isinstance(node, ListOf):
        return _list_check(_compile(node.item, records), isinstance(node.item, AnyValue))
    if isinstance(node, DictOf):
        return _dict_check(_compile(node.value, records), isinstance(node.value, AnyValue))
    if isinstance(node, OneOf):
        return _tagged_check(node, records) or _union_check(node, records)
    return _record_check(node, records)


_SCALAR_VALUES = (str, int, float, type(None))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, _SCALAR_VALUES)


def _literal_check(node: Literals) -> Check:
    # (type, value) pairs, so that True does not pass for 1 nor 1 for True.
    allowed = frozenset((type(v), v) for v in node.values)
    expected = f"expected {describe(node)}, got "

    def check(value: Any) -> Problem | None:
        if isinstance(value, _SCALAR_VALUES) and (type(value), value) in allowed:
            return None
        return "", expected + (_show_value(value) if _is_scalar(value) else _kind(value))

    return check


def _list_check(item: Check, anything: bool) -> Check:
    def check(value: Any) -> Problem | None:
        if not isinstance(value, (list, tuple)):
            return "", f"expected list, got {_kind(value)}"
        if anything:
            return None
        for i, element in enumerate(value):
            problem = item(element)
            if problem is not None:
                return _at(f"[{i}]", problem)
        return None

    return check


def _dict_check(item: Check, anything: bool) -> Check:
    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return "", f"expected dict, got {_kind(value)}"
        if anything:
            return None
        for key, element in value.items():
            problem = item(element)
            if problem is not None:
                return _at(_label(str(key)), problem)
        return None

    return check


def _record_check(node: Record, records: dict[Record, Check]) -> Check:
    known = records.get(node)
    if known is not None:
        return known
    # Filled after `check` exists, so that a record containing itself finds its own check.
    required: list[_FieldCheck] = []
    optional: list[_FieldCheck] = []
    name = node.name

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return "", f"expected {name}, got {_kind(value)}"
        for key, label, types, strings, field_check in required:
            item = value.get(key, _MISSING)
            kind = type(item)
            if kind in types or (kind is str and item in strings):
                continue
            if item is _MISSING:
                return label, "missing"
            problem = field_check(item)
            if problem is not None:
                return _at(label, problem)
        for key, label, types, strings, field_check in optional:
            item = value.get(key, _MISSING)
            kind = type(item)
            if item is _MISSING or kind in types or (kind is str and item in strings):
                continue
            problem = field_check(item)
            if problem is not None:
                return _at(label, problem)
        return None

    records[node] = check
    for f in node.fields:
        types, strings = _sure_fits(f.node)
        entry = (f.name, _label(f.name), types, strings, _compile(f.node, records))
        (required if f.required else optional).append(entry)
    return check


# A record's field: (key, label in messages, types whose every value fits, strings that fit,
# its check). The first two answer most values with one `in` each, without a call.
_FieldCheck = tuple[str, str, tuple[type, ...], frozenset[str], Check]
_MISSING: Any = object()
_SURE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "None": (type(None),),
}


def _sure_fits(node: Node) -> tuple[tuple[type, ...], frozenset[str]]:
    if isinstance(node, Scalar):
        return _SURE_TYPES.get(node.kind, ()), frozenset()
    if isinstance(node, Literals):
        return (type(None),) if None in node.values else (), frozenset(
            v for v in node.values if type(v) is str
        )
    if isinstance(node, OneOf):
        parts = [_sure_fits(option) for option in node.options]
        return tuple(t for types, _ in parts for t in types), frozenset().union(
            *(strings for _, strings in parts)
        )
    return (), frozenset()


def _tag_of(options: tuple[Node, ...]) -> str | None:
    """The key whose Literal values tell the records of a union apart (`type` first), or
    None when the union is not tagged so."""
    if len(options) < 2 or not all(isinstance(o, Record) for o in options):
        return None
    records = typing.cast(tuple[Record, ...], options)
    candidates = ["type", *(f.name for f in records[0].fields if f.name != "type")]
    for key in candidates:
        seen: set[tuple[type, Any]] = set()
        for record in records:
            f = next((f for f in record.fields if f.name == key), None)
            if f is None or not f.required or not isinstance(f.node, Literals):
                break
            pairs = {(type(v), v) for v in f.node.values}
            if pairs & seen:
                break
            seen |= pairs
        else:
            return key
    return None


def _tagged_check(node: OneOf, records: dict[Record, Check]) -> Check | None:
    key = _tag_of(node.options)
    if key is None:
        return None
    table: dict[tuple[type, Any], Check] = {}
    values: list[Any] = []
    for option in typing.cast(tuple[Record, ...], node.options):
        tag = next(f for f in option.fields if f.name == key)
        assert isinstance(tag.node, Literals)
        option_check = _compile(option, records)
        for v in tag.node.values:
            table[(type(v), v)] = option_check
            values.append(v)
    expected = f"expected {describe(node)}, got "
    label = _label(key)
    tag_expected = f"expected {describe(Literals(tuple(values)))}, got "

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return "", expected + _kind(value)
        if key not in value:
            return label, "missing"
        tag = value[key]
        try:
            option_check = table.get((type(tag), tag))
        except TypeError:  # an unhashable tag: a list or a dict
            option_check = None
        if option_check is None:
            return _at(
                label, ("", tag_expected + (_show_value(tag) if _is_scalar(tag) else _kind(tag)))
            )
        return option_check(value)

    return check


def _union_check(node: OneOf, records: dict[Record, Check]) -> Check:
    options = [(option, _compile(option, records)) for option in node.options]
    expected = f"expected {describe(node)}, got "

    def check(value: Any) -> Problem | None:
        problems = []
        for option, option_check in options:
            problem = option_check(value)
            if problem is None:
                return None
            if _same_kind(option, value):
                problems.append((option, problem))
        if len(problems) == 1:
            return problems[0][1]  # only one option could have fitted: its own words
        if problems:
            detail = "; ".join(
                f"{describe(o)}: {p[0] + ': ' if p[0] else ''}{p[1]}" for o, p in problems
            )
            return "", f"{expected}{_kind(value)} ({detail})"
        return "", expected + _kind(value)

    return check


def _same_kind(node: Node, value: Any) -> bool:
    """Whether `node` is a container of the same JSON kind as `value` (so its own problem
    says more than "expected X or Y")."""
    if isinstance(node, (Record, DictOf)):
        return isinstance(value, dict)
    if isinstance(node, ListOf):
        return isinstance(value, (list, tuple))
    return False
