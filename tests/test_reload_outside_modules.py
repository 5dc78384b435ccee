"""A save of a module the handler files import from outside the handlers folder (a `db.py`
beside the project, a package of it) changes nothing that serves until the process starts
again, and the sidecar says so, naming the file and how to restart: under `wsside serve`, to
start it again; under Vite, the `kill PID` after which Vite starts the sidecar again.

One line per batch of saves that changes what serves; a touch, or a save back to the bytes
imported, says nothing. A module first imported by a handler file added later is watched
too. Real `wsside serve` and `--ipc` sidecars, real files and watchers; "nothing said" is
checked against a later line that the same watcher had to write first.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
from pathlib import Path

import aiohttp
import pytest

import wsside.handler
from serve_process import ServeProcess, free_port
from test_handoff import Shim
from wsside._runtime.outside_modules import imported_from_outside

CHAT = (
    "from wsside import Handler\n"
    "from backend.db import GREETING\n"
    "import util\n"
    'chat = Handler("/chat", on_connect=lambda conn, request: conn.send([GREETING, util.X]))\n'
)
NOTE = "not imported again on save, so the handlers keep the code they imported"


def project(tmp_path: Path) -> Path:
    """ws/chat.py importing backend/db.py (a package beside the handlers folder) and
    util.py (beside it); the folder to run in."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "__init__.py").write_text("")
    (tmp_path / "backend" / "db.py").write_text('GREETING = "hi"\n')
    (tmp_path / "util.py").write_text("X = 1\n")
    (tmp_path / "ws" / "chat.py").write_text(CHAT)
    return tmp_path


async def greeting(port: int) -> object:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{port}/api/chat") as ws,
    ):
        return json.loads((await ws.receive(timeout=10)).data)


async def test_wsside_serve_says_a_saved_outside_module_serves_after_a_restart(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--handlers", "ws", cwd=root)
    try:
        await server.expect("serving on")
        (root / "backend" / "db.py").write_text('GREETING = "hello"\n')
        line = await server.expect("backend/db.py changed")
        assert NOTE in line and "(stop wsside serve and start it again)" in line, line
        assert await greeting(port) == ["hi", 1]  # as the line says: the old code serves

        # A touch, and a save back to the bytes imported: nothing said. The handler file's
        # save comes through the same watcher after them.
        (root / "util.py").touch()
        (root / "backend" / "db.py").write_text('GREETING = "hi"\n')
        (root / "ws" / "chat.py").write_text(CHAT + "# saved\n")
        await server.expect("reloaded ws/chat.py")
        # Changed again after being back as imported: said again, and both files in one line.
        (root / "backend" / "db.py").write_text('GREETING = "hey"\n')
        (root / "util.py").write_text("X = 2\n")
        line = await server.expect_all("backend/db.py", "util.py")
        assert "changed: modules outside the handlers folder" in line[-1], line
        changed = [seen for seen in server.lines if " changed: " in seen]
        assert len(changed) in (2, 3), changed  # the two saves may come in one batch or two
        assert await greeting(port) == ["hi", 1]

        # A file added later imports a module of another folder: watched from then on.
        (root / "tools").mkdir()
        (root / "tools" / "__init__.py").write_text("")
        (root / "tools" / "clock.py").write_text("TICK = 1\n")
        (root / "ws" / "late.py").write_text(
            'from wsside import Handler\nfrom tools.clock import TICK\nlate = Handler("/late")\n'
        )
        await server.expect("added ws/late.py")
        # Its folder is watched right after the load that imported it, on the same turn of
        # the loop: once a later save has been said, a save there is seen.
        (root / "util.py").write_text("X = 3\n")
        await server.expect("util.py changed")
        (root / "tools" / "clock.py").write_text("TICK = 2\n")
        line = await server.expect("tools/clock.py changed")
        assert NOTE in line, line
    finally:
        await server.stop()


async def test_a_module_imported_later_a_fixed_import_and_a_folder_made_again(
    tmp_path: Path,
) -> None:
    """A module a callback imported is said at its first save (its cached bytecode tells that
    the file changed since); a handler file that failed for an outside module loads once that
    module is fixed or created; a folder deleted and made again (a checkout) is watched again."""
    root = project(tmp_path)
    (root / "lazymod.py").write_text("V = 1\n")
    (root / "backend" / "bad.py").write_text("raise RuntimeError('bad-v1')\n")
    ws = root / "ws"
    (ws / "lazy.py").write_text(
        "from wsside import Handler\n"
        "def hello(conn, request):\n"
        "    import lazymod\n"
        "    conn.send([lazymod.V])\n"
        'lazy = Handler("/lazy", on_connect=hello)\n'
    )
    (ws / "b.py").write_text('from backend import bad\nfrom wsside import Handler\nHandler("/b")\n')
    (ws / "c.py").write_text('import madelater\nfrom wsside import Handler\nHandler("/c")\n')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    server = await ServeProcess.start("--port", str(port), "--handlers", "ws", cwd=root, env=env)
    try:
        await server.expect_all("cannot load ws/b.py", "cannot load ws/c.py")
        await server.expect("serving on")
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{port}/api/lazy") as ws_client,
        ):
            assert json.loads((await ws_client.receive(timeout=10)).data) == [1]
        (root / "lazymod.py").write_text("V = 22\n")  # another size: seen within the second
        line = await server.expect("lazymod.py changed")
        assert NOTE in line, line

        (root / "backend" / "bad.py").write_text("X = 1\n")
        await server.expect("added ws/b.py")
        (root / "madelater.py").write_text("X = 1\n")
        await server.expect("added ws/c.py")

        # The folder deleted, then made again with another db.py.
        shutil.rmtree(root / "backend")
        (root / "backend").mkdir()
        (root / "backend" / "__init__.py").write_text("")
        (root / "backend" / "db.py").write_text('GREETING = "restored"\n')
        await server.expect("backend/db.py changed")
        # Its new folder is watched: a later save there is said too.
        (root / "backend" / "db.py").write_text('GREETING = "later"\n')
        await server.expect("backend/db.py changed again")
    finally:
        await server.stop()


def test_the_project_s_modules_are_watched_not_python_s_nor_installed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: which loaded modules `imported_from_outside` names."""
    root = project(tmp_path)
    (root / "ws" / "_helper.py").write_text("")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.syspath_prepend(str(root / "ws"))
    for name in ("util", "_helper"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    util = importlib.import_module("util")
    helper = importlib.import_module("_helper")
    try:
        found = set(imported_from_outside((root / "ws").resolve()))
    finally:
        del sys.modules["util"], sys.modules["_helper"]
    assert Path(util.__file__).resolve() in found
    assert Path(helper.__file__).resolve() not in found  # the handlers folder's own
    for module in (aiohttp, json, wsside.handler):  # installed, the standard library, wsside
        assert Path(module.__file__).resolve() not in found, module


def test_under_vite_the_line_gives_the_sidecar_s_pid_to_kill(tmp_path: Path) -> None:
    root = project(tmp_path)
    shim = Shim(root / "ws", reload=True)
    try:
        assert shim.read_until("type", "ready")["pid"] == shim.proc.pid
        (root / "util.py").write_text("X = 2\n")
        while True:
            event = shim.read_until("type", "log")
            if "util.py changed" in event["message"]:
                break
        assert event["level"] == "warning"
        assert event["message"].endswith(
            f"(kill {shim.proc.pid}: Vite starts the sidecar again at once)"
        ), event
    finally:
        shim.stop()
