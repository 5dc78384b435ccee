"""Hot reload with real files, a real watcher and real sockets.

Tests wait on the sidecar's status events (`wsside.events`) with bounded timeouts; a "nothing
else happened" check writes a sentinel file after the change and waits for the sentinel's
reload, which inotify delivers after every earlier event of the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import os
import shutil
import sys
import textwrap
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside._edge.server import Sidecar
from wsside._runtime import config_watch, events, orphans, reload, watch
from wsside._runtime.config import build_settings
from wsside._runtime.settings import Settings

VERSIONED = """
from wsside import Handler
h = Handler("{pattern}")

@h.on_connect
def hello(conn, request):
    conn.join_room("red")
    conn.metadata["name"] = request.query.get("name", "anon")

@h.on_message
def reply(conn, data):
    conn.send({{"version": {version}, "id": conn.id, "rooms": sorted(conn.rooms),
               "name": conn.metadata.get("name")}})
"""


def versioned(version: int, pattern: str = "/ws/chat") -> str:
    return textwrap.dedent(VERSIONED.format(version=version, pattern=pattern))


class Live:
    """An in-process sidecar with reload on, its folder, its events and a client session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.sidecar: Sidecar | None = None
        self.session = aiohttp.ClientSession()
        self.base = ""

    def __call__(self, event: dict[str, Any]) -> None:
        if event["type"] == "importing":  # said before each import, for the shim: not an outcome
            return
        self.events.append(event)
        self._arrived.set()

    async def start(self, **settings: Any) -> None:
        self.sidecar = Sidecar(Settings(handlers_dir=self.folder, **settings))
        await self.sidecar.start()
        site = await self.sidecar.serve_tcp("127.0.0.1", 0)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def event(
        self, match: Callable[[dict[str, Any]], bool], after: int, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first event from index `after` on that `match`es."""

        async def until() -> dict[str, Any]:
            seen = after
            while True:
                for event in self.events[seen:]:
                    if match(event):
                        return event
                seen = len(self.events)
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(until(), timeout)

    async def reloaded(self, name: str, after: int, kind: str = "reloaded") -> dict[str, Any]:
        return await self.event(
            lambda e: e["type"] == kind and Path(e.get("file") or "").name == name, after
        )

    async def connect(self, path: str) -> aiohttp.ClientWebSocketResponse:
        return await self.session.ws_connect(
            self.base + path, timeout=aiohttp.ClientWSTimeout(ws_close=5.0)
        )

    def write(self, name: str, text: str) -> None:
        (self.folder / name).write_text(text)

    async def settle(self) -> None:
        """Every event of the changes made so far has come: a handler file written after
        them is loaded in a later batch (or last in the same one), and its event follows
        theirs."""
        name = f"zz{len(self.events)}"
        mark = len(self.events)
        self.write(f"{name}.py", f'from wsside import Handler\n\n{name} = Handler("/ws/{name}")\n')
        await self.reloaded(f"{name}.py", mark)

    async def save(self, name: str, text: str, kind: str = "reloaded") -> dict[str, Any]:
        """Writes `name` and waits for the event of `kind` it makes (reloaded, load_error)."""
        mark = len(self.events)
        self.write(name, text)
        return await self.reloaded(name, mark, kind)

    async def remove(self, name: str) -> dict[str, Any]:
        """Deletes `name` and waits for its `removed` event."""
        mark = len(self.events)
        (self.folder / name).unlink()
        return await self.reloaded(name, mark, kind="removed")

    async def serve_chat(
        self, version: int = 1, query: str = ""
    ) -> aiohttp.ClientWebSocketResponse:
        """chat.py at `version` (/ws/chat) served, and a connection to it."""
        self.write("chat.py", versioned(version))
        await self.start()
        return await self.connect("/api/ws/chat" + query)


async def ask(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    await ws.send_str("hi")
    return await asyncio.wait_for(ws.receive_json(), 5)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    folder = tmp_path / "ws"
    folder.mkdir()
    served = Live(folder)
    events.subscribe(served)
    yield served
    await served.session.close()
    if served.sidecar is not None:
        await served.sidecar.close()
    events.unsubscribe(served)


async def test_edit_while_connected_keeps_id_rooms_and_metadata(live: Live) -> None:
    ws = await live.serve_chat(query="?name=ada")
    first = await ask(ws)
    assert first["version"] == 1
    event = await live.save("chat.py", versioned(2))
    assert event["patterns"] == ["/ws/chat"] and event["ms"] >= 0
    second = await ask(ws)
    assert second == {**first, "version": 2}  # same conn.id, rooms and metadata
    assert not ws.closed


async def test_syntax_error_keeps_old_version_until_fixed(live: Live) -> None:
    ws = await live.serve_chat()
    error = await live.save("chat.py", versioned(1) + "\ndef broken(:\n", kind="load_error")
    assert error["line"] == len(versioned(1).splitlines()) + 2
    assert "SyntaxError" in error["message"]
    # The error itself, without the frames of wsside and importlib that ran the import.
    assert error["traceback"].startswith(f'  File "{live.folder / "chat.py"}", line ')
    assert "def broken(:" in error["traceback"] and "importlib" not in error["traceback"]
    assert (await ask(ws))["version"] == 1  # the previous version keeps serving
    assert live.sidecar is not None and live.sidecar.registry.errors
    await live.save("chat.py", versioned(3))
    assert (await ask(ws))["version"] == 3
    assert not live.sidecar.registry.errors


@pytest.mark.parametrize("how", ["touched", "written again"])
async def test_a_file_that_did_not_load_loads_when_saved_unchanged(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The package a handler file imports is installed, then the file is saved as it was
    (an editor's save with no edit, or a touch): it is read again, since its bytes are not
    what serves. A folder's other changes do not read it again."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    name = "wsside_test_installed_later"
    monkeypatch.delitem(sys.modules, name, raising=False)  # and taken out again after
    source = f"import {name}\n" + versioned(1)
    live.write("chat.py", source)
    await live.start()
    assert "No module named" in (await live.reloaded("chat.py", 0, kind="load_error"))["message"]
    mark = len(live.events)
    await live.save("other.py", versioned(1, "/ws/other"))  # the folder changes too
    assert not any(e.get("source", "").endswith("chat.py") for e in live.events[mark:])
    (site / f"{name}.py").write_text("")  # pip install
    mark = len(live.events)
    if how == "touched":
        os.utime(live.folder / "chat.py")
    else:
        live.write("chat.py", source)
    await live.reloaded("chat.py", mark)
    assert (await ask(await live.connect("/api/ws/chat")))["version"] == 1


async def test_import_time_exception_names_its_line(live: Live) -> None:
    live.write("chat.py", versioned(1))
    await live.start()
    error = await live.save(
        "chat.py", "from wsside import Handler\n\nraise RuntimeError('boom')\n", kind="load_error"
    )
    assert (error["line"], error["message"]) == (3, "RuntimeError: boom")
    assert error["traceback"].splitlines()[:2] == [
        "Traceback (most recent call last):",
        f'  File "{live.folder / "chat.py"}", line 3, in <module>',
    ]


async def test_deleted_file_closes_its_connections_with_1012(live: Live) -> None:
    live.write("other.py", versioned(1, "/ws/other"))
    ws = await live.serve_chat()
    other = await live.connect("/api/ws/other")
    await live.remove("chat.py")
    # In the grace (the file may come back under another name) the old code still answers,
    # and new connections find nothing.
    assert (await ask(ws))["version"] == 1
    async with live.session.get(live.base + "/api/ws/chat") as gone:
        assert gone.status == 404
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1012, "Service Restart")
    assert (await ask(other))["version"] == 1


LEAVING = """
import logging
from wsside import Handler
h = Handler("/ws/chat")

@h.on_close
def gone(conn, code):
    h.broadcast({"left": conn.id})
    logging.getLogger("test.leaving").warning("left %d with %d others", code, len(h.connections))
"""


async def test_the_on_close_of_a_deleted_file_uses_its_handler_without_a_warning(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """The 1012 of a file gone for good runs its old `on_close`, which may use its handler
    (a presence list broadcasting who left): that is no loop outliving a reload, and wsside
    says nothing of it."""
    live.write("chat.py", LEAVING)
    await live.start()
    sockets = [await live.connect("/api/ws/chat") for _ in range(2)]
    await live.remove("chat.py")
    for ws in sockets:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1012)
    assert live.sidecar is not None
    await live.sidecar.close()  # every on_close has run
    said = [r.getMessage() for r in caplog.records]
    assert [m for m in said if m.startswith("left")] == ["left 1012 with 0 others"] * 2, said
    assert not [m for m in said if "no longer served" in m], said


async def test_a_renamed_or_deleted_file_leaves_no_module_behind(live: Live) -> None:
    # Each rename or deletion used to leave its module in sys.modules, with all it made.
    live.write("other.py", versioned(1, "/ws/other"))
    ws = await live.serve_chat()
    old = weakref.ref(sys.modules["wsside_handlers.chat"])
    mark = len(live.events)
    os.rename(live.folder / "chat.py", live.folder / "talk.py")
    (live.folder / "other.py").unlink()
    await live.reloaded("talk.py", mark)
    await live.reloaded("other.py", mark, kind="removed")
    assert (await ask(ws))["version"] == 1  # served by talk.py now, on the same socket
    # (Other tests' sidecars in this process may have left modules of their own files.)
    assert "wsside_handlers.talk" in sys.modules
    assert "wsside_handlers.chat" not in sys.modules
    assert "wsside_handlers.other" not in sys.modules
    gc.collect()
    assert old() is None


async def _rename(live: Live, mark: int) -> str:
    os.rename(live.folder / "chat.py", live.folder / "talk.py")
    return "talk.py"


async def _backup_rename_then_write(live: Live, mark: int) -> str:
    # vim's backup rename: the file is missing for a flush (its removal is seen), then back.
    os.rename(live.folder / "chat.py", live.folder / "chat.py~")
    await live.reloaded("chat.py", mark, kind="removed")
    (live.folder / "chat.py").write_text(versioned(2))
    return "chat.py"


async def _empty_then_write(live: Live, mark: int) -> str:
    # An editor that truncates, then writes: for a flush the file declares nothing.
    with open(live.folder / "chat.py", "r+") as file:
        file.truncate()
        file.flush()
        await live.event(
            lambda e: (
                e["type"] == "reloaded"
                and Path(e["file"]).name == "chat.py"
                and e["patterns"] == []
            ),
            mark,
        )
        file.write(versioned(2))
    return "chat.py"


@pytest.mark.parametrize("change", [_rename, _backup_rename_then_write, _empty_then_write])
async def test_a_pattern_declared_again_within_the_grace_keeps_its_connections(
    live: Live, change: Callable[[Live, int], Awaitable[str]]
) -> None:
    live.write("chat.py", versioned(1))
    live.write("other.py", versioned(1, "/ws/other"))
    await live.start()
    sockets = [await live.connect(f"/api/ws/chat?name={n}") for n in range(3)]
    before = [await ask(ws) for ws in sockets]
    mark = len(live.events)
    name = await change(live, mark)
    await live.event(
        lambda e: e["type"] == "reloaded" and Path(e["file"]).name == name and e["patterns"] != [],
        mark,
    )
    # A file that goes away for good: its socket's 1012 comes one grace after its removal,
    # so after the end of the grace that `change` started, had it not been cancelled.
    other = await live.connect("/api/ws/other")
    (live.folder / "other.py").unlink()
    msg = await asyncio.wait_for(other.receive(), 5)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1012)
    for ws, was in zip(sockets, before, strict=True):
        now = await ask(ws)  # the same connection: id, rooms and metadata kept
        assert {**now, "version": 0} == {**was, "version": 0}
    assert live.sidecar is not None
    assert live.sidecar.registry.hubs["/ws/chat"].handler.file.endswith(name)


async def test_closing_ends_the_grace_at_once(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orphans, "ORPHAN_GRACE", 60.0)
    ws = await live.serve_chat()
    await live.remove("chat.py")
    assert live.sidecar is not None
    await live.sidecar.registry.close()
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1012, "Service Restart")


async def test_added_file_is_served(live: Live) -> None:
    await live.start()
    added = await live.save("new.py", versioned(7, "/ws/new"))
    assert added["new"] is True  # created while serving: said "added"
    ws = await live.connect("/api/ws/new")
    assert (await ask(ws))["version"] == 7
    assert "new" not in await live.save("new.py", versioned(8, "/ws/new"))


async def test_wsside_serve_says_added_for_a_new_file_and_reloaded_after(tmp_path: Path) -> None:
    async with serving(tmp_path, "--port", str(free_port())) as server:
        await server.expect("serving on")
        (tmp_path / "ws" / "new.py").write_text(versioned(1, "/ws/new"))
        await server.expect("added ws/new.py (/ws/new) in ")
        (tmp_path / "ws" / "new.py").write_text(versioned(2, "/ws/new"))
        await server.expect("reloaded ws/new.py (/ws/new) in ")


async def test_rapid_saves_reload_once(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    # A wide quiet window so a busy machine pausing between two writes cannot split the burst.
    monkeypatch.setattr(reload, "QUIET", 0.25)
    ws = await live.serve_chat(version=0)
    mark = len(live.events)
    for version in range(1, 21):
        live.write("chat.py", versioned(version))
    live.write("sentinel.py", "")
    await live.reloaded("sentinel.py", mark)
    reloads = [e for e in live.events[mark:] if Path(e.get("file") or "").name == "chat.py"]
    assert [e["type"] for e in reloads] == ["reloaded"]
    assert (await ask(ws))["version"] == 20


async def test_atomic_rename_save_reloads_once_and_ignores_editor_files(live: Live) -> None:
    ws = await live.serve_chat()
    mark = len(live.events)
    # The way many editors save: write a temp file, then rename it over the original.
    temp = live.folder / ".chat.py.tmp1234"
    temp.write_text(versioned(2))
    os.replace(temp, live.folder / "chat.py")
    await live.reloaded("chat.py", mark)
    assert (await ask(ws))["version"] == 2
    mark = len(live.events)
    # Files an editor or Python leaves around are not handler files.
    live.write(".chat.py.swp", "swap")
    live.write("chat.py~", "backup")
    live.write("4913", "")
    (live.folder / "__pycache__").mkdir(exist_ok=True)
    live.write("__pycache__/chat.cpython-311.pyc", "")
    live.write("notes.txt", "")
    live.write("sentinel.py", "")
    await live.reloaded("sentinel.py", mark)
    assert [Path(e["file"]).name for e in live.events[mark:] if e["type"] == "reloaded"] == [
        "sentinel.py"
    ]
    assert not ws.closed


async def test_a_save_that_changes_nothing_does_not_reload(live: Live) -> None:
    live.write("chat.py", versioned(1))
    await live.start()
    mark = len(live.events)
    live.write("chat.py", versioned(1))
    os.utime(live.folder / "chat.py")
    live.write("sentinel.py", "")
    await live.reloaded("sentinel.py", mark)
    assert [Path(e["file"]).name for e in live.events[mark:]] == ["sentinel.py"]


async def test_backup_rename_save_keeps_the_connection(live: Live) -> None:
    # vim's default: rename the original to `chat.py~`, write a new `chat.py`, drop the backup.
    # For a moment the file does not exist; that must not close its connections.
    ws = await live.serve_chat()
    mark = len(live.events)
    os.rename(live.folder / "chat.py", live.folder / "chat.py~")
    live.write("chat.py", versioned(2))
    (live.folder / "chat.py~").unlink()
    await live.reloaded("chat.py", mark)
    assert (await ask(ws))["version"] == 2
    assert not [e for e in live.events[mark:] if e["type"] == "removed"]


async def test_helper_change_reloads_the_handler_files_that_import_it(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the sidecar adds the handlers folder
    monkeypatch.delitem(sys.modules, "_shared", raising=False)
    live.write("_shared.py", "VERSION = 1\n")
    for name in ("a", "b"):
        live.write(
            f"{name}.py",
            textwrap.dedent(f"""
            import _shared
            from wsside import Handler
            h = Handler("/ws/{name}")

            @h.on_message
            def reply(conn, data):
                conn.send({{"version": _shared.VERSION}})
        """),
        )
    await live.start()
    a, b = await live.connect("/api/ws/a"), await live.connect("/api/ws/b")
    assert (await ask(a), await ask(b)) == ({"version": 1}, {"version": 1})
    mark = len(live.events)
    live.write("_shared.py", "VERSION = 2\n")
    await live.reloaded("a.py", mark)
    await live.reloaded("b.py", mark)
    assert (await ask(a), await ask(b)) == ({"version": 2}, {"version": 2})
    monkeypatch.delitem(sys.modules, "_shared", raising=False)


async def test_a_handler_file_imported_by_name_reaches_its_importers_when_saved(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `common.py` declares no handler but is not named like a helper: wsside loads it as a
    # handler file, and `chat.py` imports it again by its name.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "common", raising=False)
    live.write("common.py", "VERSION = 1\n")
    live.write(
        "chat.py",
        textwrap.dedent("""
        from common import VERSION
        from wsside import Handler
        h = Handler("/ws/chat")

        @h.on_message
        def reply(conn, data):
            conn.send({"version": VERSION})
    """),
    )
    await live.start()
    ws = await live.connect("/api/ws/chat")
    assert await ask(ws) == {"version": 1}
    mark = len(live.events)
    live.write("common.py", "VERSION = 2\n")
    await live.reloaded("chat.py", mark)
    assert await ask(ws) == {"version": 2}
    assert not ws.closed
    monkeypatch.delitem(sys.modules, "common", raising=False)


async def test_background_task_restarts_with_the_new_code(live: Live) -> None:
    code = """
        import asyncio
        from wsside import Handler
        h = Handler("/ws/tick")

        @h.background
        async def tick(handler):
            while True:
                handler.broadcast({{"tick": {version}}})
                await asyncio.sleep(0.02)
    """
    live.write("tick.py", textwrap.dedent(code.format(version=1)))
    await live.start()
    ws = await live.connect("/api/ws/tick")
    assert await asyncio.wait_for(ws.receive_json(), 5) == {"tick": 1}
    await live.save("tick.py", textwrap.dedent(code.format(version=2)))

    async def until_new_tick() -> None:
        while (await ws.receive_json()) != {"tick": 2}:
            pass

    await asyncio.wait_for(until_new_tick(), 5)
    assert live.sidecar is not None
    assert (
        len(live.sidecar.registry.background.running("/ws/tick")) == 1
    )  # the old task was cancelled


async def test_config_change_sets_config_changed(live: Live, tmp_path: Path) -> None:
    config = tmp_path / "wsside.toml"
    config.write_text("port = 1\n")
    live.write("chat.py", versioned(1))
    await live.start(config_file=config)
    assert live.sidecar is not None
    config.write_text("port = 2\n")
    await asyncio.wait_for(live.sidecar.config_changed.wait(), 5)


@contextlib.asynccontextmanager
async def serving(project: Path, *args: str) -> AsyncIterator[ServeProcess]:
    """`wsside serve *args` in `project`, with ws/chat.py at version 1; it must stop with 0."""
    (project / "ws").mkdir()
    (project / "ws" / "chat.py").write_text(versioned(1))
    server = await ServeProcess.start(*args, cwd=project)
    try:
        yield server
    finally:
        assert await server.stop() == 0


async def served_again_under_rt(
    server: ServeProcess,
    client: aiohttp.ClientSession,
    ws: aiohttp.ClientWebSocketResponse,
    port: int,
) -> None:
    """The restart a config change to prefix /rt (and `port`) makes: `ws` is closed 1012, and
    the handler answers under /rt on `port`."""
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1012)
    await server.expect(f"serving on ws://127.0.0.1:{port}/rt/")
    again = await client.ws_connect(f"http://127.0.0.1:{port}/rt/ws/chat")
    assert (await ask(again))["version"] == 1
    await again.close()


async def test_a_config_file_created_while_serving_restarts_with_it(tmp_path: Path) -> None:
    """`wsside init`, or a wsside.toml written by hand, while the server runs: it is read."""
    port = free_port()
    async with serving(tmp_path, "--port", str(port)) as server, aiohttp.ClientSession() as client:
        await server.expect("serving on")
        ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/chat")
        # A pyproject.toml without [tool.wsside] is not one, and is passed over.
        (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
        (tmp_path / "wsside.toml").write_text("prefix = '/rt'\n")
        await served_again_under_rt(server, client, ws, port)


async def test_serve_restarts_on_config_change_and_reports_bad_config(tmp_path: Path) -> None:
    first, second = free_port(), free_port()
    config = tmp_path / "wsside.toml"
    config.write_text(f"port = {first}\n")
    async with serving(tmp_path) as server, aiohttp.ClientSession() as client:
        await server.expect("serving on")
        ws = await client.ws_connect(f"http://127.0.0.1:{first}/api/ws/chat")
        assert (await ask(ws))["version"] == 1
        config.write_text('port = "abc"\n')
        error = await server.expect("config error")
        assert 'wsside.toml:1: key "port": expected an integer' in error
        assert (await ask(ws))["version"] == 1  # a bad config changes nothing
        config.write_bytes(b"# caf\xe9 (saved as Latin-1)\nport = 1\n")
        error = await server.expect("config error")
        assert "wsside.toml:1: not UTF-8 text (byte 0xe9 on line 1)" in error
        assert (await ask(ws))["version"] == 1
        config.write_text(f"port = {second}\nprefix = '/rt'\n")
        await served_again_under_rt(server, client, ws, second)


async def test_a_new_log_level_in_the_config_file_applies_after_the_restart(
    tmp_path: Path,
) -> None:
    """The access log is at info: at warning a connection writes no line, back at info it
    does (logging is set up once per process; the level must follow the file)."""
    port = free_port()
    config = tmp_path / "wsside.toml"
    config.write_text(f'port = {port}\nlog_level = "warning"\n')
    url = f"http://127.0.0.1:{port}/api/ws/chat"
    async with serving(tmp_path) as server, aiohttp.ClientSession() as client:
        await server.expect("serving on")
        ws = await client.ws_connect(url + "?quiet")
        assert (await ask(ws))["version"] == 1
        config.write_text(f'port = {port}\nlog_level = "info"\n')
        await server.expect("changed: restarting")
        await server.expect("serving on")
        ws = await client.ws_connect(url + "?loud")
        assert (await ask(ws))["version"] == 1
        await ws.close()
        await server.expect('"WebSocket /api/ws/chat" closed 1000')
    access = [line for line in server.lines if '"WebSocket /api/ws/chat"' in line]
    # At warning nothing (the quiet one's 1012 neither: a connection's lines are decided
    # when it opens); at info the loud one's two.
    assert [line.split('" ', 1)[1].split(" after")[0].strip() for line in access] == [
        "101",
        "closed 1000 by the client",
    ], access


async def test_port_0_keeps_the_port_the_system_chose_across_a_restart(tmp_path: Path) -> None:
    config = tmp_path / "wsside.toml"
    config.write_text("port = 0\n")
    async with serving(tmp_path) as server:
        banner = await server.expect("serving on")
        port = int(banner.split("ws://127.0.0.1:")[1].split("/")[0])
        config.write_text("port = 0\nprefix = '/rt'\n")
        # Clients told to reconnect (1012) find the server where it was.
        assert f"serving on ws://127.0.0.1:{port}/rt/" in await server.expect("serving on")


async def test_unchanged_or_invalid_config_does_not_restart(live: Live, tmp_path: Path) -> None:
    """An edit elsewhere in pyproject.toml reads back the same settings: no restart."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.wsside]\nport = 1\n")
    search = (tmp_path,)
    current = build_settings({}, search=search)
    changed = asyncio.Event()
    waiter = asyncio.ensure_future(
        config_watch.next_settings(changed, current, lambda: build_settings({}, search=search))
    )
    mark = len(live.events)
    pyproject.write_text('[project]\nname = "app"\n[tool.wsside]\nport = 1\n')
    changed.set()
    await live.event(lambda e: e["type"] == "config_ok", mark)
    pyproject.write_text("[tool.wsside]\nport = -1\n")
    changed.set()
    error = await live.event(lambda e: e["type"] == "config_error", mark)
    assert (error["key"], error["line"]) == ("tool.wsside.port", 2)
    assert not waiter.done()
    pyproject.write_text("[tool.wsside]\nport = 2\n")
    changed.set()
    assert (await asyncio.wait_for(waiter, 5)).port == 2


