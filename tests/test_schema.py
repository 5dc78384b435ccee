"""Message types (`wsside.schema`): what each construct accepts, the exact words of each
refusal, and the declaration errors for types that are not message types."""

import dataclasses
import enum
import json
import math
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any, Dict, List, Literal, Optional, TypedDict, Union  # noqa: UP035  (Dict, List: inputs under test)

import pytest

from wsside._runtime.loader import import_handler_file
from wsside.schema import (
    AnyValue,
    DictOf,
    Field,
    ListOf,
    Literals,
    OneOf,
    Record,
    Scalar,
    Schema,
)

if sys.version_info >= (3, 11):
    from typing import NotRequired, Required
else:  # typing's TypedDict learnt these in 3.11
    from typing_extensions import NotRequired, Required, TypedDict


def check(tp: Any, value: Any) -> str | None:
    return Schema(tp, "receives").check(value)


# ---- scalars ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "good", "bad", "message"),
    [
        (str, ["", "hi"], [1, None, b"x"], "expected str, got {}"),
        (bytes, [b"", b"\x00", bytearray(b"x")], ["x", 1], "expected bytes, got {}"),
        (int, [0, -3, 2**70], [1.5, True, "1", None], "expected int, got {}"),
        (float, [1.5, 0, -2], [True, "1.5", None], "expected float, got {}"),
        (bool, [True, False], [0, 1, "true", None], "expected bool, got {}"),
        (None, [None], [0, "", False], "expected None, got {}"),
        (type(None), [None], [0], "expected None, got {}"),
    ],
)
def test_scalars(tp: Any, good: list[Any], bad: list[Any], message: str) -> None:
    for value in good:
        assert check(tp, value) is None, value
    for value in bad:
        kind = "None" if value is None else type(value).__name__
        assert check(tp, value) == message.format(kind)


def test_a_float_past_its_range_is_refused() -> None:
    # `1e400` in a message reads as inf, which no JSON reply could carry.
    assert check(float, json.loads("1e400")) == "expected a finite float, got inf"
    assert check(float, -math.inf) == "expected a finite float, got -inf"
    assert check(float, math.nan) == "expected a finite float, got nan"
    assert check(float, 1.7e308) is None


def test_int_fits_float_but_bool_fits_neither_int_nor_float() -> None:
    assert check(float, 3) is None
    assert check(int, True) == "expected int, got bool"
    assert check(float, False) == "expected float, got bool"


def test_any_takes_everything() -> None:
    for value in (None, 1, "x", [1], {"a": object()}, b"x"):
        assert check(Any, value) is None
    assert Schema(Any, "receives").node == AnyValue()


# ---- containers -----------------------------------------------------------------------------


def test_list() -> None:
    assert check(list[int], [1, 2, 3]) is None
    assert check(list[int], (1, 2)) is None  # what Python sends as a JSON array
    assert check(list[int], []) is None
    assert check(list[int], [1, "2"]) == "[1]: expected int, got str"
    assert check(list[int], {"a": 1}) == "expected list, got dict"
    assert check(List[str], ["a"]) is None  # noqa: UP006  (typing.List is the input under test)
    assert check(list, [1, "x", None]) is None
    assert check(list[list[int]], [[1], [2, None]]) == "[1][1]: expected int, got None"


def test_dict() -> None:
    assert check(dict[str, int], {"a": 1, "b": 2}) is None
    assert check(dict[str, int], {"a": 1, "b": "2"}) == "b: expected int, got str"
    assert check(dict[str, int], {"a b": "2"}) == '["a b"]: expected int, got str'
    assert check(dict[str, int], [1]) == "expected dict, got list"
    assert check(Dict[str, Any], {"x": object()}) is None  # noqa: UP006  (typing.Dict is under test)
    assert check(dict, {"x": 1}) is None


# ---- Literal, unions ----------------------------------------------------------------------


def test_literal_compares_type_and_value() -> None:
    tp = Literal["a", 1, True, None]
    for value in ("a", 1, True, None):
        assert check(tp, value) is None
    assert check(Literal[1], True) == "expected 1, got True"
    assert check(Literal[True], 1) == "expected True, got 1"
    assert check(Literal["a", "b"], "c") == "expected 'a' or 'b', got 'c'"
    assert check(Literal["a", "b", "c"], ["a"]) == "expected 'a', 'b' or 'c', got list"
    assert check(Literal["x"], "y" * 80) == "expected 'x', got '" + "y" * 35 + "...'"


