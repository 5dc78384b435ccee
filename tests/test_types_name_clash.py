"""Two classes of one name in one endpoint's types (`receives=models.ChatIn | ChatIn`): the
TypeScript names they get (`ChatIn`, `ChatIn2`) follow their order of use, so loading the file
warns, once per load, naming both classes, where each is defined, and the name each got. A
class whose name TypeScript does not take (`TypedDict("Pm-Out", ...)`, `class default`) gets
one it takes (`PmOut`, `default2`), and loading the file says which."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from serve_process import ServeProcess, free_port
from test_types_tsc import compiler
from test_types_tsc_shapes import types_then_tsc

__all__ = ["compiler"]  # the fixture, taken from test_types_tsc

WSSIDE = Path(sys.executable).parent / "wsside"

MODELS = "from typing import TypedDict\n\n\nclass ChatIn(TypedDict):\n    text: str\n"
CHAT = """from typing import TypedDict

import _models as models
from wsside import Handler


class ChatIn(TypedDict):
    body: str


class Ban(TypedDict):
    user: str


chat = Handler("/ws/chat", receives={receives})
"""
OTHER = "from wsside import Handler\n\nother = Handler('/ws/other', receives=str)\n"
CLASH = "uses two classes named ChatIn"
THEIRS = "_models.ChatIn (ws/_models.py:4)"
MINE = "chat.ChatIn (ws/chat.py:7)"


def warning(first: str, second: str) -> str:
    return (
        f"wsside-env.d.ts: /ws/chat (ws/chat.py:15) uses two classes named ChatIn, {first} "
        f"and {second}: they are named WsChat.ChatIn and WsChat.ChatIn2, in the order it first "
        "uses them (reordering receives= or sends= swaps the names under the page's code); "
        "rename one of them"
    )


def write(folder: Path, receives: str) -> None:
    (folder / "chat.py").write_text(CHAT.format(receives=receives))


async def test_a_class_name_two_classes_share_is_warned_once_per_load(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "_models.py").write_text(MODELS)
    write(ws, "models.ChatIn | ChatIn | Ban")
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(free_port()), cwd=tmp_path)
    try:
        await serve.expect("serving on")
        clashes = [line for line in serve.lines if CLASH in line]
        assert len(clashes) == 1, "".join(serve.lines)
        assert clashes[0].rstrip("\n").endswith(warning(THEIRS, MINE)), clashes[0]

        # Another file's load: no part in it, no warning again.
        (ws / "other.py").write_text(OTHER)
        await serve.expect("added ws/other.py")
        assert len([line for line in serve.lines if CLASH in line]) == 1, "".join(serve.lines)

        # The union reordered: the names swap, and the warning says so.
        seen = len(serve.lines)
        write(ws, "ChatIn | models.ChatIn | Ban")
        await serve.expect("reloaded ws/chat.py")
        clashes = [line for line in serve.lines[seen:] if CLASH in line]
        assert len(clashes) == 1, "".join(serve.lines[seen:])
        assert clashes[0].rstrip("\n").endswith(warning(MINE, THEIRS)), clashes[0]
    finally:
        assert await serve.stop() == 0


def test_the_warning_names_what_the_file_writes(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "_models.py").write_text(MODELS)
    write(ws, "models.ChatIn | ChatIn | Ban")
    done = run_types(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"wsside types: {warning(THEIRS, MINE)}\n"
    # models.ChatIn (text) is ChatIn, the handler file's own (body) ChatIn2.
    assert "  interface ChatIn {\n    text: string\n  }" in done.stdout, done.stdout
    assert "  interface ChatIn2 {\n    body: string\n  }" in done.stdout, done.stdout


def test_one_class_used_twice_and_a_free_numbered_name_are_no_clash(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "echo.py").write_text(
        "from typing import TypedDict\n\nfrom wsside import Handler\n\n\n"
        "class Item(TypedDict):\n    a: int\n\n\n"
        "class Item2(TypedDict):\n    b: int\n\n\n"
        "class Box(TypedDict):\n    one: Item\n    two: Item2\n\n\n"
        "echo = Handler('/ws/echo', receives=Box | Item, sends=Item | Box)\n"
    )
    done = run_types(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr


def test_a_handler_file_with_a_dot_in_its_name_is_named_as_written(tmp_path: Path) -> None:
    """ws/chat.v2.py loads as `wsside_handlers.chat%2Ev2`: before, the warning named its class
    `chat%2Ev2.ChatIn`."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "_models.py").write_text(MODELS)
    (ws / "chat.v2.py").write_text(CHAT.format(receives="models.ChatIn | ChatIn | Ban"))
    done = run_types(tmp_path)
    assert done.returncode == 0, done.stderr
    expected = warning(THEIRS, "chat.v2.ChatIn (ws/chat.v2.py:7)")
    expected = expected.replace("ws/chat.py:15", "ws/chat.v2.py:15")
    assert done.stderr == f"wsside types: {expected}\n", done.stderr
    assert "%2E" not in done.stderr


