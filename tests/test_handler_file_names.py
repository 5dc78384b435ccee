"""Which files of a handlers folder are handler files, the module name each loads under, and
what a load error says about names: a test file beside a handler file is not loaded (one that
declares a Handler and is no test is named when nothing serves), two files never share a
module name, a relative import's error gives the import to write for its line, and a file
named like a standard library module is named when an import misses it.
Through real `wsside serve` and `wsside doctor` processes, and an in-process sidecar with
reload on (real files, a real watcher, real sockets)."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from doctor_projects import run_doctor, write
from serve_process import ServeProcess
from test_reload import Live as ReloadLive
from wsside._runtime import events

HANDLER = "from wsside import Handler\nh = Handler('{pattern}')\n"
# A test file beside its handler file: it needs pytest, which production need not have.
A_TEST = "import pytest\n\nraise RuntimeError('a test file was loaded as a handler file')\n"
TESTS = {
    "ws/api/ws/chat/test_chat.py": A_TEST,
    "ws/api/ws/chat/chat_test.py": A_TEST,
    "ws/api/ws/chat/conftest.py": A_TEST,
    "ws/conftest.py": A_TEST,
}
RELATIVE = "ImportError: a relative import in a handler file: "
INSTEAD = (
    " instead (the handlers folder is on sys.path; wsside loads each handler file by itself, "
    "not as a module of a package)"
)


async def serve_lines(project: Path) -> list[str]:
    """What `wsside serve` in `project` prints until it serves, without the time stamps."""
    server = await ServeProcess.start("--port", "0", cwd=project)
    try:
        await server.expect("serving on")
        return [line.rstrip("\n").partition(" ")[2] for line in server.lines]
    finally:
        await server.stop()


async def test_test_files_beside_handler_files_are_not_loaded_by_wsside_serve(
    tmp_path: Path,
) -> None:
    """Before, `wsside serve` loaded ws/api/ws/chat/test_chat.py as a handler file: where
    pytest is not installed, `cannot load ... No module named 'pytest'`."""
    write(tmp_path, {"ws/api/ws/chat/chat.py": HANDLER.format(pattern="/ws/chat"), **TESTS})
    printed = await serve_lines(tmp_path)
    assert not [line for line in printed if "cannot load" in line or "test" in line], printed
    assert any("/api/ws/chat  (ws/api/ws/chat/chat.py:2)" in line for line in printed), printed


def test_wsside_doctor_counts_no_test_file(tmp_path: Path) -> None:
    write(tmp_path, {"ws/chat.py": HANDLER.format(pattern="/ws/chat"), **TESTS})
    code, report = run_doctor(tmp_path, "--no-live")
    assert code == 0, report
    (folder,) = [c for c in report["checks"] if c["message"].startswith("ws/: ")]
    assert folder["message"] == "ws/: 1 handler file(s)", folder


class Live(ReloadLive):
    """test_reload.py's in-process sidecar, asked which version of a helper it serves."""

    async def ask(self, path: str) -> Any:
        async with self.session.ws_connect(self.base + "/api" + path) as ws:
            await ws.send_str("which")
            return await asyncio.wait_for(ws.receive_json(), 5)


@pytest.fixture
async def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the sidecar adds the handlers folder
    monkeypatch.delitem(sys.modules, "_pieces", raising=False)  # and taken out again after
    folder = tmp_path / "ws"
    folder.mkdir()
    served = Live(folder)
    events.subscribe(served)
    yield served
    await served.session.close()
    if served.sidecar is not None:
        await served.sidecar.close()
    events.unsubscribe(served)


def of(event: dict[str, Any], live: Live) -> str:
    """The file an event is about, relative to the handlers folder."""
    file = Path(event.get("file") or event.get("source") or "")
    return file.relative_to(live.folder).as_posix() if file.is_relative_to(live.folder) else ""


async def test_saving_a_test_file_loads_nothing(live: Live) -> None:
    """Before, a save of test_chat.py loaded it as a new handler file (here its
    load error)."""
    write(live.folder, {"chat.py": HANDLER.format(pattern="/ws/chat")})
    await live.start()
    mark = len(live.events)
    write(live.folder, {name.removeprefix("ws/"): text for name, text in TESTS.items()})
    # Saved after them: once it is loaded, the watcher has told every earlier save.
    write(live.folder, {"later.py": HANDLER.format(pattern="/ws/later")})
    await live.event(lambda e: e["type"] == "reloaded" and of(e, live) == "later.py", mark)
    assert [of(e, live) for e in live.events[mark:] if of(e, live)] == ["later.py"], live.events[
        mark:
    ]