def test_optional_and_plain_unions() -> None:
    assert check(Optional[int], None) is None  # noqa: UP045  (typing.Optional is under test)
    assert check(int | None, 3) is None
    assert check(Optional[int], "3") == "expected int or None, got str"  # noqa: UP045  (as above)
    assert check(Union[str, bytes], b"x") is None  # noqa: UP007  (typing.Union is under test)
    assert check(str | list[str], ["a", 1]) == "[1]: expected str, got int"
    assert Schema(Optional[Optional[int]], "receives").node == OneOf(  # noqa: UP045  (under test)
        (Scalar("int"), Scalar("None"))
    )


# ---- TypedDict --------------------------------------------------------------------------------


class Item(TypedDict):
    name: str
    price: float


class Order(TypedDict):
    """An order from the page."""

    type: Literal["order"]
    items: list[Item]
    note: NotRequired[str | None]


class Chat(TypedDict):
    type: Literal["chat"]
    text: str


class Partial(TypedDict, total=False):
    a: int
    b: Required[str]


class Child(Partial):
    c: bool


def test_typeddict_fields_and_paths() -> None:
    good = {"type": "order", "items": [{"name": "a", "price": 1}, {"name": "b", "price": 2.5}]}
    assert check(Order, good) is None
    assert check(Order, {**good, "note": None}) is None
    assert check(Order, {**good, "note": "ring twice"}) is None
    bad = {
        "type": "order",
        "items": [{"name": "a", "price": 1}] * 2 + [{"name": "c", "price": "x"}],
    }
    assert check(Order, bad) == "items[2].price: expected float, got str"
    assert check(Order, {"type": "order"}) == "items: missing"
    assert check(Order, {**good, "note": 5}) == "note: expected str or None, got int"
    assert check(Order, [good]) == "expected Order, got list"
    assert check(Order, {**good, "type": "chat"}) == "type: expected 'order', got 'chat'"


def test_typeddict_allows_keys_it_does_not_declare() -> None:
    assert check(Chat, {"type": "chat", "text": "hi", "sent_at": 1}) is None


def test_total_false_required_and_inheritance() -> None:
    assert check(Partial, {"b": "x"}) is None
    assert check(Partial, {}) == "b: missing"
    assert check(Partial, {"b": "x", "a": "1"}) == "a: expected int, got str"
    assert check(Child, {"b": "x"}) == "c: missing"
    assert check(Child, {"b": "x", "c": True}) is None
    node = Schema(Child, "receives").node
    assert isinstance(node, Record)
    assert [(f.name, f.required) for f in node.fields] == [("a", False), ("b", True), ("c", True)]


def test_record_fields_take_exactly_what_their_types_take() -> None:
    class Fields(TypedDict):
        n: int
        x: float
        flag: bool
        tag: Literal["a", "b"] | None
        any: Any

    good = {"n": 1, "x": 2, "flag": False, "tag": None, "any": [object()]}
    assert check(Fields, good) is None
    assert check(Fields, {**good, "tag": "b"}) is None
    assert check(Fields, {**good, "n": True}) == "n: expected int, got bool"
    assert check(Fields, {**good, "x": True}) == "x: expected float, got bool"
    assert check(Fields, {**good, "flag": 1}) == "flag: expected bool, got int"
    assert check(Fields, {**good, "tag": "c"}) == "tag: expected 'a', 'b' or None, got 'c'"
    assert check(Fields, {**good, "tag": ["a"]}) == "tag: expected 'a', 'b' or None, got list"
    assert check(Fields, {k: v for k, v in good.items() if k != "any"}) == "any: missing"


def test_record_tree_keeps_names_and_docs() -> None:
    node = Schema(Order, "receives").node
    assert isinstance(node, Record)
    assert (node.name, node.doc) == ("Order", "An order from the page.")
    items = node.fields[1]
    assert isinstance(items.node, ListOf) and isinstance(items.node.item, Record)
    assert items.node.item.fields == (
        Field("name", Scalar("str"), True),
        Field("price", Scalar("float"), True),
    )
    assert node.fields[2] == Field("note", OneOf((Scalar("str"), Scalar("None"))), False)
    assert Schema(Literal["a", 1], "receives").node == Literals(("a", 1))
    assert Schema(dict[str, bool], "receives").node == DictOf(Scalar("bool"))


