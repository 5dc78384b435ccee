"""Message types whose TypeScript needs care, through `wsside types` and the real compiler
(both TypeScripts of `test_types_tsc.py`, with the options of Vite's templates and a strict
team's): recursive aliases, a dataclass tag with a default, classes named like TypeScript's
own types or like each other, dicts keyed by a Literal or a StrEnum, and NewTypes. Each page
holds right uses and wrong ones marked `@ts-expect-error` (tsc reports a mark on a line that
is not an error)."""

from __future__ import annotations

from pathlib import Path

from test_types_tsc import compile_project, compiler, write_types

__all__ = ["compiler"]  # the fixture, taken from test_types_tsc

# The note over a field of Python's int (`typescript_types.WHOLE_NOTE`).
WHOLE = "    /** int: a whole number (1.5 is refused) */\n"

HEAD = "from typing import Literal, TypedDict\nfrom wsside import Handler\n"


def types_then_tsc(tmp_path: Path, compiler: str, files: dict[str, str], page: str) -> str:
    """`wsside types` for the handler `files` of ws/, then tsc over `page`; the generated
    file's text."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for name, text in files.items():
        (ws / name).write_text(text)
    write_types(tmp_path, ws)
    (tmp_path / "page.ts").write_text(page)
    done = compile_project(tmp_path, ["page.ts", "wsside-env.d.ts"], compiler)
    assert done.returncode == 0, done.stdout + done.stderr
    return (tmp_path / "wsside-env.d.ts").read_text()


def test_a_recursive_alias_is_a_named_recursive_type(tmp_path: Path, compiler: str) -> None:
    handler = HEAD + (
        "from typing import Union\nfrom typing_extensions import TypeAlias, TypeAliasType\n\n"
        'Json: TypeAlias = Union[str, int, float, bool, None, list["Json"], dict[str, "Json"]]\n'
        'Tree = TypeAliasType("Tree", "dict[str, Tree] | int")\n\n'
        "class A(TypedDict):\n    type: Literal['a']\n    j: Json\n    t: Tree\n\n"
        "h = Handler('/ws/aliasjson', receives=A, sends=A)\n"
    )
    page = (
        "import { connect } from 'vite-plugin-wsside/client'\n"
        "import type { WsAliasjson } from './wsside-env'\n"
        "const c = connect('/ws/aliasjson')\n"
        "c.send({ type: 'a', j: { x: [1, 'two', null, { y: true }] }, t: { a: { b: 1 } } })\n"
        "// @ts-expect-error: a Json holds no undefined\n"
        "c.send({ type: 'a', j: [undefined], t: 1 })\n"
        "// @ts-expect-error: a Tree's leaves are numbers\n"
        "c.send({ type: 'a', j: 1, t: { a: 'b' } })\n"
        "c.on('a', (m) => { const j: WsAliasjson.Json = m.j; console.log(j, m.t) })\n"
    )
    text = types_then_tsc(tmp_path, compiler, {"alias_json.py": handler}, page)
    assert "type Json = string | number | boolean | null | Json[] | { [key: string]: Json }" in text
    assert "type Tree = { [key: string]: Tree } | number" in text
    assert "    j: Json\n    t: Tree\n" in text


def test_a_dataclass_tag_with_a_default_narrows_what_is_sent(tmp_path: Path, compiler: str) -> None:
    """The wire carries every field of an instance: in what the server sends, a field with a
    default is required, so `on('k', ...)` narrows to K; K, sent both ways, is written so
    (the page then sends its every field); Up, only received, keeps its optional keys."""
    handler = HEAD + (
        "from dataclasses import dataclass\n\n"
        "@dataclass(kw_only=True)\nclass K:\n    type: Literal['k'] = 'k'\n    n: int\n"
        "    note: str = ''\n\n"
        "class S(TypedDict):\n    type: Literal['s']\n\n"
        "@dataclass(kw_only=True)\nclass Up:\n    type: Literal['up'] = 'up'\n    n: int = 0\n\n"
        "h = Handler('/ws/k', receives=Up | K, sends=K | S)\n"
    )
    page = (
        "import { connect } from 'vite-plugin-wsside/client'\n"
        "const c = connect('/ws/k')\n"
        "c.on('k', (m) => {\n"
        "  const n: number = m.n\n"
        "  const note: string = m.note\n"
        "  console.log(n, note)\n"
        "})\n"
        "c.send({})\n"
        "c.send({ type: 'up', n: undefined })\n"
        "c.send({ type: 'k', n: 1, note: '' })\n"
        "// @ts-expect-error: K's note is required both ways\n"
        "c.send({ type: 'k', n: 1 })\n"
    )
    text = types_then_tsc(tmp_path, compiler, {"k.py": handler}, page)
    k = "  interface K {\n    type: 'k'\n" + WHOLE + "    n: number\n    note: string\n  }"
    assert k in text
    up = (
        "  interface Up {\n    type?: 'up' | undefined\n"
        + WHOLE
        + "    n?: number | undefined\n  }"
    )
    assert up in text


def test_classes_named_like_typescript_types_or_like_each_other(
    tmp_path: Path, compiler: str
) -> None:
    helper = "from typing import TypedDict\n\nclass Item(TypedDict):\n    {field}: int\n"
    handler = HEAD + (
        "from _a import Item as ItemA\nfrom _b import Item as ItemB\n\n"
        "class string(TypedDict):\n    s: str\n\n"
        "class number(TypedDict):\n    n: int\n\n"
        "class Item2(TypedDict):\n    mine: str\n\n"
        "class Box(TypedDict):\n    x: ItemA\n    y: ItemB\n    z: Item2\n"
        "    s: string\n    n: number\n    plain: str\n\n"
        "h = Handler('/ws/names', receives=Box)\n"
    )
    page = (
        "import type { WsNames } from './wsside-env'\n"
        "export const box: WsNames.Box = {\n"
        "  x: { a: 1 }, y: { b: 2 }, z: { mine: 'm' }, s: { s: 's' }, n: { n: 1 }, plain: 'p',\n"
        "}\n"
        "export const mine: WsNames.Item2 = { mine: 'm' }\n"
        "// @ts-expect-error: Item2 is the user's own class, not _b's Item\n"
        "export const other: WsNames.Item2 = { b: 2 }\n"
    )
    files = {
        "_a.py": helper.format(field="a"),
        "_b.py": helper.format(field="b"),
        "names.py": handler,
    }
    text = types_then_tsc(tmp_path, compiler, files, page)
    for line in ["x: Item", "y: Item3", "z: Item2", "s: string2", "n: number2", "plain: string"]:
        assert f"    {line}\n" in text, text
    assert "interface Item3 {\n" + WHOLE + "    b: number\n  }" in text


def test_dict_keys_of_a_literal_or_a_str_enum(tmp_path: Path, compiler: str) -> None:
    handler = HEAD + (
        "from enum import Enum\n\n"
        "class Color(str, Enum):\n    RED = 'red'\n    BLUE = 'blue'\n\n"
        "class Paint(TypedDict):\n    score: dict[Literal['a', 'b'], int]\n"
        "    colors: dict[Color, int]\n\n"
        "h = Handler('/ws/paint', receives=Paint)\n"
    )
    page = (
        "import { connect } from 'vite-plugin-wsside/client'\n"
        "const c = connect('/ws/paint')\n"
        "c.send({ score: { a: 1 }, colors: { red: 1, blue: 2 } })\n"
        "c.send({ score: {}, colors: {} })\n"
        "// @ts-expect-error: c is not a key\n"
        "c.send({ score: { c: 1 }, colors: {} })\n"
        "// @ts-expect-error: green is not a Color\n"
        "c.send({ score: {}, colors: { green: 1 } })\n"
    )
    text = types_then_tsc(tmp_path, compiler, {"paint.py": handler}, page)
    assert "score: Partial<Record<'a' | 'b', number>>" in text


def test_a_new_type_is_its_base_type(tmp_path: Path, compiler: str) -> None:
    handler = HEAD + (
        "from typing import NewType\n\nUserId = NewType('UserId', int)\n\n"
        "class N(TypedDict):\n    user: UserId\n\n"
        "h = Handler('/ws/n', receives=N)\n"
    )
    page = (
        "import { connect } from 'vite-plugin-wsside/client'\n"
        "const c = connect('/ws/n')\n"
        "c.send({ user: 7 })\n"
        "// @ts-expect-error: a UserId is a number\n"
        "c.send({ user: '7' })\n"
    )
    text = types_then_tsc(tmp_path, compiler, {"newtype.py": handler}, page)
    assert "    user: number\n" in text