async def test_a_file_refused_for_a_duplicate_pattern_serves_once_the_pattern_is_free(
    live: Live,
) -> None:
    live.write("a.py", versioned(1, "/ws/dup"))
    await live.start()
    # A copy, say, before editing it.
    error = await live.save("b.py", versioned(2, "/ws/dup"), kind="load_error")
    assert "duplicate pattern '/ws/dup'" in error["message"]
    assert (await ask(await live.connect("/api/ws/dup")))["version"] == 1
    mark = len(live.events)
    (live.folder / "a.py").unlink()
    await live.reloaded("a.py", mark, kind="removed")
    event = await live.reloaded("b.py", mark)  # no save of b.py needed
    assert event["patterns"] == ["/ws/dup"]
    assert (await ask(await live.connect("/api/ws/dup")))["version"] == 2
    # The same when the other file moves to another pattern instead of going away.
    await live.save("c.py", versioned(3, "/ws/dup"), kind="load_error")
    mark = len(live.events)
    live.write("b.py", versioned(2, "/ws/moved"))
    await live.reloaded("c.py", mark, kind="reloaded")
    assert (await ask(await live.connect("/api/ws/dup")))["version"] == 3
    assert live.sidecar is not None and not live.sidecar.registry.errors


async def test_a_file_that_declares_one_pattern_twice_is_not_loaded_again_and_again(
    live: Live,
) -> None:
    """Its error is its own: no other file's load or save frees the pattern."""
    live.write("a_self.py", "from wsside import Handler\nHandler('/ws/p')\nHandler('/ws/p')\n")
    for name in ("b.py", "c.py", "d.py"):
        live.write(name, versioned(1, f"/ws/{name[0]}"))
    await live.start()
    await live.save("b.py", versioned(2, "/ws/b"))
    errors = [e for e in live.events if e["type"] == "load_error"]
    assert [Path(e["file"]).name for e in errors] == ["a_self.py"], errors


