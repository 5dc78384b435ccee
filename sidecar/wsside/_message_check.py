"""Checking values against a message type's tree: compiled once into closures, so that
checking a message does no introspection (`wsside.schema` builds the tree)."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable
from typing import Any

from ._message_tree import (
    AnyValue,
    DictOf,
    ListOf,
    Literals,
    Node,
    OneOf,
    Record,
    Scalar,
    describe,
    show_value,
)

# What is wrong with a value: (path to the field, `expected ..., got ...`); path "" is the
# value itself.
Problem = tuple[str, str]
Check = Callable[[Any], Problem | None]


def _kind(value: Any) -> str:
    """A value's type as the messages name it (JSON's types, in Python's words)."""
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return "list"
    return type(value).__name__


def _at(label: str, problem: Problem) -> Problem:
    path, what = problem
    if not path:
        return label, what
    return (label + path if path.startswith("[") else f"{label}.{path}"), what


def _label(key: str) -> str:
    return key if key.isidentifier() else "[" + json.dumps(key, ensure_ascii=False) + "]"


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


def compile_check(node: Node, records: dict[Record, Check]) -> Check:
    if isinstance(node, Scalar):
        return _SCALAR_CHECKS[node.kind]
    if isinstance(node, AnyValue):
        return _check_any
    if isinstance(node, Literals):
        return _literal_check(node)
    if isinstance(node, ListOf):
        return _list_check(compile_check(node.item, records), isinstance(node.item, AnyValue))
    if isinstance(node, DictOf):
        return _dict_check(compile_check(node.value, records), isinstance(node.value, AnyValue))
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
        plain = _plain(value)
        if plain is not value and (type(plain), plain) in allowed:
            return None
        return "", expected + (show_value(value) if _is_scalar(value) else _kind(value))

    return check


def _plain(value: Any) -> Any:
    """`value` as it goes on the wire when it is a subclass of str or int (a StrEnum or
    IntEnum member: `sends=` is checked on the handler's own values); else `value` itself."""
    kind = type(value)
    if kind is not str and isinstance(value, str):
        return str.__str__(value)
    if kind is not int and kind is not bool and isinstance(value, int):
        return int(value)
    return value


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


def _is_dataclass_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


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
            if not _is_dataclass_instance(value):
                return "", f"expected {name}, got {_kind(value)}"
            # What the handler sends (`sends=`, debug mode): it goes as its fields' object.
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
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
        entry = (f.name, _label(f.name), types, strings, compile_check(f.node, records))
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
        option_check = compile_check(option, records)
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
            if option_check is None:
                plain = _plain(tag)
                option_check = table.get((type(plain), plain))
        except TypeError:  # an unhashable tag: a list or a dict
            option_check = None
        if option_check is None:
            return _at(
                label, ("", tag_expected + (show_value(tag) if _is_scalar(tag) else _kind(tag)))
            )
        return option_check(value)

    return check


def _union_check(node: OneOf, records: dict[Record, Check]) -> Check:
    options = [(option, compile_check(option, records)) for option in node.options]
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
