"""What a refused message type says to do instead: a pydantic model (BaseModel) is neither a
TypedDict nor a dataclass, and the error says what wsside reads in its place (a pydantic
dataclass, a TypedDict or a dataclass). wsside tells a model without importing pydantic. A
pydantic dataclass's validators and Field constraints, which wsside does not run, are warned
of at load, and a model sent says how to send it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from serve_process import ServeProcess, free_port
from wsside.schema import Schema

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
