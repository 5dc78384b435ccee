"""A handler file reloaded because a helper it imports was saved says which helper: its
`reloaded` event carries `because` (the saved helpers it imports), and the line says it,
`reloaded ws/game.py (/ws/game) in 46 ms: it imports ws/_state.py, which changed`. The
helper's module-level state started afresh too, and the line is where a person learns it.
A file that reloads for its own save, or that failed to load and is read again in case the
helper was why, names no helper it does not import.

`wsside serve` as a real subprocess, and test_reload's in-process sidecar with reload on, real
files and a real watcher; waits are on stderr lines and status events, bounded.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import test_reload
from serve_process import ServeProcess, free_port
from test_reload import Live
from wsside._runtime import events
from wsside.cli.console import ConsoleReporter

# test_reload's in-process sidecar with reload on, and the events it emits.
live = test_reload.live

HELPERS = ("_state", "_util", "_a", "_b", "_c", "_d", "_e", "common")


def handler(name: str, imports: str = "") -> str:
    return f'{imports}from wsside import Handler\n\n{name} = Handler("/ws/{name}")\n'


GAME = handler("game", "import _state\n")


@pytest.fixture(autouse=True)
def helpers_forgotten(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from test_reload.modules_forgotten(monkeypatch, HELPERS)


def because(event: dict[str, Any]) -> list[str]:
    """The names of the helpers a `reloaded` event names (each an absolute path)."""
    named = event.get("because", [])
    assert all(Path(file).is_absolute() for file in named), named
    return [Path(file).name for file in named]


async def test_wsside_serve_names_the_helper_whose_save_reloaded_a_file(tmp_path: Path) -> None:
    """The newcomer's walkthrough: saving `ws/_state.py` reloads `ws/game.py`, and the line
    says why; `other.py`, which failed to load and is read again in case the helper was why,
    does not import it and names nothing; game.py saved itself names nothing either."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "_state.py").write_text("players = {}\n")
    (ws / "game.py").write_text(GAME)
    # Fails to load until ready.txt is there (not a .py file: its creation reloads nothing).
    (ws / "other.py").write_text(
        handler("other", "from pathlib import Path\nPath(__file__).with_name('ready.txt').stat()\n")
    )
    server = await ServeProcess.start("--port", str(free_port()), "--handlers", "ws", cwd=tmp_path)
    try:
        await server.expect("serving on")
        (ws / "ready.txt").write_text("")
        (ws / "_state.py").write_text("players = {'ada': 1}\n")
        game, other = sorted(
            await server.expect_all("reloaded ws/game.py", "added ws/other.py"),
            key=lambda line: "other" in line,
        )
        assert re.search(
            r" wsside: reloaded ws/game\.py \(/ws/game\) in [\d.]+ ms: it imports ws/_state\.py, "
            r"which changed\n$",
            game,
        ), game
        assert re.search(r" wsside: added ws/other\.py \(/ws/other\) in [\d.]+ ms\n$", other)
        (ws / "game.py").write_text(GAME + "# saved\n")
        line = await server.expect("reloaded ws/game.py")
        assert re.search(r" wsside: reloaded ws/game\.py \(/ws/game\) in [\d.]+ ms\n$", line), line
    finally:
        assert await server.stop() == 0


async def test_a_file_that_failed_for_the_helper_names_it_when_it_loads(live: Live) -> None:
    """game.py never loaded, as the helper it imports had a syntax error: the helper's fix
    loads it, and its line names the helper."""
    live.write("_state.py", "players = (\n")
    live.write("game.py", GAME)
    await live.start()
    await live.reloaded("_state.py", 0, kind="load_error")  # the helper's error
    mark = len(live.events)
    live.write("_state.py", "players = {}\n")
    event = await live.reloaded("game.py", mark)
    assert because(event) == ["_state.py"]


async def test_a_file_that_failed_on_its_own_line_names_the_helper_it_imports(live: Live) -> None:
    """game.py never loaded, failing at its own line with what the helper holds (the
    importers it recorded then are asked too): the helper's save loads it, and names it."""
    live.write("_state.py", "players = {}\n")
    live.write("game.py", "import _state\n_state.players['ada']\n" + GAME)
    await live.start()
    error = await live.reloaded("game.py", 0, kind="load_error")
    assert error["message"] == "KeyError: 'ada'"
    mark = len(live.events)
    live.write("_state.py", "players = {'ada': 1}\n")
    event = await live.reloaded("game.py", mark)
    assert because(event) == ["_state.py"]


async def test_a_helper_reached_through_another_is_named(live: Live) -> None:
    live.write("_util.py", "X = 1\n")
    live.write("_state.py", "import _util\nplayers = {}\n")
    live.write("game.py", GAME)
    await live.start()
    mark = len(live.events)
    live.write("_util.py", "X = 2\n")
    assert because(await live.reloaded("game.py", mark)) == ["_util.py"]


async def test_a_handler_file_imported_by_name_names_itself_only_in_its_importers(
    live: Live,
) -> None:
    # `common.py` declares no handler and is not named like a helper: `chat.py` imports it
    # by its name, and its save reloads chat.py, as a helper's would.
    live.write("common.py", "VERSION = 1\n")
    live.write("chat.py", handler("chat", "from common import VERSION\n"))
    await live.start()
    mark = len(live.events)
    live.write("common.py", "VERSION = 2\n")
    chat = await live.reloaded("chat.py", mark)
    common = await live.reloaded("common.py", mark)
    assert because(chat) == ["common.py"]
    assert "because" not in common


async def test_helpers_saved_together_are_each_named_by_the_files_that_import_them(
    live: Live, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Five helpers written at once (one batch: the loop runs no flush between the writes):
    game.py imports them all, and its line names three and counts the rest; lobby.py names
    the two it imports."""
    monkeypatch.chdir(tmp_path)  # the lines name files from here: ws/_a.py
    lines = io.StringIO()
    console = ConsoleReporter(stream=lines)
    helpers = ["_a", "_b", "_c", "_d", "_e"]
    for name in helpers:
        live.write(f"{name}.py", "X = 1\n")
    live.write("game.py", handler("game", "".join(f"import {name}\n" for name in helpers)))
    live.write("lobby.py", handler("lobby", "import _a\nimport _b\n"))
    live.write("echo.py", handler("echo"))
    await live.start()
    events.subscribe(console)
    try:
        mark = len(live.events)
        for name in helpers:
            live.write(f"{name}.py", "X = 2\n")
        game = await live.reloaded("game.py", mark)
        # The files of a batch load in order: echo.py, had it been reloaded, came before.
        lobby = await live.reloaded("lobby.py", mark)
    finally:
        events.unsubscribe(console)
    assert because(game) == [f"{name}.py" for name in helpers]
    assert because(lobby) == ["_a.py", "_b.py"]
    said = lines.getvalue()
    assert re.search(
        r" wsside: reloaded ws/game\.py \(/ws/game\) in [\d.]+ ms: it imports ws/_a\.py, "
        r"ws/_b\.py, ws/_c\.py and 2 more, which changed\n",
        said,
    ), said
    assert re.search(
        r" wsside: reloaded ws/lobby\.py \(/ws/lobby\) in [\d.]+ ms: it imports ws/_a\.py and "
        r"ws/_b\.py, which changed\n",
        said,
    ), said
    assert "echo.py" not in said
