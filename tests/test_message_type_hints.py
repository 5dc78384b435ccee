"""What a refused message type says to do instead: a pydantic model (BaseModel) is neither a
TypedDict nor a dataclass, and the error says what wsside reads in its place (a pydantic
dataclass, a TypedDict or a dataclass). wsside tells a model without importing pydantic. A
pydantic dataclass's validators and Field constraints, which wsside does not run, are warned
of at load, and a model sent says how to send it.

An IntFlag reads as an int its members combine into (`Perm(3)` is `READ | WRITE`), a plain
Flag says to make it an IntFlag, and an enum with no members is refused naming the field."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, Optional, TypedDict

import pytest

from serve_process import ServeProcess, free_port
from wsside.schema import Scalar, Schema

WSSIDE = Path(sys.executable).parent / "wsside"

PYDANTIC = (
    "Kick is a pydantic model, which wsside does not read: declare it with "
    "@pydantic.dataclasses.dataclass instead of BaseModel (wsside reads that as a dataclass, "
    "and checks each message against its fields' types; its validators run where you build "
    "it: Model(**data)), or make it a TypedDict or a dataclass"
)
REFUSED = "receives: Kick is a class that is neither a TypedDict nor a dataclass; "

HANDLER = """from typing import TypedDict

import pydantic
from wsside import Handler


class Chat(TypedDict):
    text: str


class Kick({base}):
    user: str


h = Handler("/ws/mod", receives=Chat | Kick)
"""


async def test_a_pydantic_model_in_receives_says_what_to_use_instead(tmp_path: Path) -> None:
    pytest.importorskip("pydantic")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "mod.py").write_text(HANDLER.format(base="pydantic.BaseModel"))
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(free_port()), cwd=tmp_path)
    try:
        line = await serve.expect("cannot load ws/mod.py")
        assert line.rstrip("\n").endswith(f"TypeError: {REFUSED}{PYDANTIC}"), line
    finally:
        await serve.stop()


class Kick:
    """Like a pydantic v2 model to wsside, without pydantic: its `__pydantic_fields__`."""

    __pydantic_fields__: ClassVar[dict[str, Any]] = {"user": None}


# Like a pydantic v1 model: a base named BaseModel from a pydantic module.
OldKick = type("Kick", (type("BaseModel", (), {"__module__": "pydantic.v1.main"}),), {})
Plain = type("Kick", (), {"__annotations__": {"user": str}})
# Another library's model (or a user's class) with a `model_fields`: no pydantic model.
Fielded = type("Kick", (), {"model_fields": {"user": None}})


@pytest.mark.parametrize("model", [Kick, OldKick])
def test_a_model_is_told_without_importing_pydantic(model: type) -> None:
    with pytest.raises(TypeError) as raised:
        Schema(model, "receives")
    assert str(raised.value) == REFUSED + PYDANTIC


@pytest.mark.parametrize("cls", [Plain, Fielded])
def test_another_class_gets_the_list_of_message_types(cls: type) -> None:
    """Before, a class with a `model_fields` attribute was said to be a pydantic model."""
    with pytest.raises(TypeError) as raised:
        Schema(cls, "receives")
    assert str(raised.value).startswith(REFUSED + "a message type is a TypedDict, a dataclass")


def test_a_pydantic_dataclass_is_read_and_checked() -> None:
    """What the hint offers works: a pydantic dataclass is a dataclass to wsside, and each
    message is checked against its fields."""
    dataclasses = pytest.importorskip("pydantic.dataclasses")

    @dataclasses.dataclass
    class Kick:
        user: str
        minutes: int = 5

    schema = Schema(Kick, "receives")
    assert schema.check({"user": "ann"}) is None
    assert schema.check({"user": "ann", "minutes": "ten"}) == "minutes: expected int, got str"


async def test_a_type_of_a_file_with_a_dot_in_its_name_is_named_as_written(
    tmp_path: Path,
) -> None:
    """games/chess.v2.py loads as `wsside_handlers.games.chess%2Ev2`: before, its NewType was
    shown as `chess%2Ev2.UserId`."""
    games = tmp_path / "ws" / "games"
    games.mkdir(parents=True)
    (games / "chess.v2.py").write_text(
        "from typing import NewType\n\nfrom wsside import Handler\n\n"
        "UserId = NewType('UserId', str)\n"
        "h = Handler('/ws/chess', receives=set[UserId])\n"
    )
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(free_port()), cwd=tmp_path)
    try:
        line = await serve.expect("cannot load ws/games/chess.v2.py")
        assert "TypeError: receives: set[UserId] is not a message type; " in line, line
    finally:
        await serve.stop()


VALIDATED = """from typing import Annotated

from pydantic import Field, field_validator
from pydantic.dataclasses import dataclass
from wsside import Handler


@dataclass
class ChatIn:
    text: Annotated[str, Field(min_length=1)]
    room: str = "lobby"

    @field_validator("text")
    @classmethod
    def no_shouting(cls, text: str) -> str:
        return text


