"""Checking one value (`wsside._message_check` compiles a type's checks from these): the
checks of scalars and Literals, and how a problem names its path and the value it got."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

from ._message_tree import Literals, describe, show_value

__all__ = [
    "SCALAR_CHECKS",
    "Check",
    "Problem",
    "at",
    "check_any",
    "fields_of",
    "flag_check",
    "is_scalar",
    "kind_of",
    "label",
    "literal_check",
    "plain",
]

# What is wrong with a value: (path to the field, `expected ..., got ...`); path "" is the
# value itself.
Problem = tuple[str, str]
Check = Callable[[Any], Problem | None]


def kind_of(value: Any) -> str:
    """A value's type as the messages name it (JSON's types, in Python's words)."""
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return "list"
    return type(value).__name__


def at(where: str, problem: Problem) -> Problem:
    """`problem` of the value at `where` (a key's label, or `[2]`), as the outer value's."""
    path, what = problem
    if not path:
        return where, what
    return (where + path if path.startswith("[") else f"{where}.{path}"), what


def label(key: str) -> str:
    """A key as a path names it: `text`, or `["a b"]`."""
    return key if key.isidentifier() else "[" + json.dumps(key, ensure_ascii=False) + "]"


def _check_str(value: Any) -> Problem | None:
    return None if isinstance(value, str) else ("", f"expected str, got {kind_of(value)}")


def _check_bytes(value: Any) -> Problem | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    return "", f"expected bytes, got {kind_of(value)}"


def _check_int(value: Any) -> Problem | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return "", f"expected int, got {kind_of(value)}"


def _check_float(value: Any) -> Problem | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, float):
        # JSON has no infinity, but a number past float's range (1e400) reads as one, which
        # no JSON reply can then carry: refused here, where the client is told.
        return None if math.isfinite(value) else ("", f"expected a finite float, got {value}")
    return "", f"expected float, got {kind_of(value)}"


def _check_bool(value: Any) -> Problem | None:
    return None if value is True or value is False else ("", f"expected bool, got {kind_of(value)}")


def _check_none(value: Any) -> Problem | None:
    return None if value is None else ("", f"expected None, got {kind_of(value)}")


def check_any(value: Any) -> Problem | None:
    return None


SCALAR_CHECKS: dict[str, Check] = {
    "str": _check_str,
    "bytes": _check_bytes,
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "None": _check_none,
}


def flag_check(flag: type) -> Check:
    """A value of the IntFlag `flag`: an int it takes as one of its values (combined members
    too), which the handler, getting a plain int, finds equal to it. Not a negative int,
    which `flag` reads as another value (`Perm(-1)` is `READ | WRITE`, 3)."""
    expected = f"expected {flag.__name__}, got "

    def check(value: Any) -> Problem | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "", expected + kind_of(value)
        try:
            member = flag(value) if value >= 0 else None
        except ValueError:  # a flag of boundary=STRICT: a bit it has no member for
            member = None
        fits = isinstance(member, flag) and member == value
        return None if fits else ("", expected + show_value(value))

    return check


_SCALAR_VALUES = (str, int, float, type(None))


def is_scalar(value: Any) -> bool:
    return isinstance(value, _SCALAR_VALUES)


def literal_check(node: Literals) -> Check:
    # (type, value) pairs, so that True does not pass for 1 nor 1 for True.
    allowed = frozenset((type(v), v) for v in node.values)
    expected = f"expected {describe(node)}, got "

    def check(value: Any) -> Problem | None:
        if isinstance(value, _SCALAR_VALUES) and (type(value), value) in allowed:
            return None
        wire = plain(value)
        if wire is not value and (type(wire), wire) in allowed:
            return None
        return "", expected + (show_value(value) if is_scalar(value) else kind_of(value))

    return check


def plain(value: Any) -> Any:
    """`value` as it goes on the wire when it is a subclass of str or int (a StrEnum or
    IntEnum member: `sends=` is checked on the handler's own values); else `value` itself."""
    kind = type(value)
    if kind is not str and isinstance(value, str):
        return str.__str__(value)
    if kind is not int and kind is not bool and isinstance(value, int):
        return int(value)
    return value


def fields_of(value: Any) -> dict[str, Any] | None:
    """A dataclass instance (what a handler sends, checked in debug mode) as the object it
    goes as on the wire, its fields by name; None for any other value."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return None
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
