"""Checking values against a message type's tree: compiled once into closures, so that
checking a message does no introspection (`wsside.schema` builds the tree)."""

from __future__ import annotations

import typing
from typing import Any

from ._message_tree import (
    Alias,
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
from ._message_values import (
    SCALAR_CHECKS,
    Check,
    Problem,
    at,
    check_any,
    fields_of,
    flag_check,
    is_scalar,
    kind_of,
    label,
    literal_check,
    plain,
)

__all__ = ["compile_check"]

# The checks compiled so far, by record or alias (which may contain themselves).
Compiled = dict[Record | Alias, Check]


def compile_check(node: Node, records: Compiled) -> Check:
    if isinstance(node, Scalar):
        return SCALAR_CHECKS[node.kind] if node.flag is None else flag_check(node.flag)
    if isinstance(node, AnyValue):
        return check_any
    if isinstance(node, Literals):
        return literal_check(node)
    if isinstance(node, ListOf):
        return _list_check(compile_check(node.item, records), isinstance(node.item, AnyValue))
    if isinstance(node, DictOf):
        item = compile_check(node.value, records)
        return _dict_check(item, isinstance(node.value, AnyValue), node.keys)
    if isinstance(node, OneOf):
        return (
            _tagged_check(node, records)
            or _partly_tagged_check(node, records)
            or _union_check(node, records)
        )
    if isinstance(node, Alias):
        return _alias_check(node, records)
    return _record_check(node, records)


def _alias_check(node: Alias, records: Compiled) -> Check:
    known = records.get(node)
    if known is not None:
        return known
    # Set after `check` exists, so that the alias finds its own check where it recurs.
    target: list[Check] = []

    def check(value: Any) -> Problem | None:
        return target[0](value)

    records[node] = check
    target.append(compile_check(node.node, records))
    return check


def _list_check(item: Check, anything: bool) -> Check:
    def check(value: Any) -> Problem | None:
        if not isinstance(value, (list, tuple)):
            return "", f"expected list, got {kind_of(value)}"
        if anything:
            return None
        for i, element in enumerate(value):
            problem = item(element)
            if problem is not None:
                return at(f"[{i}]", problem)
        return None

    return check


def _dict_check(item: Check, anything: bool, keys: Literals | None) -> Check:
    allowed = None if keys is None else frozenset(keys.values)
    expected = "" if keys is None else f"not a key it takes ({describe(keys)})"

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return "", f"expected dict, got {kind_of(value)}"
        if allowed is not None:
            for key in value:
                if plain(key) not in allowed:
                    return label(str(plain(key))), expected
        if anything:
            return None
        for key, element in value.items():
            problem = item(element)
            if problem is not None:
                return at(label(str(plain(key))), problem)
        return None

    return check


def _record_check(node: Record, records: Compiled) -> Check:
    known = records.get(node)
    if known is not None:
        return known
    # Filled after `check` exists, so that a record containing itself finds its own check.
    required: list[_FieldCheck] = []
    optional: list[_FieldCheck] = []
    name = node.name

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            fields = fields_of(value)  # what a handler sends goes as its fields' object
            if fields is None:
                return "", f"expected {name}, got {kind_of(value)}"
            value = fields
        for key, where, types, strings, field_check in required:
            item = value.get(key, _MISSING)
            kind = type(item)
            if kind in types or (kind is str and item in strings):
                continue
            if item is _MISSING:
                return where, "missing"
            problem = field_check(item)
            if problem is not None:
                return at(where, problem)
        for key, where, types, strings, field_check in optional:
            item = value.get(key, _MISSING)
            kind = type(item)
            if item is _MISSING or kind in types or (kind is str and item in strings):
                continue
            problem = field_check(item)
            if problem is not None:
                return at(where, problem)
        return None

    records[node] = check
    for f in node.fields:
        types, strings = _sure_fits(f.node)
        entry = (f.name, label(f.name), types, strings, compile_check(f.node, records))
        (required if f.required else optional).append(entry)
    return check


# A record's field: (key, label in messages, types whose every value fits, strings that fit,
# its check). The first two answer most values with one `in` each, without a call.
_FieldCheck = tuple[str, str, tuple[type, ...], frozenset[str], Check]
_MISSING: Any = object()
_SURE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int,),  # a float is checked: 1e400 reads as inf, which is refused
    "bool": (bool,),
    "None": (type(None),),
}


def _sure_fits(node: Node) -> tuple[tuple[type, ...], frozenset[str]]:
    if isinstance(node, Scalar):  # not every int is a value of a flag
        return (_SURE_TYPES.get(node.kind, ()) if node.flag is None else ()), frozenset()
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


def _tagged_check(node: OneOf, records: Compiled) -> Check | None:
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
    where = label(key)
    tag_expected = f"expected {describe(Literals(tuple(values)))}, got "

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            fields = fields_of(value)  # what a handler sends goes as its fields' object
            if fields is None:
                return "", expected + kind_of(value)
            value = fields
        if key not in value:
            return where, "missing"
        tag = value[key]
        try:
            option_check = table.get((type(tag), tag))
            if option_check is None:
                wire = plain(tag)
                option_check = table.get((type(wire), wire))
        except TypeError:  # an unhashable tag: a list or a dict
            option_check = None
        if option_check is None:
            return at(
                where, ("", tag_expected + (show_value(tag) if is_scalar(tag) else kind_of(tag)))
            )
        return option_check(value)

    return check


def _partly_tagged_check(node: OneOf, records: Compiled) -> Check | None:
    """A union of tagged records and other types (`SetLr | Pause | bytes`): an object is
    checked as the record its tag names, in that record's words, unless another option takes
    it; anything else as the whole union."""
    tagged = tuple(o for o in node.options if isinstance(o, Record))
    others = tuple(o for o in node.options if not isinstance(o, Record))
    if not others or _tag_of(tagged) is None:
        return None
    by_tag = _tagged_check(OneOf(tagged), records)
    assert by_tag is not None
    other_checks = [compile_check(o, records) for o in others]
    whole = _union_check(node, records)
    # dict[str, Any] among the others: an object that fits no record may fit it.
    objects_elsewhere = any(isinstance(o, DictOf) for o in others)

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return whole(value)
        problem = by_tag(value)
        if problem is None or any(c(value) is None for c in other_checks):
            return None
        return whole(value) if objects_elsewhere else problem

    return check


def _union_check(node: OneOf, records: Compiled) -> Check:
    options = [(option, compile_check(option, records)) for option in node.options]
    expected = f"expected {describe(node)}, got "
    # A dataclass instance (sent, in debug mode) is checked as its own class when the union
    # has it: the words of that class's check.
    own = {o.source: c for o, c in options if isinstance(o, Record)}

    def check(value: Any) -> Problem | None:
        fields = fields_of(value)
        if fields is not None:
            own_check = own.get(type(value))
            if own_check is not None:
                return own_check(value)
            value = fields
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
            return "", f"{expected}{kind_of(value)} ({detail})"
        return "", expected + kind_of(value)

    return check


def _same_kind(node: Node, value: Any) -> bool:
    """Whether `node` is a container of the same JSON kind as `value` (so its own problem
    says more than "expected X or Y")."""
    if isinstance(node, (Record, DictOf)):
        return isinstance(value, dict)
    if isinstance(node, ListOf):
        return isinstance(value, (list, tuple))
    return False