async def test_saving_a_test_file_reloads_the_files_that_failed_to_load(live: Live) -> None:
    """A test file is a helper to wsside: its save reloads the handler files that failed to
    load (README, the handler files), as a `_name.py`'s does."""
    gate = live.folder.parent / "ready.txt"  # outside the handlers folder: no save of its own
    write(
        live.folder,
        {
            "gated.py": "from pathlib import Path\n\n"
            "if not (Path(__file__).parent.parent / 'ready.txt').exists():\n"
            "    raise RuntimeError('not ready')\n" + HANDLER.format(pattern="/ws/gated")
        },
    )
    await live.start()
    assert [of(e, live) for e in live.events if e["type"] == "load_error"] == ["gated.py"]
    gate.write_text("")
    mark = len(live.events)
    write(live.folder, {"test_gated.py": A_TEST})
    event = await live.event(lambda e: e["type"] == "reloaded" and of(e, live) == "gated.py", mark)
    assert event.get("new") is True, event  # it never served (node_shim/PROTOCOL.md)


SPEED = HANDLER.format(pattern="/ws/speed")


async def test_a_test_named_file_that_declares_a_handler_is_named_when_nothing_serves(
    tmp_path: Path,
) -> None:
    """Before, ws/speed_test.py declaring a Handler was not loaded, and the start said only
    that no file declares an endpoint. Test files that build a Handler (they import pytest,
    or define a test function), and conftest.py, are not named."""
    write(
        tmp_path,
        {
            "ws/speed_test.py": SPEED,
            "ws/games/test_board.py": HANDLER.format(pattern="/ws/board"),
            "ws/test_chat.py": "import pytest\n" + SPEED,
            "ws/lobby_test.py": SPEED + "\n\nasync def test_lobby():\n    pass\n",
            "ws/conftest.py": SPEED,
            "ws/_lib/test_db.py": SPEED,  # in a helper folder: a helper, whatever its name
            "ws/ping_test.py": "from wsside import Handler\n\ndef make():\n"
            "    return Handler('/ws/ping')\n",  # no Handler at its top level
        },
    )
    printed = await serve_lines(tmp_path)
    assert [line for line in printed if "declares an endpoint" in line] == [
        "wsside: no handler file declares an endpoint (ws/speed_test.py and "
        "ws/games/test_board.py are named as pytest names test files, which wsside does not "
        "load: rename them (e.g. speed.py and board.py) to serve their Handlers)"
    ], printed


async def test_one_test_named_file_is_named_with_the_name_to_give_it(tmp_path: Path) -> None:
    write(tmp_path, {"ws/speed_test.py": SPEED})
    printed = await serve_lines(tmp_path)
    assert [line for line in printed if "declares an endpoint" in line] == [
        "wsside: no handler file declares an endpoint (ws/speed_test.py is named as pytest "
        "names test files, which wsside does not load: rename it (e.g. speed.py) to serve its "
        "Handler)"
    ], printed


ANSWERS = (
    "import _pieces\nfrom wsside import Handler\nh = Handler('{pattern}')\n\n"
    "@h.on_message\ndef which(conn, data):\n    conn.send([_pieces.VERSION, '{pattern}'])\n"
)


async def test_two_files_whose_names_differ_by_a_dot_both_reload_for_their_helper(
    live: Live,
) -> None:
    """`games/chess.v2.py` and `games/chess/v2.py` were both `wsside_handlers.games.chess.v2`:
    a save of the helper both import reloaded one of them, the other serving the old code."""
    write(
        live.folder,
        {
            "_pieces.py": "VERSION = 1\n",
            "games/chess.v2.py": ANSWERS.format(pattern="/ws/dotted"),
            "games/chess/v2.py": ANSWERS.format(pattern="/ws/nested"),
        },
    )
    await live.start()
    assert await live.ask("/ws/dotted") == [1, "/ws/dotted"]
    assert await live.ask("/ws/nested") == [1, "/ws/nested"]
    mark = len(live.events)
    write(live.folder, {"_pieces.py": "VERSION = 2\n"})
    for name in ("games/chess.v2.py", "games/chess/v2.py"):
        await live.event(lambda e, n=name: e["type"] == "reloaded" and of(e, live) == n, mark)
    assert await live.ask("/ws/dotted") == [2, "/ws/dotted"]
    assert await live.ask("/ws/nested") == [2, "/ws/nested"]
    assert {"wsside_handlers.games.chess%2Ev2", "wsside_handlers.games.chess.v2"} <= set(
        sys.modules
    )