async def test_a_handlers_folder_created_after_start_is_served(live: Live) -> None:
    live.folder.rmdir()  # the user starts Vite before writing any handler
    await live.start()
    live.folder.mkdir()
    await live.save("chat.py", versioned(1))
    ws = await live.connect("/api/ws/chat")
    assert (await ask(ws))["version"] == 1
    await live.save("more.py", versioned(1, "/ws/more"))  # the folder itself is watched now
    assert (await ask(await live.connect("/api/ws/more")))["version"] == 1


@pytest.mark.parametrize(("quick", "scanned"), [(False, False), (True, False), (False, True)])
async def test_a_handlers_folder_deleted_and_created_again_is_served(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick: bool, scanned: bool
) -> None:
    """`git stash -u`, or a checkout that empties the folder: every file of the new folder
    serves, and later saves in it reload. `quick`: gone and back within one quiet time;
    `scanned`: without file watches left (`_NoWatchesLeft`, below)."""
    if scanned:
        monkeypatch.setattr(watch, "Observer", _NoWatchesLeft)
    live.write("chat.py", versioned(1))
    await live.start()
    saved = tmp_path / "saved"
    shutil.copytree(live.folder, saved)
    mark = len(live.events)
    shutil.rmtree(live.folder)
    if not quick:
        await live.reloaded("chat.py", mark, kind="removed")
    shutil.copytree(saved, live.folder)
    if not quick:
        await live.reloaded("chat.py", mark)
    await live.save("more.py", versioned(1, "/ws/more"))
    await live.save("chat.py", versioned(2))
    assert (await ask(await live.connect("/api/ws/chat")))["version"] == 2
    assert (await ask(await live.connect("/api/ws/more")))["version"] == 1