@dataclass
class Leave:
    room: str


h = Handler("/ws/chat", receives=ChatIn | Leave, sends=ChatIn)
"""


async def test_a_pydantic_dataclass_s_own_checks_are_warned_of_at_load(tmp_path: Path) -> None:
    """A team that follows the hint keeps its validators and constraints, which wsside does
    not run: loading says so, for receives= only (what is sent is built, so checked, by the
    handler), and a plain pydantic dataclass says nothing."""
    pytest.importorskip("pydantic")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "chat.py").write_text(VALIDATED)
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(free_port()), cwd=tmp_path)
    try:
        line = await serve.expect("pydantic dataclass")
        await serve.expect("serving")
    finally:
        await serve.stop()
    assert line.rstrip("\n").endswith(
        "ws/chat.py:24: receives: ChatIn is a pydantic dataclass: wsside checks the types of "
        "its fields, not its validators (no_shouting) nor Field constraints (text); build it "
        "in the handler to run them (ChatIn(**data) raises pydantic's ValidationError)"
    ), line
    assert sum("pydantic dataclass" in seen for seen in serve.lines) == 1, serve.lines


def test_a_pydantic_model_sent_says_to_send_its_dict() -> None:
    pydantic = pytest.importorskip("pydantic")
    from wsside._protocol.codec import encode

    class Score(pydantic.BaseModel):
        points: int

    for sent in (Score(points=1), {"score": Score(points=1)}):
        with pytest.raises(
            TypeError, match=r'pydantic model: send its \.model_dump\(mode="json"\)'
        ):
            encode(sent)


class Perm(enum.IntFlag):
    READ = 1
    WRITE = 2


class Grant(TypedDict):
    perm: Perm
    maybe: Optional[Perm]  # noqa: UP045 - a runtime annotation on 3.10


def test_an_int_flag_takes_its_members_combined() -> None:
    """Before, read as Literal[1, 2] (its single-bit members): 3, which Perm(3) takes, and 0
    were refused."""
    for label in ("receives", "sends"):
        schema = Schema(Grant, label)
        assert schema.node.fields[0].node == Scalar("int", flag=Perm)  # type: ignore[union-attr]
        for value in (3, 0, 1, Perm.READ | Perm.WRITE):
            assert schema.check({"perm": value, "maybe": value}) is None, value
        assert schema.check({"perm": 1, "maybe": None}) is None
    schema = Schema(Grant, "receives")
    # -1 is an int Perm takes, as READ | WRITE: the handler would get -1, not 3.
    assert schema.check({"perm": -1, "maybe": 1}) == "perm: expected Perm, got -1"
    assert schema.check({"perm": "3", "maybe": 1}) == "perm: expected Perm, got str"
    assert schema.check({"perm": True, "maybe": 1}) == "perm: expected Perm, got bool"
    assert schema.check({"perm": 1, "maybe": 1.5}) == "maybe: expected Perm or None, got float"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="boundary= is Python 3.11's")
def test_a_strict_int_flag_refuses_a_bit_it_has_no_member_for() -> None:
    class Strict(enum.IntFlag, boundary=enum.STRICT):
        A = 1
        B = 2

    schema = Schema(Strict, "receives")
    assert schema.check(3) is None
    assert schema.check(4) == "expected Strict, got 4"


def test_an_int_flag_is_a_number_in_typescript(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "grant.py").write_text(
        "import enum\nfrom typing import TypedDict\nfrom wsside import Handler\n\n"
        "class Perm(enum.IntFlag):\n    READ = 1\n    WRITE = 2\n\n"
        "class Grant(TypedDict):\n    perm: Perm\n\n"
        "h = Handler('/ws/grant', receives=Grant)\n"
    )
    done = subprocess.run(
        [str(WSSIDE), "types"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "  interface Grant {\n" in done.stdout, done.stdout
    assert "    perm: number\n" in done.stdout, done.stdout


class Shades(enum.Flag):
    LIGHT = 1
    DARK = 2


def test_a_flag_that_is_not_an_int_flag_says_to_make_it_one() -> None:
    for tp in (Shades, Literal[Shades.LIGHT]):
        with pytest.raises(TypeError) as raised:
            Schema(tp, "receives")
        assert str(raised.value) == (
            "receives: Shades is a Flag but not an IntFlag; the page sends its value, and the "
            "handler gets it as a plain int, which equals the members of an IntFlag only: make "
            "it an IntFlag, or use int"
        )


class Empty(str, enum.Enum):
    pass


class Placeholder(TypedDict):
    kind: Empty


def test_an_enum_with_no_members_is_refused_naming_the_field() -> None:
    """Before, an IndexError from describe()."""
    with pytest.raises(TypeError) as raised:
        Schema(Placeholder, "sends")
    assert str(raised.value) == (
        "sends: Placeholder.kind: Empty is an enum with no members; no value fits it: give it "
        "members, or use the type of the values it will have"
    )
