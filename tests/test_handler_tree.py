"""A grown handler tree: routing among many patterns, and what a helper's save reloads.

The reload tests run a real `wsside serve` (reload on) and wait on its stderr lines; each
save goes through a rename, as editors save.
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside.pattern import Pattern, PatternIndex

REPLY = """
from wsside import Handler
h = Handler("{pattern}")

@h.on_message
def reply(conn, data):
    conn.send({{"value": {value}}})
"""


def save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(textwrap.dedent(text))
    os.replace(temp, path)


def reply_file(pattern: str, imports: str, value: str) -> str:
    return imports + "\n" + textwrap.dedent(REPLY.format(pattern=pattern, value=value))


class Tree:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.serve: ServeProcess | None = None
        self.session: aiohttp.ClientSession | None = None
        self.marks = 0

    async def start(self) -> None:
        self.serve = await ServeProcess.start(
            "--port", str(self.port), "--handlers", "ws", cwd=self.folder.parent
        )
        await self.serve.expect("serving")
        self.session = aiohttp.ClientSession()

    async def ask(self, path: str) -> object:
        assert self.session is not None
        async with self.session.ws_connect(f"ws://127.0.0.1:{self.port}/api{path}") as ws:
            await ws.send_str("?")
            return (await ws.receive_json())["value"]

    async def loads_until_sentinel(self) -> list[str]:
        """The files reloaded before the sentinel, saved now: its name sorts last, so its
        reload comes after every reload of the change before it."""
        assert self.serve is not None
        self.marks += 1
        sentinel = "zzz.py"
        save(self.folder / sentinel, reply_file("/ws/sentinel", "", str(self.marks)))
        start = len(self.serve.lines)
        # One bound for them all: a reload repeating without end fails here.
        await self.serve.expect(f" ws/{sentinel} (")  # added the first time, then reloaded
        loads = [
            re.search(r" (?:reloaded|added) (\S+) \(", line) for line in self.serve.lines[start:]
        ]
        return [load.group(1) for load in loads if load is not None][:-1]


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    folder = tmp_path / "ws"
    folder.mkdir()
    t = Tree(folder)
    yield t
    if t.session is not None:
        await t.session.close()
    if t.serve is not None:
        await t.serve.stop()


async def test_a_helpers_save_reloads_the_files_that_import_it_and_only_those(tree: Tree) -> None:
    ws = tree.folder
    save(ws / "_base.py", "VALUE = 1\n")
    save(ws / "_mid.py", "from _base import VALUE\n")  # imports _base: its importers too
    save(ws / "_other.py", "VALUE = 10\n")
    save(ws / "_lib/__init__.py", "from .db import VALUE\n")
    save(ws / "_lib/db.py", "VALUE = 100\n")
    save(ws / "direct.py", reply_file("/ws/direct", "import _base", "_base.VALUE"))
    save(ws / "rooms/through.py", reply_file("/ws/through", "import _mid", "_mid.VALUE"))
    save(
        ws / "games/chess/dynamic.py",
        reply_file(
            "/ws/dynamic", "import importlib\nbase = importlib.import_module('_base')", "base.VALUE"
        ),
    )
    save(ws / "other.py", reply_file("/ws/other", "import _other", "_other.VALUE"))
    save(ws / "package.py", reply_file("/ws/package", "from _lib import VALUE", "VALUE"))
    save(ws / "zzz.py", reply_file("/ws/sentinel", "", "0"))
    await tree.start()
    assert [await tree.ask(p) for p in ("/ws/direct", "/ws/through", "/ws/dynamic")] == [1, 1, 1]

    save(ws / "_base.py", "VALUE = 2\n")
    loaded = await tree.loads_until_sentinel()
    assert sorted(loaded) == ["ws/direct.py", "ws/games/chess/dynamic.py", "ws/rooms/through.py"]
    assert [await tree.ask(p) for p in ("/ws/direct", "/ws/through", "/ws/dynamic")] == [2, 2, 2]
    assert await tree.ask("/ws/other") == 10

    save(ws / "_lib/db.py", "VALUE = 200\n")  # a module of a helper package
    assert await tree.loads_until_sentinel() == ["ws/package.py"]
    assert await tree.ask("/ws/package") == 200


async def test_a_file_that_failed_for_a_helper_loads_when_the_helper_is_fixed(tree: Tree) -> None:
    ws = tree.folder
    save(ws / "_shared.py", "VALUE = 1 / 0\n")
    save(ws / "uses.py", reply_file("/ws/uses", "import _shared", "_shared.VALUE"))
    save(ws / "zzz.py", reply_file("/ws/sentinel", "", "0"))
    await tree.start()
    save(ws / "_shared.py", "VALUE = 3\n")
    assert await tree.loads_until_sentinel() == ["ws/uses.py"]
    assert await tree.ask("/ws/uses") == 3


async def test_connections_are_served_between_the_files_of_one_reload(tree: Tree) -> None:
    # Ten files whose import takes a while change at once; a message sent once the first has
    # loaded is answered before the last has (each answer says how many had loaded then).
    ws = tree.folder
    save(ws / "_count.py", "loaded = 0\n")
    save(ws / "echo.py", reply_file("/ws/echo", "import _count", "_count.loaded"))
    slow = "import time\nimport _count\n_count.loaded += 1\ntime.sleep(0.05)\n"
    for n in range(10):
        save(ws / f"slow{n}.py", slow + "VERSION = 0\n")
    await tree.start()
    assert tree.serve is not None and tree.session is not None
    url = f"ws://127.0.0.1:{tree.port}/api/ws/echo"
    async with tree.session.ws_connect(url) as conn:
        await conn.send_str("?")
        at_start = (await conn.receive_json())["value"]
        for n in range(10):
            save(ws / f"slow{n}.py", slow + "VERSION = 1\n")
        await tree.serve.expect("reloaded")
        await conn.send_str("?")
        assert (await conn.receive_json())["value"] - at_start < 10
        await tree.serve.expect("reloaded ws/slow9.py")


def _patterns() -> list[str]:
    rng = random.Random(7)
    words = ["ws", "rooms", "games", "chess", "a", "b", ""]
    out = set()
    while len(out) < 300:
        segments = []
        for _ in range(rng.randint(1, 4)):
            kind = rng.random()
            if kind < 0.6:
                segments.append(rng.choice(words))
            elif kind < 0.75:
                segments.append(f"{{v{len(segments)}}}")
            elif kind < 0.85:
                segments.append(rng.choice(["*", "?", "g*", "**"]))
            else:
                segments.append(f"{{n{len(segments)}:[0-9]+}}")
        out.add("/" + "/".join(segments))
    ordered = sorted(out)
    rng.shuffle(ordered)
    return ordered


def test_the_index_routes_every_path_as_a_scan_in_declaration_order_does() -> None:
    patterns = [Pattern(p) for p in _patterns()]
    index = PatternIndex((p, n) for n, p in enumerate(patterns))
    rng = random.Random(11)
    parts = ["ws", "rooms", "games", "chess", "a", "b", "", "12", "gx", "x"]
    paths = {"/", "//", "/ws", "/ws/", *(p.source for p in patterns)}
    while len(paths) < 3000:
        paths.add("/" + "/".join(rng.choice(parts) for _ in range(rng.randint(1, 5))))
    for path in paths:
        scanned = next(
            ((n, params) for n, p in enumerate(patterns) if (params := p.match(path)) is not None),
            None,
        )
        indexed = next(
            (
                (n, params)
                for n, p, _ in index.candidates(path)
                if (params := p.match(path)) is not None
            ),
            None,
        )
        assert indexed == scanned, path