async def test_a_handlers_folder_moved_away_and_back_is_served(live: Live, tmp_path: Path) -> None:
    live.write("chat.py", versioned(1))
    await live.start()
    mark = len(live.events)
    live.folder.rename(tmp_path / "away")
    await live.reloaded("chat.py", mark, kind="removed")
    (tmp_path / "away" / "chat.py").write_text(versioned(2))  # not the handlers folder now
    (tmp_path / "away").rename(live.folder)
    await live.reloaded("chat.py", mark)
    await live.save("chat.py", versioned(3))
    assert (await ask(await live.connect("/api/ws/chat")))["version"] == 3


class _NoWatchesLeft(watch.Observer):
    """The platform's observer on a system whose inotify limits are used up (by editors,
    other dev servers): watching the handlers folder fails as the kernel makes it fail."""

    def schedule(self, handler: Any, path: Any, **kw: Any) -> Any:
        if Path(path).name == "ws":
            raise OSError(errno.EMFILE, "inotify instance limit reached")
        return super().schedule(handler, path, **kw)


@pytest.mark.parametrize("folder_at_start", [True, False])
async def test_without_file_watches_reload_scans_instead(
    live: Live, monkeypatch: pytest.MonkeyPatch, folder_at_start: bool
) -> None:
    monkeypatch.setattr(watch, "Observer", _NoWatchesLeft)
    if folder_at_start:
        live.write("chat.py", versioned(1))
    else:
        live.folder.rmdir()
    await live.start()
    if not folder_at_start:
        live.folder.mkdir()
        await live.save("chat.py", versioned(1))
    warning = await live.event(lambda e: "hot reload: cannot watch" in e.get("message", ""), 0)
    assert warning["level"] == "warning"
    assert (
        "(inotify instance limit reached): scanning it every 0.5 s instead" in (warning["message"])
    )
    ws = await live.connect("/api/ws/chat")
    assert (await ask(ws))["version"] == 1
    await live.save("chat.py", versioned(2))
    assert (await ask(ws))["version"] == 2  # the same connection, the new code
    assert sum("hot reload: cannot watch" in e.get("message", "") for e in live.events) == 1


