"""Message types read from handler files (`wsside.schema`): recursive aliases as one named
node, dataclass defaults in what is sent, and refusals that name types as the file does."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, TypedDict

from wsside._runtime.loader import import_handler_file
from wsside.schema import Alias, ListOf, OneOf, Record, Schema


def load(tmp_path: Path, code: str) -> tuple[dict | None, list]:
    path = tmp_path / "m.py"
    path.write_text(code)
    result = import_handler_file(path, tmp_path)
    return result.error, result.handlers


def test_a_recursive_alias_is_one_node_that_holds_itself(tmp_path: Path) -> None:
    error, (handler,) = load(
        tmp_path,
        "from typing import TypedDict, Union\nfrom wsside import Handler\n"
        'Json = Union[str, int, None, list["Json"], dict[str, "Json"]]\n'
        "class A(TypedDict):\n    j: Json\n    many: list[Json]\n"
        "h = Handler('/ws/a', receives=A, sends=Json)\n",
    )
    assert error is None
    record = handler.receives.node
    assert isinstance(record, Record)
    json = record.fields[0].node
    assert isinstance(json, Alias) and json.name == "Json"
    assert record.fields[1].node == ListOf(json)
    assert isinstance(json.node, OneOf) and ListOf(json) in json.node.options
    assert isinstance(handler.sends.node, Alias) and handler.sends.node.name == "Json"
    assert handler.sends.check({"a": [1, None, {"b": "c"}]}) is None
    assert (
        handler.sends.check({"a": [1.5]})
        == "a[0]: expected str, int, None, list or dict, got float"
    )


def test_a_dataclass_field_with_a_default_is_required_in_what_is_sent() -> None:
    @dataclasses.dataclass(kw_only=True)
    class K:
        type: Literal["k"] = "k"
        n: int

    class S(TypedDict):
        type: Literal["s"]

    # What the page sends may leave it out; what the handler sends always has it (an
    # instance carries every field), so a dict without it is not what the types say.
    assert Schema(K, "receives").check({"n": 1}) is None
    assert Schema(K, "sends").check({"n": 1}) == "type: missing"
    assert Schema(K, "sends").check(K(n=1)) is None
    # ...and it tags a union: the member its tag names gives the words.
    union = Schema(K | S, "sends")
    assert union.check({"type": "x"}) == "type: expected 'k' or 's', got 'x'"
    assert union.check(K(n="1")) == "n: expected int, got str"  # type: ignore[arg-type]


def test_refusals_name_a_handler_file_s_types_without_wsside_s_module(tmp_path: Path) -> None:
    error, _ = load(
        tmp_path,
        "from typing import NewType, TypedDict\nfrom wsside import Handler\n"
        "UserId = NewType('UserId', int)\n"
        "class N(TypedDict):\n    pair: tuple[UserId, int]\n"
        "h = Handler('/ws/n', receives=N)\n",
    )
    assert error is not None
    assert error["message"].startswith(
        "TypeError: receives: N.pair: tuple[UserId, int] is not a message type; "
    ), error["message"]


def test_a_type_refused_at_the_handler_line_has_no_traceback(tmp_path: Path) -> None:
    """The report (Vite's terminal and overlay) is the one line `cannot load ws/m.py:5:
    TypeError: ...`: a traceback would show that line once more. One through a function of
    the user's, or a real exception, keeps its traceback."""
    types = "from typing import Callable, TypedDict\nfrom wsside import Handler\n"
    types += "class In(TypedDict):\n    f: Callable[[], str]\n"
    error, _ = load(tmp_path, types + "h = Handler('/ws/a', receives=In)\n")
    assert error is not None and (error["line"], error["traceback"]) == (5, None), error
    error, _ = load(
        tmp_path, types + "def make():\n    return Handler('/ws/a', receives=In)\nh = make()\n"
    )
    assert error is not None and "in make" in error["traceback"], error
    error, _ = load(tmp_path, "from wsside import Handler\nh = Handler('/ws/a', receives=1 / 0)\n")
    assert error is not None and "1 / 0" in error["traceback"], error