def run_types(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WSSIDE), "types"], cwd=cwd, capture_output=True, text=True, timeout=60
    )


# Names TypeScript does not take (before, written as they are: `interface Pm-Out {` is a
# syntax error, `interface default` TS2427), beside a class of the name one of them is spelled
# as, used after it: a name TypeScript takes is kept, whatever the order.
UNTAKEN = """from typing import Literal, TypedDict

from typing_extensions import TypeAliasType
from wsside import Handler


class default(TypedDict):
    type: Literal["d"]


class PmOut(TypedDict):
    type: Literal["mine"]


class new(TypedDict):
    type: Literal["n"]
    tree: "Tree"


PmOutDash = TypedDict("Pm-Out", {"type": Literal["pm"], "text": str})
Tree = TypeAliasType("3-Tree", "dict[str, Tree] | int")

names = Handler("/ws/names", receives=default | PmOutDash | PmOut | new, sends=new)
"""
UNTAKEN_PAGE = """import { connect } from 'vite-plugin-wsside/client'
import type { WsNames } from './wsside-env'

export const d: WsNames.default2 = { type: 'd' }
export const pm: WsNames.PmOut2 = { type: 'pm', text: 'hi' }
export const mine: WsNames.PmOut = { type: 'mine' }
export const tree: WsNames.Type3Tree = { a: { b: 1 } }
// @ts-expect-error: PmOut is the user's own class, not Pm-Out
export const wrong: WsNames.PmOut = { type: 'pm', text: 'hi' }
const c = connect('/ws/names')
c.send({ type: 'n', tree: { a: 1 } })
c.on('n', (m) => { const n: WsNames.new2 = m; console.log(n) })
"""


def untaken_note(kind: str, name: str, where: str, given: str) -> str:
    return (
        f"wsside types: wsside-env.d.ts: /ws/names (ws/names.py:23) uses {kind} named {name}, "
        f"{where}, which TypeScript does not take as a type name: it is named WsNames.{given}; "
        "rename it to have one name in both"
    )


def test_names_typescript_does_not_take_are_renamed_and_compile(
    tmp_path: Path, compiler: str
) -> None:
    text = types_then_tsc(tmp_path, compiler, {"names.py": UNTAKEN}, UNTAKEN_PAGE)
    assert "  type Receives = default2 | PmOut2 | PmOut | new2\n" in text, text
    for line in ["interface default2 {", "interface PmOut2 {", "interface PmOut {"]:
        assert f"\n  {line}\n" in text, text
    assert "\n  type Type3Tree = { [key: string]: Type3Tree } | number\n" in text, text


def test_a_name_typescript_does_not_take_is_said_with_the_name_given(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "names.py").write_text(UNTAKEN)
    done = run_types(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        untaken_note("a class", "default", "names.default (ws/names.py:7)", "default2"),
        untaken_note("a class", "Pm-Out", "names.Pm-Out (ws/names.py)", "PmOut2"),
        untaken_note("a class", "new", "names.new (ws/names.py:15)", "new2"),
        untaken_note("an alias", "3-Tree", "the alias names.3-Tree", "Type3Tree"),
    ], done.stderr