def test_two_handler_folders_in_one_process_each_get_their_own_helpers(tmp_path: Path) -> None:
    from wsside._runtime.registry import Registry

    loaded = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "_shared.py").write_text(f"WHO = {name!r}\n")
        (folder / "h.py").write_text(
            "import _shared\nfrom wsside import Handler\n"
            f"h = Handler('/ws/{name}', default_room=_shared.WHO)\n"
        )
        registry = Registry(folder)
        registry.load_all()
        assert not registry.errors
        loaded.append(registry.hubs[f"/ws/{name}"].handler.default_room)
    assert loaded == ["a", "b"]


async def test_a_file_event_that_fails_to_be_handled_ends_no_reloads(
    tmp_path: Path, live: Live, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong with one event in the watcher's thread is logged there; an
    exception out of it would end that thread, and every later save would go unseen."""
    from wsside._runtime.watch import FolderWatch, Kind

    ws = await live.serve_chat()
    kind = FolderWatch._kind

    def trips(self: FolderWatch, path: Path, is_directory: bool, left: bool = False) -> Kind | None:
        if path.name == "trip.py":
            raise RuntimeError("a bug in handling one event")
        return kind(self, path, is_directory, left)

    monkeypatch.setattr(FolderWatch, "_kind", trips)
    live.write("trip.py", "x = 1\n")
    await live.save("chat.py", versioned(2))
    assert (await ask(ws))["version"] == 2
    assert "could not handle a file event" in caplog.text


def modules_forgotten(monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...]) -> Iterator[None]:
    """For a fixture: the helpers `names` that handler files import are not left in
    `sys.modules` for other tests."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the sidecar adds the handlers folder
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield
    for name in names:
        sys.modules.pop(name, None)