def test_annotated_reads_as_its_type() -> None:
    class Tagged(TypedDict):
        n: Annotated[int, "units"]
        m: Annotated[NotRequired[str], "doc"]

    assert check(Tagged, {"n": 1}) is None
    assert check(Tagged, {"n": "1"}) == "n: expected int, got str"
    assert check(Tagged, {"n": 1, "m": 2}) == "m: expected str, got int"


# ---- tagged unions ----------------------------------------------------------------------------


def test_tagged_union_dispatches_on_type() -> None:
    tp = Order | Chat
    assert check(tp, {"type": "chat", "text": "hi"}) is None
    assert check(tp, {"type": "chat", "text": 5}) == "text: expected str, got int"
    assert (
        check(tp, {"type": "order", "items": [{"name": 1}]})
        == "items[0].name: expected str, got int"
    )
    assert check(tp, {"type": "x"}) == "type: expected 'order' or 'chat', got 'x'"
    assert check(tp, {"type": ["chat"]}) == "type: expected 'order' or 'chat', got list"
    assert check(tp, {"text": "hi"}) == "type: missing"
    assert check(tp, "hello") == "expected Order or Chat, got str"


def test_union_tagged_by_another_key() -> None:
    class Up(TypedDict):
        kind: Literal["up"]
        by: int

    class Down(TypedDict):
        kind: Literal["down", "fall"]
        by: float

    assert check(Up | Down, {"kind": "fall", "by": 1.5}) is None
    assert check(Up | Down, {"kind": "up", "by": 1.5}) == "by: expected int, got float"
    assert check(Up | Down, {"kind": "left"}) == "kind: expected 'up', 'down' or 'fall', got 'left'"


def test_untagged_union_of_records_names_each_problem() -> None:
    class A(TypedDict):
        a: int

    class B(TypedDict):
        b: str

    assert check(A | B, {"b": "x"}) is None
    assert check(A | B, {"a": "x"}) == (
        "expected A or B, got dict (A: a: expected int, got str; B: b: missing)"
    )
    # Only one option is an object: its own words.
    assert check(A | None, {"a": "x"}) == "a: expected int, got str"
    assert check(A | str, 3) == "expected A or str, got int"


def test_recursive_types() -> None:
    node = {"value": 1, "children": [{"value": 2, "children": [{"value": True, "children": []}]}]}
    assert check(Tree, node) == "children[0].children[0].value: expected int, got bool"
    assert check(Tree, {"value": 1, "children": []}) is None


class Tree(TypedDict):
    value: int
    children: list["Tree"]


# ---- dataclasses -------------------------------------------------------------------------------


@dataclasses.dataclass
class Move:
    """A move in the game."""

    dx: int
    dy: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Plain:
    x: int


def test_dataclass_is_the_shape_of_an_object() -> None:
    assert check(Move, {"dx": 1}) is None
    assert check(Move, {"dx": 1, "dy": 2, "tags": ["a"]}) is None
    assert check(Move, {"dy": 2}) == "dx: missing"
    assert check(Move, {"dx": 1, "tags": [1]}) == "tags[0]: expected str, got int"
    # An instance (what a handler sends) is checked as the object of its fields it goes as.
    assert check(Move, Move(1)) is None
    misfit = Move("one")  # type: ignore[arg-type]  # a wrong field on purpose
    assert check(Move, misfit) == "dx: expected int, got str"
    assert check(Move, Move) == "expected Move, got type"
    node = Schema(Move, "receives").node
    assert isinstance(node, Record)
    assert node.doc == "A move in the game."
    assert [(f.name, f.required) for f in node.fields] == [
        ("dx", True),
        ("dy", False),
        ("tags", False),
    ]
    plain = Schema(Plain, "receives").node
    assert isinstance(plain, Record) and plain.doc is None  # not dataclasses' own signature text


# ---- types that are not message types ------------------------------------------------------------


class NotAMessage:
    pass