async def test_a_relative_import_s_error_gives_the_import_to_write_for_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path,
        {
            "ws/games/_rules.py": "SIZE = 3\n",
            "ws/games/tic-tac-toe.py": "from wsside import Handler\nfrom ._rules import SIZE\n",
            # A folder that another handler file imports by name as a package.
            "ws/common/__init__.py": "COMMON_VERSION = 1\n",
            "ws/common/fmt.py": "from . import COMMON_VERSION\n",
            "ws/lobby.py": "from common.fmt import COMMON_VERSION\n"
            + HANDLER.format(pattern="/ws/lobby"),
            "ws/_shared.py": "x = 1\n",
            "ws/top.py": "import os\nfrom ._shared import x\n",
            "ws/beyond.py": "from .. import settings\n",
        },
    )
    printed = await serve_lines(tmp_path)
    said = dict(
        line.removeprefix("wsside: cannot load ").split(": ", 1)
        for line in printed
        if line.startswith("wsside: cannot load ")
    )
    assert said == {
        "ws/games/tic-tac-toe.py:2": f"{RELATIVE}write `from games._rules import SIZE`{INSTEAD}",
        "ws/common/fmt.py:1": f"{RELATIVE}write `from common import "
        f"COMMON_VERSION`{INSTEAD}. Other files import ws/common/ as a package by name, but "
        "wsside loads every .py file not starting with _ as a handler file too "
        "(ws/common/fmt.py included): a folder of helpers is best named ws/_common/",
        "ws/top.py:2": f"{RELATIVE}write `from _shared import x`{INSTEAD}",
        "ws/beyond.py:1": f"{RELATIVE}`from .. import settings` goes above the "
        "handlers folder (ws), which cannot be reached that way: import what is in the "
        "handlers folder by its name (the folder is on sys.path)",
    }, printed


async def test_a_relative_import_of_a_handler_file_says_to_move_what_is_shared(
    tmp_path: Path,
) -> None:
    """Before, it said to write `from games.squares import Board`, whose load error is then
    `imports the handler file ws/games/squares.py`. (The handler file loads after those that
    import it: a module loaded already would be found by its wsside name.)"""
    write(
        tmp_path,
        {
            "ws/games/squares.py": "class Board:\n    pass\n\n\n"
            + HANDLER.format(pattern="/ws/board"),
            "ws/games/chess2.py": "from .squares import Board\n",
            "ws/games/chess3.py": "from . import squares\n",
            # A package's folder is no handler file: its import by name works.
            "ws/games/pieces/__init__.py": "KING = 1\n",
            "ws/games/chess4.py": "from .pieces import KING\n",
        },
    )
    printed = await serve_lines(tmp_path)
    said = dict(
        line.removeprefix("wsside: cannot load ").split(": ", 1)
        for line in printed
        if line.startswith("wsside: cannot load ")
    )
    shared = (
        "ws/games/squares.py, a handler file, which wsside loads by itself (its handlers would be "
        "declared twice): move what both use into a helper, a file whose name starts with _ "
        "(ws/games/_squares.py), and write "
    )
    assert said == {
        "ws/games/chess2.py:1": f"{RELATIVE}`from .squares import Board` imports {shared}"
        "`from games._squares import Board`",
        "ws/games/chess3.py:1": f"{RELATIVE}`from . import squares` imports {shared}"
        "`from games import _squares as squares`",
        "ws/games/chess4.py:1": f"{RELATIVE}write `from games.pieces import KING`{INSTEAD}",
    }, printed


async def test_a_relative_import_beside_the_import_that_failed_is_not_blamed(
    tmp_path: Path,
) -> None:
    """Before, `import nosuchmod_zz; from ._rules import SIZE` said to write `from _rules
    import SIZE`: the module not found was lost."""
    write(
        tmp_path,
        {
            "ws/_rules.py": "SIZE = 3\n",
            "ws/game.py": "import nosuchmod_zz; from ._rules import SIZE\n",
        },
    )
    printed = await serve_lines(tmp_path)
    loads = [line for line in printed if line.startswith("wsside: cannot load ")]
    assert len(loads) == 1, printed
    assert loads[0].startswith(
        "wsside: cannot load ws/game.py:1: ModuleNotFoundError: No module named 'nosuchmod_zz': "
        "`nosuchmod_zz` is not installed"
    ), printed


async def test_a_module_named_like_the_standard_library_s_is_named_when_missed(
    tmp_path: Path,
) -> None:
    """Before, `from types import Foo` said only `cannot import name 'Foo' from 'types'
    (/…/types.py)`, with nothing about ws/types.py that it meant."""
    write(
        tmp_path,
        {
            "ws/types.py": "class Foo:\n    pass\n",
            "ws/imports_it.py": "from types import Foo\n",
            "ws/uses_it.py": "import types\n\ntypes.Foo\n",
            "ws/json/tools.py": "def x():\n    pass\n",
            "ws/json_user.py": "from json.tools import x\n",
        },
    )
    printed = await serve_lines(tmp_path)
    hint = (
        "ws/types.py is not what `import types` finds: the standard library's types module "
        "comes first; rename it (e.g. models.py)"
    )
    loads = [line for line in printed if line.startswith("wsside: cannot load ")]
    assert loads == [
        "wsside: cannot load ws/imports_it.py:1: ImportError: cannot import name 'Foo' from "
        f"'types' ({types.__file__}): {hint}",
        "wsside: cannot load ws/json_user.py:1: ModuleNotFoundError: No module named "
        "'json.tools': ws/json/ is not what `import json` finds: the standard library's json "
        "module comes first; rename it (e.g. my_json/)",
        f"wsside: cannot load ws/uses_it.py:3: AttributeError: module 'types' has no attribute "
        f"'Foo': {hint}",
    ], printed
