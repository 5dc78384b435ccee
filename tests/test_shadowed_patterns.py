"""A pattern shadowed by one declared before it (the first declared match wins: files in
sorted order) never gets a connection. The sidecar says so, in `wsside doctor`'s words, at
start and when a change of the endpoints makes a new one, not again at an unrelated reload:
in `wsside serve`'s log and, under Vite, as a warning to the shim. Real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from serve_process import ServeProcess, free_port
from test_cli import IpcSidecar

ROOM = "from wsside import Handler\n\nroom = Handler(r'/ws/chat/{room:[\\w-]+}')\n"
LOBBY = "from wsside import Handler\n\n\nlobby = Handler('/ws/chat/lobby')\n"
ECHO = "from wsside import Handler\n\necho = Handler('/ws/echo')\n"
ANYTHING = "from wsside import Handler\n\nanything = Handler('/ws/{anything}')\n"

LOBBY_SHADOWED = (
    "'/ws/chat/lobby' (ws/chat/lobby.py:4) is shadowed by '/ws/chat/{room:[\\\\w-]+}' "
    "(ws/api/ws/chat/[room].py:3), which is declared first and matches all its paths, so it "
    "never gets a connection: declare '/ws/chat/lobby' before '/ws/chat/{room:[\\\\w-]+}' "
    "(files load in sorted order), or narrow the earlier pattern"
)
ECHO_SHADOWED = (
    "'/ws/echo' (ws/echo.py:3) is shadowed by '/ws/{anything}' (ws/a_anything.py:3), which is "
    "declared first and matches all its paths, so it never gets a connection: declare "
    "'/ws/echo' before '/ws/{anything}' (files load in sorted order), or narrow the earlier "
    "pattern"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws" / "api" / "ws" / "chat").mkdir(parents=True)
    (tmp_path / "ws" / "chat").mkdir()
    (tmp_path / "ws" / "api" / "ws" / "chat" / "[room].py").write_text(ROOM)
    (tmp_path / "ws" / "chat" / "lobby.py").write_text(LOBBY)
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    return tmp_path


async def test_wsside_serve_warns_of_a_shadowed_pattern_at_start_and_of_a_new_one_once(
    project: Path,
) -> None:
    server = await ServeProcess.start(
        "--port", str(free_port()), "--handlers", "ws", "--host", "127.0.0.1", cwd=project
    )
    try:
        await server.expect("serving on")
        said = [line for line in server.lines if "shadowed" in line]
        assert [line.split(" ", 1)[1] for line in said] == [f"wsside: {LOBBY_SHADOWED}\n"]
        # An unrelated reload (lobby.py saved, its pattern as it was) says nothing again.
        (project / "ws" / "chat" / "lobby.py").write_text(LOBBY + "# saved\n")
        await server.expect("reloaded ws/chat/lobby.py")
        # A file added that takes every single-segment endpoint: said once, for /ws/echo.
        from_here = len(server.lines)
        (project / "ws" / "a_anything.py").write_text(ANYTHING)
        line = await server.expect("is shadowed by")
        assert line.split(" ", 1)[1] == f"wsside: {ECHO_SHADOWED}\n"
        assert [line for line in server.lines if "shadowed" in line] == [*said, line]
        assert any("added ws/a_anything.py (/ws/{anything})" in x for x in server.lines[from_here:])
    finally:
        assert await server.stop() == 0


async def test_under_vite_the_sidecar_warns_its_shim_of_a_shadowed_pattern_at_start(
    project: Path,
) -> None:
    sidecar = IpcSidecar(project, "--handlers", "ws")
    try:
        while True:
            log = await asyncio.to_thread(sidecar.next, "log")
            if "shadowed" in str(log["message"]):
                break
        assert (log["level"], log["message"]) == ("warning", LOBBY_SHADOWED)
        await asyncio.to_thread(sidecar.ready)
    finally:
        sidecar.stop()