@pytest.mark.parametrize(
    ("tp", "message"),
    [
        (
            NotAMessage,
            "receives: NotAMessage is a class that is neither a TypedDict nor a dataclass",
        ),
        (list[complex], "receives: complex is a class that is neither a TypedDict nor a dataclass"),
        (
            dict[int, str],
            "receives: dict[int, str]: keys must be str, a Literal of strings or a StrEnum "
            "(JSON object keys are strings)",
        ),
        (tuple[int, int], "receives: tuple[int, int] is not a message type"),
        ("Chat", "receives: 'Chat' is a string, not a type (give the class itself)"),
        (
            Literal[1.5],
            "receives: Literal[1.5]: 1.5 is not a JSON value "
            "(Literal takes str, int, bool and None)",
        ),
    ],
)
def test_unsupported_types_raise_naming_what(tp: Any, message: str) -> None:
    with pytest.raises(TypeError) as info:
        Schema(tp, "receives")
    assert str(info.value).startswith(message + "; a message type is a TypedDict, a dataclass")


def test_unsupported_field_names_its_path() -> None:
    from collections.abc import Callable

    class Bad(TypedDict):
        ok: str
        author: Callable[[], str]

    with pytest.raises(
        TypeError, match=r"^sends: Bad\.author: Callable\[\[\], str\] is not a message type; "
    ):
        Schema(list[Bad], "sends")


def test_bytes_only_as_a_whole_message() -> None:
    assert check(bytes | Chat, b"x") is None

    class Upload(TypedDict):
        data: bytes

    for tp, where in ((Upload, "Upload.data: "), (list[bytes], ""), (dict[str, bytes | None], "")):
        with pytest.raises(TypeError) as info:
            Schema(tp, "receives")
        assert str(info.value) == (
            f"receives: {where}bytes inside a JSON message (only a whole message can be "
            "binary); send binary data as a message of its own, or as a base64 str"
        )


