"""A helper of the handlers folder that does not load is one load error, not one per handler
file that imports it: at the start, and in each batch of a reload, the sidecar says it once,
at the helper's line, with the handler files it kept from loading (`sources`).

An in-process sidecar with reload on, real files and a real watcher; waits are on its status
events, bounded. A "nothing else came" check saves a sentinel handler file after the change and
waits for it: the sidecar applies the files of a change in order, the sentinel's after them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import test_reload
from serve_process import ServeProcess, free_port
from test_reload import Live

IMPORTERS = ("chat", "game", "lobby")
HELPERS = ("_shared", "_tools")


def importer(name: str, imports: str = "import _shared\n") -> str:
    return f'{imports}from wsside import Handler\n\n{name} = Handler("/ws/{name}")\n'


# test_reload's in-process sidecar with reload on, and the events it emits.
live = test_reload.live


@pytest.fixture
def importers(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handler files that import `_shared`; the helpers are forgotten after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the sidecar adds the handlers folder
    for helper in HELPERS:
        monkeypatch.delitem(sys.modules, helper, raising=False)
    for name in IMPORTERS:
        live.write(f"{name}.py", importer(name))
    yield
    for helper in HELPERS:
        sys.modules.pop(helper, None)


def load_errors(live: Live, after: int = 0) -> list[dict[str, Any]]:
    return [e for e in live.events[after:] if e["type"] == "load_error"]


def sources(event: dict[str, Any]) -> list[str]:
    return [Path(file).name for file in event.get("sources", ())]


@pytest.mark.usefixtures("importers")
async def test_a_broken_helper_is_one_load_error_at_the_start(live: Live) -> None:
    live.write("_shared.py", "X = 1\nY = (\n")
    # A helper's function that raises when a handler file calls it: each file's own line is
    # where it failed (the helper itself loaded), an error of its own.
    live.write("_tools.py", "def make():\n    raise ValueError('not now')\n")
    for name in ("solo", "duo"):
        live.write(f"{name}.py", importer(name, imports="import _tools\n_tools.make()\n"))
    await live.start()
    *alone, error = load_errors(live)  # the helper's comes once the others have loaded
    assert [(Path(e["file"]).name, e["line"]) for e in alone] == [("duo.py", 2), ("solo.py", 2)]
    assert all("sources" not in e for e in alone)
    assert Path(error["file"]) == live.folder / "_shared.py"
    assert (error["line"], sources(error)) == (2, ["chat.py", "game.py", "lobby.py"])
    assert error["message"].startswith("SyntaxError: '(' was never closed")
    # The helper's own spot, not the frames of the one importer that happened to be first.
    assert "chat.py" not in error["traceback"]
    assert live.sidecar is not None
    assert len(live.sidecar.registry.errors) == 5  # each handler file stands broken


@pytest.mark.usefixtures("importers")
async def test_a_helper_saved_broken_is_one_load_error_per_batch(live: Live) -> None:
    live.write("_shared.py", "X = 1\n")
    await live.start()
    mark = len(live.events)
    live.write("_shared.py", "X = 1\nY = (\n")
    await live.event(lambda e: e["type"] == "load_error", mark)
    await live.settle()
    [error] = load_errors(live, mark)
    assert (Path(error["file"]).name, error["line"]) == ("_shared.py", 2)
    assert sources(error) == ["chat.py", "game.py", "lobby.py"]
    assert Path(error["source"]).name == "chat.py"  # a shim that knows no `sources`

    # Fixed: its importers load, and no error of it comes again.
    mark = len(live.events)
    live.write("_shared.py", "X = 2\n")
    await live.settle()
    reloaded = {Path(e["file"]).name for e in live.events[mark:] if e["type"] == "reloaded"}
    assert {"chat.py", "game.py", "lobby.py"} <= reloaded
    assert load_errors(live, mark) == []


@pytest.mark.usefixtures("importers")
async def test_a_helper_whose_top_level_raises_is_blamed_at_its_line(live: Live) -> None:
    live.write("_shared.py", "import os\nX = os.nowhere\n")
    await live.start()
    [error] = load_errors(live)
    assert (Path(error["file"]).name, error["line"]) == ("_shared.py", 2)
    assert error["message"] == "AttributeError: module 'os' has no attribute 'nowhere'"
    assert sources(error) == ["chat.py", "game.py", "lobby.py"]
    assert '_shared.py", line 2' in error["traceback"]


async def test_wsside_serve_prints_a_broken_helper_once(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "_shared.py").write_text("Y = (\n")
    for name in IMPORTERS:
        (folder / f"{name}.py").write_text(importer(name))
    port = str(free_port())
    serve = await ServeProcess.start("--port", port, "--handlers", "ws", cwd=tmp_path)
    try:
        await serve.expect("serving")
        said = [line for line in serve.lines if "_shared.py:1" in line]
        assert len(said) == 1, "\n".join(serve.lines)
        error = "SyntaxError: '(' was never closed (_shared.py, line 1)"
        # Named as Vite's terminal names it: the handler files it kept from loading too.
        kept = "(so ws/chat.py, ws/game.py and ws/lobby.py did not load)"
        assert said[0].rstrip().endswith(f"cannot load ws/_shared.py:1 {kept}: {error}")
    finally:
        await serve.stop()


@pytest.fixture
def by_name(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Handler files `chat.py` and `game.py` that import `common.py`, a handler file without
    handlers, by its name (`from common import X`)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "common", raising=False)
    for name in ("chat", "game"):
        live.write(f"{name}.py", importer(name, imports="from common import X\n"))
    yield
    sys.modules.pop("common", None)


@pytest.mark.usefixtures("by_name")
async def test_a_handler_file_imported_by_name_is_one_load_error(live: Live) -> None:
    """Its own error, the one report, names the handler files it kept from loading; not a
    second one as their helper's."""
    live.write("common.py", "X = (\n")
    await live.start()
    [error] = load_errors(live)
    assert (Path(error["file"]).name, error["line"]) == ("common.py", 1)
    assert sources(error) == ["common.py", "chat.py", "game.py"]
    assert Path(error["source"]).name == "common.py"

    mark = len(live.events)
    live.write("common.py", "X = 1\n")
    await live.settle()
    reloaded = {Path(e["file"]).name for e in live.events[mark:] if e["type"] == "reloaded"}
    assert {"chat.py", "game.py"} <= reloaded
    assert load_errors(live, mark) == []

    mark = len(live.events)
    live.write("common.py", "X = 1\nY = (\n")
    await live.event(lambda e: e["type"] == "load_error", mark)
    await live.settle()
    [error] = load_errors(live, mark)
    assert (Path(error["file"]).name, error["line"]) == ("common.py", 2)
    assert sources(error) == ["common.py", "chat.py", "game.py"]


async def test_wsside_serve_prints_a_broken_handler_file_imported_by_name_once(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "common.py").write_text("X = (\n")
    for name in ("chat", "game"):
        (folder / f"{name}.py").write_text(importer(name, imports="from common import X\n"))
    serve = await ServeProcess.start("--port", str(free_port()), "--handlers", "ws", cwd=tmp_path)
    try:
        await serve.expect("serving")
        said = [line.rstrip() for line in serve.lines if "cannot load" in line]
        assert said == [
            f"{said[0][:9]}wsside: cannot load ws/common.py:1 (so ws/chat.py and ws/game.py did "
            "not load): SyntaxError: '(' was never closed (common.py, line 1)"
        ], "\n".join(serve.lines)
    finally:
        await serve.stop()
