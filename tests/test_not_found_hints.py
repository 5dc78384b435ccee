"""The note of a 404 under the prefix (under Vite; `ASGIApp` too): it suggests an endpoint
only when the path is one slip away from it (`_edge/closest_endpoint.py`'s rule), and when a
handler file that did not load could be the endpoint, it says that alone. A file that failed
at start and is fixed is `added`, with its patterns, as a new file is. Real `wsside serve`
processes, as its shim or as a person runs it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from test_cli import IpcSidecar, notes_at_404

ADMIN = "from wsside import Handler\n\nadmin = Handler('/ws/admin')\n"
ROOM = "from wsside import Handler\n\nroom = Handler(r'/ws/chat/{room:[\\w-]+}')\n"
BROKEN_ROOM = ROOM + "\nraise RuntimeError('room is broken')\n"
# Its pattern is not a literal: only its name says what it may declare.
BROKEN_METRICS = (
    "from wsside import Handler\n\nNAME = 'metrics'\nmetrics = Handler(f'/ws/{NAME}')\n"
    "raise RuntimeError('metrics is broken')\n"
)
BROKEN_FEED = "from wsside import Handler\n\nfeed = Handler('/ws/feed')\n\nraise RuntimeError\n"
FEED = "from wsside import Handler\n\nfeed = Handler('/ws/feed')\n"
NOT_FOUND = "no endpoint there, so the client got 404"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "admin.py").write_text(ADMIN)
    return tmp_path


async def test_a_404_suggests_an_endpoint_one_slip_away_and_no_other(project: Path) -> None:
    (project / "ws" / "room.py").write_text(ROOM)
    notes = await notes_at_404(
        project,
        [
            "/api/ws/admn",  # a letter missing
            "/api/ws/caht/lobby",  # two letters swapped, the room as the variable takes it
            "/api/ws/metrics",  # after metrics.py was deleted: no endpoint is like it
            "/api/ws/games/tic-tac-toe/g1",  # another structure and another word
        ],
    )
    endpoints = "the endpoints are /api/ws/admin, /api/ws/chat/{room:[\\w-]+}"
    assert notes == [
        f"/api/ws/admn: {NOT_FOUND}: did you mean /api/ws/admin?",
        f"/api/ws/caht/lobby: {NOT_FOUND}: did you mean /api/ws/chat/{{room:[\\w-]+}}?",
        f"/api/ws/metrics: {NOT_FOUND}: {endpoints}",
        f"/api/ws/games/tic-tac-toe/g1: {NOT_FOUND}: {endpoints}",
    ]


async def test_a_404_names_the_file_that_did_not_load_and_could_be_the_endpoint(
    project: Path,
) -> None:
    (project / "ws" / "api" / "ws" / "chat").mkdir(parents=True)
    (project / "ws" / "api" / "ws" / "chat" / "[room].py").write_text(BROKEN_ROOM)
    (project / "ws" / "feed.py").write_text(BROKEN_FEED)
    (project / "ws" / "metrics.py").write_text(BROKEN_METRICS)
    notes = await notes_at_404(project, ["/api/ws/chat/lobby", "/api/ws/metrics", "/api/ws/admn"])
    assert notes == [
        # Its text declares a pattern that matches: that is the likely cause, and the only.
        f"/api/ws/chat/lobby: {NOT_FOUND}: ws/api/ws/chat/[room].py declares "
        "/api/ws/chat/{room:[\\w-]+}, which matches it, but did not load: see its error above",
        # Its name is the path's last segment.
        f"/api/ws/metrics: {NOT_FOUND}: ws/metrics.py did not load (its name is the path's "
        "last segment), so what it declares was never served: see its error above",
        # None of them could be it: the suggestion, then the files that did not load.
        f"/api/ws/admn: {NOT_FOUND}: did you mean /api/ws/admin? (ws/api/ws/chat/[room].py, "
        "ws/feed.py, ws/metrics.py did not load, so what they declare was never served: see "
        "their errors above)",
    ]


async def test_under_vite_a_file_that_failed_at_start_is_added_once_fixed(project: Path) -> None:
    (project / "ws" / "feed.py").write_text(BROKEN_FEED)
    sidecar = IpcSidecar(project, "--reload")
    try:
        await asyncio.to_thread(sidecar.next, "load_error")
        ready = await asyncio.to_thread(sidecar.ready)
        handlers = ready["handlers"]
        assert isinstance(handlers, list)
        assert [h["pattern"] for h in handlers] == ["/ws/admin"]
        (project / "ws" / "feed.py").write_text(FEED)
        event = await asyncio.to_thread(sidecar.next, "reloaded")
        assert (event["file"], event["patterns"], event.get("new")) == (
            str(project / "ws" / "feed.py"),
            ["/ws/feed"],
            True,
        )
        # Saved again, it serves already: reloaded.
        (project / "ws" / "feed.py").write_text(FEED + "# saved\n")
        event = await asyncio.to_thread(sidecar.next, "reloaded")
        assert (event["patterns"], event.get("new")) == (["/ws/feed"], None)
    finally:
        sidecar.stop()


async def test_wsside_serve_says_added_for_a_file_that_failed_at_start(project: Path) -> None:
    (project / "ws" / "feed.py").write_text(BROKEN_FEED)
    server = await ServeProcess.start(
        "--port", str(free_port()), "--handlers", "ws", "--host", "127.0.0.1", cwd=project
    )
    try:
        await server.expect("serving on")
        (project / "ws" / "feed.py").write_text(FEED)
        line = await server.expect("ws/feed.py (/ws/feed)")
        assert re.search(r" wsside: added ws/feed\.py \(/ws/feed\) in [\d.]+ ms\n$", line), line
    finally:
        assert await server.stop() == 0


async def test_a_404_note_is_written_again_only_when_an_edit_changed_it(project: Path) -> None:
    """A client retrying a wrong URL gets its note once; the note is made again, and written,
    when the text of the file that did not load changed, when that file loads, and when the
    endpoints changed."""
    chat = project / "ws" / "chat.py"
    chat.write_text(BROKEN_ROOM)
    sidecar = IpcSidecar(project, "--reload")
    try:
        await asyncio.to_thread(sidecar.next, "load_error")
        ready = await asyncio.to_thread(sidecar.ready)
        connector = aiohttp.UnixConnector(path=str(ready["socket"]))
        secret = {"X-Wsside-Secret": sidecar.SECRET}
        async with aiohttp.ClientSession(connector=connector) as client:

            async def ask() -> None:
                with pytest.raises(aiohttp.WSServerHandshakeError):
                    await client.ws_connect("http://localhost/api/ws/chat/lobby", headers=secret)

            async def note() -> object:
                return (await asyncio.to_thread(sidecar.next, "log"))["message"]

            await ask()
            await ask()  # the same note: not written again (the next note is another)
            assert await note() == (
                f"/api/ws/chat/lobby: {NOT_FOUND}: ws/chat.py declares "
                "/api/ws/chat/{room:[\\w-]+}, which matches it, but did not load: see its "
                "error above"
            )
            chat.write_text(BROKEN_FEED)  # still fails, and declares another pattern
            await asyncio.to_thread(sidecar.next, "load_error")
            await ask()
            assert await note() == (
                f"/api/ws/chat/lobby: {NOT_FOUND}: the endpoints are /api/ws/admin (ws/chat.py "
                "did not load, so what it declares was never served: see its error above)"
            )
            chat.write_text("from wsside import Handler\n\nchats = Handler('/ws/chats/{room}')\n")
            await asyncio.to_thread(sidecar.next, "reloaded")
            await ask()
            assert await note() == (
                f"/api/ws/chat/lobby: {NOT_FOUND}: did you mean /api/ws/chats/{{room}}?"
            )
            chat.write_text("from wsside import Handler\n\nchats = Handler('/ws/chatz/{room}')\n")
            await asyncio.to_thread(sidecar.next, "reloaded")
            await ask()  # only the endpoints changed
            assert await note() == (
                f"/api/ws/chat/lobby: {NOT_FOUND}: did you mean /api/ws/chatz/{{room}}?"
            )
    finally:
        sidecar.stop()
