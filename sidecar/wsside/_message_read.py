"""Reading a Python type into a message type's tree (`wsside.schema` says what is accepted).

A type alias that names itself (`Json = Union[..., list["Json"]]`, `type Tree = ...`) is read
once, as an `Alias` node that holds itself where it recurs."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import sys
import types
import typing
from typing import Any, Union, get_args, get_origin

from ._message_tree import (
    Alias,
    AnyValue,
    DictOf,
    Field,
    ListOf,
    Literals,
    Node,
    Record,
    Scalar,
    one_of,
)
from ._pydantic import PYDANTIC, is_pydantic_model, pydantic_checks

__all__ = ["Reader", "show"]

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
    "list[...], dict[str, ...], Literal[...], a StrEnum, IntEnum or IntFlag, a union of these, "
    "or Any"
)
# An enum is read as the Literal of its values only when its members are those values
# (StrEnum, IntEnum, `class X(str, Enum)`): the page sends "red", the handler gets "red",
# and "red" == Color.RED holds only then.
_ENUM_HINT = (
    "the page sends its values, and the handler gets them as plain str or int, which equal "
    "the members of a StrEnum or IntEnum only: make it one of those, or use Literal[...]"
)
_FLAG_HINT = (
    "the page sends its value, and the handler gets it as a plain int, which equals the "
    "members of an IntFlag only: make it an IntFlag, or use int"
)
_NO_MEMBERS = "no value fits it: give it members, or use the type of the values it will have"
_KEYS = "keys must be str, a Literal of strings or a StrEnum (JSON object keys are strings)"
_DEFINE = "define every type it names before the Handler(...) that uses it"


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


class Reader:
    """Reads the types of one declaration (`label`: `receives` or `sends`). In what is sent,
    a dataclass's fields with a default are required: an instance always carries them."""

    def __init__(self, label: str, module: str | None = None) -> None:
        self.label = label
        self.records: dict[type, Record] = {}
        self.literal = _forms("Literal")
        self.annotated = _forms("Annotated")
        self.required = _forms("Required")
        self.not_required = _forms("NotRequired")
        self.read_only = _forms("ReadOnly")
        self.aliases = _forms("TypeAliasType")
        self.new_types = tuple(t for t in _forms("NewType") if isinstance(t, type))
        # The module of the record whose fields are being read: where strings left inside
        # annotations are resolved.
        self.module: types.ModuleType | None = sys.modules.get(module) if module else None
        # The unions and generics being read, by id (each kept alive with its alias), and
        # those found to contain themselves: a recursive alias is read once.
        self.open: dict[int, tuple[Any, Alias]] = {}
        self.recursive: dict[int, tuple[Any, Alias]] = {}
        self.recurs: set[int] = set()
        # What loading warns of: checks of a pydantic dataclass that wsside does not run.
        self.notes: list[str] = []

    def error(self, where: str, what: str, hint: str = _HINT) -> TypeError:
        return TypeError(f"{self.label}: {where + ': ' if where else ''}{what}; {hint}")

    def declared(self, tp: Any) -> Node:
        """The type a declaration gives (`receives=...`), as a node."""
        if isinstance(tp, str):
            raise self.error("", f"{tp!r} is a string, not a type (give the class itself)")
        return self.read(tp, "")

    def read(self, tp: Any, where: str, nested: bool = False) -> Node:
        """`tp` as a node; `nested` inside a list, dict or record, where only JSON goes."""
        if _is_class(tp) or isinstance(tp, (str, typing.ForwardRef)) or tp is None:
            return self.read_one(tp, where, nested)
        key = id(tp)
        seen = self.recursive.get(key) or self.open.get(key)
        if seen is not None:  # it contains itself: here is where it recurs
            self.recurs.add(key)
            return seen[1]
        name = tp.__name__ if self.aliases and isinstance(tp, self.aliases) else ""
        alias = Alias(name, source=tp)
        self.open[key] = (tp, alias)
        try:
            node = self.read_one(tp, where, nested)
        finally:
            del self.open[key]
        if key in self.recurs:
            alias.name = alias.name or "Alias"
            alias.node = node
            self.recursive[key] = (tp, alias)
            return alias
        # What `get_type_hints` makes of a recursive alias: its value with the alias written
        # out once more, which reads as the alias itself.
        return next((a for _, a in self.recursive.values() if a.node == node), node)

    def read_one(self, tp: Any, where: str, nested: bool) -> Node:
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
        if _is_class(tp) and issubclass(tp, enum.Flag) and issubclass(tp, int):
            return Scalar("int", flag=tp)  # its members combine: any value of it is an int
        if _is_class(tp) and issubclass(tp, enum.Enum):
            values = tuple(self.enum_value(m, where) for m in tp)
            if not values:
                raise self.error(where, f"{show(tp)} is an enum with no members", _NO_MEMBERS)
            return Literals(values)
        if self.new_types and isinstance(tp, self.new_types):  # its base type on the wire
            return self.read(typing.cast(Any, tp).__supertype__, where, nested)
        if self.aliases and isinstance(tp, self.aliases):
            outer, self.module = self.module, sys.modules.get(tp.__module__, self.module)
            try:  # its value may be a string, named in the alias's module
                return self.read(tp.__value__, where, nested)
            finally:
                self.module = outer
        if origin is Union or isinstance(tp, types.UnionType):
            return one_of([self.read(arg, where, nested) for arg in get_args(tp)])
        if tp is list:
            return ListOf(AnyValue())
        if origin is list:
            return ListOf(self.read(get_args(tp)[0], where, True))
        if tp is dict:
            return DictOf(AnyValue())
        if origin is dict:
            key, value = get_args(tp)
            return DictOf(self.read(value, where, True), self.keys(tp, key, where))
        if _is_class(tp) and (_is_typeddict(tp) or dataclasses.is_dataclass(tp)):
            return self.record(tp)
        if _is_class(origin) and (_is_typeddict(origin) or dataclasses.is_dataclass(origin)):
            raise self.error(
                where,
                f"{show(tp)}: a generic {origin.__name__} is not a message type",
                "declare a class per use, with its fields spelled out",
            )
        if isinstance(tp, (str, typing.ForwardRef)) and self.module is not None:
            return self.named(tp, where, nested)
        if isinstance(tp, str):
            raise self.error(where, f"{tp!r} is a string, not a type (give the class itself)")
        if _is_class(tp):
            raise self.error(
                where,
                f"{show(tp)} is a class that is neither a TypedDict nor a dataclass",
                f"{show(tp)} is a pydantic model, {PYDANTIC}" if is_pydantic_model(tp) else _HINT,
            )
        raise self.error(where, f"{show(tp)} is not a message type")

    def named(self, ref: str | typing.ForwardRef, where: str, nested: bool) -> Node:
        """What a string inside an annotation names; an alias reached again through its name
        (`list["Json"]` inside `Json`) is named by it."""
        target = self.resolve(ref, where)
        seen = self.open.get(id(target))
        if seen is not None and not seen[1].name:
            text = ref if isinstance(ref, str) else ref.__forward_arg__
            seen[1].name = text if text.isidentifier() else "Alias"
        return self.read(target, where, nested)

    def keys(self, tp: Any, key: Any, where: str) -> Literals | None:
        """The keys a `dict[K, V]` allows: None for any string."""
        if key is str:
            return None
        node = self.read(key, where, True) if key is not Any else AnyValue()
        if isinstance(node, Literals) and all(type(v) is str for v in node.values):
            return node
        raise self.error(where, f"{show(tp)}: {_KEYS}")

    def literals(self, tp: Any, where: str) -> Literals:
        values = []
        for value in get_args(tp):
            if isinstance(value, enum.Enum):
                value = self.enum_value(value, where)
            elif value is not None and type(value) not in (str, int, bool):
                raise self.error(
                    where,
                    f"{show(tp)}: {value!r} is not a JSON value (Literal takes str, int, bool "
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
        if isinstance(member, enum.Flag):  # its value is an int, its members are not
            raise self.error(where, f"{kind} is a Flag but not an IntFlag", _FLAG_HINT)
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
                defaulted = f.default is not dataclasses.MISSING or (
                    f.default_factory is not dataclasses.MISSING
                )
                node = self.read(hints[f.name], f"{cls.__name__}.{f.name}", True)
                required = not defaulted or self.label == "sends"
                fields.append(Field(f.name, node, required, defaulted))
        else:
            required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
            for name, hint in hints.items():
                hint, required = self.requiredness(hint, name in required_keys)
                node = self.read(hint, f"{cls.__name__}.{name}", True)
                fields.append(Field(name, node, required))
        self.module = outer
        record.fields = tuple(fields)
        unrun = pydantic_checks(cls) if self.label == "receives" else None
        if unrun:
            self.notes.append(
                f"receives: {cls.__name__} is a pydantic dataclass: wsside checks the types "
                f"of its fields, not its {unrun}; build it in the handler to run them "
                f"({cls.__name__}(**data) raises pydantic's ValidationError)"
            )
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


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _is_class(tp: Any) -> bool:
    # Python 3.10 counts `list[int]` as a type too.
    return isinstance(tp, type) and get_origin(tp) is None


# A handler file's module name (`wsside_handlers.chat.`, `wsside_handlers.chess%2Ev2.` for
# chess.v2.py: module_names.py): wsside's, which no user wrote.
_HANDLER_MODULE = re.compile(r"\bwsside_handlers\.[\w.%]*\.")


def show(tp: Any) -> str:
    """`tp` as the handler file spells it: its names without their modules."""
    if _is_class(tp):
        return str(tp.__qualname__)
    text = repr(tp)
    # repr qualifies each class by its module (`wsside_handlers.chat.Item`): the names alone.
    for module in sorted(_modules(tp), key=len, reverse=True):
        text = text.replace(module + ".", "")
    return _HANDLER_MODULE.sub("", text)


def _modules(tp: Any) -> set[str]:
    found = {"typing", "collections.abc", "builtins"}
    for arg in (*get_args(tp), get_origin(tp)):
        if _is_class(arg):
            found.add(arg.__module__)
        elif arg is not None and not isinstance(arg, (str, int, list)):
            found |= _modules(arg)
    return found
