"""Message types: what a handler receives and sends (`Handler(receives=T, sends=U)`).

A type is read once, when its `Handler` is declared, into a small tree of nodes that both the
runtime check and the TypeScript generator walk. The check is compiled from that tree into
closures, so checking a message does no introspection.

A message type is a `TypedDict` (`total=False`, `Required`, `NotRequired`), a dataclass (read
as the shape of a JSON object: a field with a default may be left out; handlers still get the
dict), `str`, `bytes`, `int`, `float`, `bool`, `None`, `list[T]`, `dict[str, T]`,
`Literal[...]` of strings, ints, bools and None, a `StrEnum` or `IntEnum` (read as the
`Literal` of its values; so is an enum member inside `Literal`), a union (`X | Y`,
`Optional[X]`), `Annotated[X, ...]` (read as X), a `type X = ...` alias (read as what it
names) or `Any` (every value fits; TypeScript `unknown`). Anything else is a `TypeError` when
the handler is declared, naming the field.

Checks follow JSON: an int fits `float`, a bool never fits `int`, a tuple fits `list`; keys a
TypedDict does not declare are allowed, since a newer page may send more than a handler reads.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from ._message_check import compile_check
from ._message_tree import (
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
    not a message type.
    """

    __slots__ = ("check", "node")

    def __init__(self, tp: Any, label: str) -> None:
        self.node: Node = _Reader(label).read(tp, "")
        problem_of = compile_check(self.node, {})

        def check(value: object) -> str | None:
            problem = problem_of(value)
            if problem is None:
                return None
            path, what = problem
            return f"{path}: {what}" if path else what

        self.check: Callable[[object], str | None] = check

    def __repr__(self) -> str:
        return f"Schema({describe(self.node)})"


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
    "list[...], dict[str, ...], Literal[...], a StrEnum or IntEnum, a union of these, or Any"
)
# An enum is read as the Literal of its values only when its members are those values
# (StrEnum, IntEnum, `class X(str, Enum)`): the page sends "red", the handler gets "red",
# and "red" == Color.RED holds only then.
_ENUM_HINT = (
    "the page sends its values, and the handler gets them as plain str or int, which equal "
    "the members of a StrEnum or IntEnum only: make it one of those, or use Literal[...]"
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
        self.aliases = _forms("TypeAliasType")
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
        if _is_class(tp) and issubclass(tp, enum.Enum):
            return Literals(tuple(self.enum_value(m, where) for m in tp))
        if self.aliases and isinstance(tp, self.aliases):
            return self.read(tp.__value__, where, nested)
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
        if _is_class(origin) and (_is_typeddict(origin) or dataclasses.is_dataclass(origin)):
            raise self.error(
                where,
                f"{_show(tp)}: a generic {origin.__name__} is not a message type",
                "declare a class per use, with its fields spelled out",
            )
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
            if isinstance(value, enum.Enum):
                value = self.enum_value(value, where)
            elif value is not None and type(value) not in (str, int, bool):
                raise self.error(
                    where,
                    f"{_show(tp)}: {value!r} is not a JSON value (Literal takes str, int, bool "
                    "and None)",
                )
            values.append(value)
        return Literals(tuple(values))

    def enum_value(self, member: enum.Enum, where: str) -> str | int:
        """The value that stands for `member` on the wire."""
        if isinstance(member, str):
            return str.__str__(member)  # what the JSON encoders write for a str subclass
        if isinstance(member, int):
            return int(member)
        kind = type(member).__name__
        raise self.error(where, f"{kind} is an Enum but not a StrEnum or IntEnum", _ENUM_HINT)

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
    text = repr(tp)
    # repr qualifies each class by its module (`wsside_handlers.chat.Item`): the names alone,
    # as the handler file spells them.
    for module in sorted(_modules(tp), key=len, reverse=True):
        text = text.replace(module + ".", "")
    return text


def _modules(tp: Any) -> set[str]:
    found = {"typing", "collections.abc", "builtins"}
    for arg in (*get_args(tp), get_origin(tp)):
        if _is_class(arg):
            found.add(arg.__module__)
        elif arg is not None and not isinstance(arg, (str, int, list)):
            found |= _modules(arg)
    return found