def write_handler(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "chat.py"
    path.write_text(textwrap.dedent(code))
    return path


def test_handler_files_with_future_annotations_resolve_in_their_module(tmp_path: Path) -> None:
    path = write_handler(
        tmp_path,
        """\
        from __future__ import annotations

        from typing import Literal, Optional, TypedDict
        try:
            from typing import NotRequired
        except ImportError:  # Python 3.10
            from typing_extensions import NotRequired
        from wsside import Handler

        class Author(TypedDict):
            name: str

        class ChatIn(TypedDict):
            type: Literal["chat"]
            text: str
            author: NotRequired[Author]
            reply_to: Optional[int]

        chat = Handler("/ws/chat", receives=ChatIn, sends=list[ChatIn])
    """,
    )
    result = import_handler_file(path, tmp_path)
    assert result.error is None, result.error
    (handler,) = result.handlers
    assert handler.receives is not None and handler.sends is not None
    fit = handler.receives.check
    assert fit({"type": "chat", "text": "x", "reply_to": None}) is None
    assert fit({"type": "chat", "text": "x", "reply_to": 1, "author": {"name": 2}}) == (
        "author.name: expected str, got int"
    )
    assert fit({"type": "chat", "text": "x"}) == "reply_to: missing"
    assert handler.sends.check([{"type": "chat"}]) == "[0].text: missing"


def test_an_unsupported_type_is_a_load_error_at_the_handler_line(tmp_path: Path) -> None:
    path = write_handler(
        tmp_path,
        """\
        from __future__ import annotations

        from typing import Callable, TypedDict
        from wsside import Handler

        class ChatIn(TypedDict):
            text: str
            author: Callable[[], str]

        chat = Handler(
            "/ws/chat",
            receives=ChatIn,
        )
    """,
    )
    result = import_handler_file(path, tmp_path)
    assert result.error is not None
    assert (result.error["file"], result.error["line"]) == (str(path), 10)
    assert result.error["message"].startswith(
        "TypeError: receives: ChatIn.author: Callable[[], str] is not a message type; "
    )


def test_a_name_defined_after_the_handler_is_a_load_error(tmp_path: Path) -> None:
    path = write_handler(
        tmp_path,
        """\
        from __future__ import annotations

        from typing import TypedDict
        from wsside import Handler

        class ChatIn(TypedDict):
            author: Author

        chat = Handler("/ws/chat", sends=ChatIn)

        class Author(TypedDict):
            name: str
    """,
    )
    result = import_handler_file(path, tmp_path)
    assert result.error is not None
    assert result.error["line"] == 9
    assert result.error["message"] == (
        "TypeError: sends: ChatIn: cannot resolve its annotations (NameError: name 'Author' "
        "is not defined); define every type it names before the Handler(...) that uses it"
    )


# ---- enums, aliases, generics -------------------------------------------------------------


class Color(enum.StrEnum if sys.version_info >= (3, 11) else str, enum.Enum):  # type: ignore[misc]
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shade(enum.Enum):
    A = "a"


def test_str_and_int_enums_are_the_literals_of_their_values() -> None:
    assert Schema(Color, "receives").node == Literals(("red", "blue"))
    assert Schema(Level, "receives").node == Literals((1, 2))
    assert Schema(Literal[Color.RED, Level.HIGH], "receives").node == Literals(("red", 2))
    # The node holds plain values, as the page sends them (and TypeScript writes them).
    assert [type(v) for v in Schema(Color | Level, "receives").node.values] == [str, str, int, int]  # type: ignore[union-attr]
    assert check(Color, "red") is None
    assert check(Color, "green") == "expected 'red' or 'blue', got 'green'"
    assert check(Level, 2) is None
    assert check(Level, True) == "expected 1 or 2, got True"
    assert check(Level, "1") == "expected 1 or 2, got '1'"


def test_a_message_with_enum_members_fits_as_its_json_would() -> None:
    """sends= is checked (debug mode) on the handler's own values, members included."""

    class Paint(TypedDict):
        type: Literal["paint"]
        color: Color
        level: Literal[Level.HIGH]

    class Erase(TypedDict):
        type: Literal["erase"]

    class Kind(enum.StrEnum if sys.version_info >= (3, 11) else str, enum.Enum):  # type: ignore[misc]
        PAINT = "paint"

    schema = Schema(Paint | Erase, "sends")
    assert schema.check({"type": "paint", "color": Color.BLUE, "level": Level.HIGH}) is None
    assert schema.check({"type": Kind.PAINT, "color": "blue", "level": 2}) is None
    assert schema.check({"type": "paint", "color": "blue", "level": Level.LOW}) == (
        "level: expected 2, got <Level.LOW: 1>"
    )


def test_an_enum_that_is_not_a_str_or_int_enum_is_refused() -> None:
    for tp in (Shade, Literal[Shade.A]):
        with pytest.raises(TypeError) as info:
            Schema(tp, "receives")
        assert str(info.value) == (
            "receives: Shade is an Enum but not a StrEnum or IntEnum; the page sends its values, "
            "and the handler gets them as plain str or int, which equal the members of a "
            "StrEnum or IntEnum only: make it one of those, or use Literal[...]"
        )


def test_a_type_alias_statement_reads_as_what_it_names() -> None:
    typing_extensions = pytest.importorskip("typing_extensions")
    Cells = typing_extensions.TypeAliasType("Cells", dict[str, list[int]])

    class Board(TypedDict):
        cells: Cells

    assert check(Board, {"cells": {"a": [1]}}) is None
    assert check(Board, {"cells": {"a": ["1"]}}) == "cells.a[0]: expected int, got str"


def test_a_generic_record_is_refused_by_its_own_name(tmp_path: Path) -> None:
    """Names as the handler file spells them, not as `repr` qualifies them."""
    path = write_handler(
        tmp_path,
        """\
        from typing import Generic, Literal, TypedDict, TypeVar
        from wsside import Handler

        T = TypeVar("T")

        class Page(TypedDict, Generic[T]):
            type: Literal["page"]
            items: list[T]

        class Item(TypedDict):
            id: int

        feed = Handler("/ws/feed", sends=Page[Item])
        """,
    )
    if sys.version_info < (3, 11):
        pytest.skip("generic TypedDicts need Python 3.11")
    result = import_handler_file(path, tmp_path)
    assert result.error is not None
    assert result.error["line"] == 13
    assert result.error["message"] == (
        "TypeError: sends: Page[Item]: a generic Page is not a message type; declare a class "
        "per use, with its fields spelled out"
    )
