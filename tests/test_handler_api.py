"""What a handler's author meets when a declaration is used in a way that would fail without a
word: a callback given twice, a push through a handler whose file was reloaded, an
`authenticate` whose return value is dropped, a failing `Response`. Each runs in a real
`wsside serve` with real WebSocket clients, and reads what it writes to its console.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside import Handler


def save(path: Path, text: str) -> None:
    """Write a handler file as editors save it (through a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(textwrap.dedent(text).lstrip())
    os.replace(temp, path)


@contextlib.asynccontextmanager
async def serving(project: Path, *args: str) -> AsyncIterator[tuple[ServeProcess, str]]:
    """`wsside serve` in `project` (its handler files written already), and the base URL of
    its endpoints; once it has stopped, every line it wrote is in `lines`."""
    port = free_port()
    server = await ServeProcess.start("--port", str(port), *args, cwd=project)
    try:
        await server.expect("serving on")
        yield server, f"http://127.0.0.1:{port}/api"
    finally:
        await server.stop()
        assert server.proc.stderr is not None
        server.lines.extend((await server.proc.stderr.read()).decode().splitlines(True))


TWICE = """
from wsside import Handler

h = Handler("/ws/twice")


@h.on_message
def first(conn, data):
    conn.send("first")


@h.on_message
def second(conn, data):
    conn.send("second")
"""

KEYWORD_THEN_DECORATOR = """
from wsside import Handler


def closed(conn):
    pass


h = Handler("/ws/kw", on_close=closed)


@h.on_close
def closed_again(conn):
    pass
"""


def test_a_handler_is_shown_with_its_pattern_as_written() -> None:
    """As every message shows a pattern (`{room:[\\w-]+}`), not with repr's doubled `\\`."""
    assert repr(Handler(r"/ws/rooms/{room:[\w-]+}")) == r"Handler('/ws/rooms/{room:[\w-]+}')"


async def test_a_callback_given_twice_is_a_load_error_naming_both(tmp_path: Path) -> None:
    save(tmp_path / "ws" / "twice.py", TWICE)
    save(tmp_path / "ws" / "kw.py", KEYWORD_THEN_DECORATOR)
    async with serving(tmp_path) as (server, _):  # reload on: it serves, waiting for fixes
        pass
    said = "".join(server.lines)
    assert (
        "cannot load ws/twice.py:11: ValueError: Handler('/ws/twice') has on_message twice: "
        "ws/twice.py:6 and ws/twice.py:11; keep one\n"
    ) in said
    assert (
        "cannot load ws/kw.py:11: ValueError: Handler('/ws/kw') has on_close twice: "
        "ws/kw.py:4 and ws/kw.py:11; keep one\n"
    ) in said


# Three slips that Python accepts without a word: a generator as a callback (calling it runs
# none of its body), a room that is not a str in a Broadcast, and python-socketio's way of
# refusing a connection (on_connect returning False), which leaves it open.
GENERATOR = """
from wsside import Handler

h = Handler("/ws/gen")


@h.on_message
async def feed(conn, data):
    yield {"echo": data}
"""

BROADCAST_ROOM = """
from wsside import Broadcast, Handler, Response

h = Handler(
    "/ws/rooms",
    responses=[Response({"type": "hi"}, {"type": "hello"}, broadcast=Broadcast(room=5))],
)
"""

NUMBERED = """
from wsside import Handler

h = Handler(404)
"""

REFUSING = """
from wsside import Handler

h = Handler("/ws/refusing")


@h.on_connect
def only_members(conn, request):
    return request.query.get("member") == "yes"
"""


async def test_slips_python_accepts_are_a_load_error_or_a_warning(tmp_path: Path) -> None:
    save(tmp_path / "ws" / "gen.py", GENERATOR)
    save(tmp_path / "ws" / "rooms.py", BROADCAST_ROOM)
    save(tmp_path / "ws" / "refusing.py", REFUSING)
    save(tmp_path / "ws" / "numbered.py", NUMBERED)
    async with serving(tmp_path) as (server, base), aiohttp.ClientSession() as client:
        for _ in range(2):
            async with client.ws_connect(base + "/ws/refusing?member=no") as ws:
                await ws.close()
        await server.expect("returned False")
    said = "".join(server.lines)
    assert (
        "cannot load ws/gen.py:6: TypeError: on_message: feed() at ws/gen.py:6 is a "
        "generator (it has yield), and calling one runs none of its body: send each value "
        "with conn.send(...) in place of yield\n"
    ) in said, said
    assert (
        "cannot load ws/rooms.py:5: TypeError: Broadcast(room=...): a room is a str, its name; "
        "got int 5\n"
    ) in said, said
    assert (
        "cannot load ws/numbered.py:3: TypeError: a pattern is a str such as '/ws/chat', got "
        "int 404\n"
    ) in said, said
    refused = [line for line in server.lines if "returned False" in line]
    assert len(refused) == 1, refused  # once per handler, not per connection
    line = line_of(REFUSING, "@h.on_connect")
    assert (
        refused[0]
        .rstrip()
        .endswith(
            f"on_connect at ws/refusing.py:{line} returned False, which does not refuse the "
            "connection (it stays open): refuse in authenticate= (False there answers the "
            "handshake with 401), or close it from on_connect with conn.close(4001, 'why')"
        )
    ), refused


# A loop the author started with asyncio.create_task: it keeps the Handler object of the
# version that started it. `_ticks` (a helper, not a handler file) counts its rounds for the
# test.
LOOPING = """
import asyncio

import _ticks
from wsside import Handler

h = Handler("/ws/loop")
VERSION = {version}


async def forever():
    while True:
        h.broadcast({{"version": VERSION}})
        _ticks.count += 1
        await asyncio.sleep(0.02)


@h.on_connect
def connected(conn):
    if not _ticks.started:
        _ticks.started = True
        asyncio.get_running_loop().create_task(forever())


@h.on_message
def ticks(conn, data):
    conn.send({{"ticks": _ticks.count, "version": VERSION}})
"""


async def test_a_push_through_a_handler_whose_file_was_reloaded_is_warned_of_once(
    tmp_path: Path,
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "_ticks.py").write_text("count = 0\nstarted = False\n")
    save(tmp_path / "ws" / "loop.py", LOOPING.format(version=1))
    async with serving(tmp_path) as (server, base), aiohttp.ClientSession() as client:
        ws = await client.ws_connect(base + "/ws/loop")
        assert await ws.receive_json(timeout=5) == {"version": 1}  # the loop reaches it
        save(tmp_path / "ws" / "loop.py", LOOPING.format(version=2))
        await server.expect("reloaded ws/loop.py")
        warned = await server.expect("was broadcast to, but it is no longer served")
        assert warned.rstrip().endswith(
            "wsside: Handler('/ws/loop') at ws/loop.py:6 was broadcast to, but it is no longer "
            "served since its file was reloaded (or removed), and reaches no connection: a loop "
            "that outlives a reload belongs in a @handler.background task, which restarts "
            "with the new code"
        ), warned
        # The old loop goes on: let it run some rounds more, asking the new code its count.
        seen = None
        while True:
            await ws.send_str("ticks?")
            reply = await ws.receive_json(timeout=5)
            if "ticks" not in reply:
                continue  # a broadcast of the old loop, sent before the reload
            assert reply["version"] == 2
            seen = reply["ticks"] if seen is None else seen
            if reply["ticks"] >= seen + 10:
                break
        await ws.close()
    assert sum("no longer served" in line for line in server.lines) == 1, server.lines


# A background task that starts a thread and does not stop it: after a save the thread goes
# on pushing through the old Handler (docs/patterns.md shows how to stop it).
THREADED = """
import asyncio
import threading
import time

from wsside import Handler

h = Handler("/ws/thread")
VERSION = {version}


def push(loop):
    while True:
        loop.call_soon_threadsafe(h.broadcast, {{"version": VERSION}})
        time.sleep(0.02)


@h.background
async def start(handler):
    threading.Thread(target=push, args=(asyncio.get_running_loop(),), daemon=True).start()
"""


async def test_a_push_from_a_thread_of_a_cancelled_background_task_says_to_stop_the_thread(
    tmp_path: Path,
) -> None:
    (tmp_path / "ws").mkdir()
    save(tmp_path / "ws" / "thread.py", THREADED.format(version=1))
    async with serving(tmp_path) as (server, base), aiohttp.ClientSession() as client:
        ws = await client.ws_connect(base + "/ws/thread")
        assert await ws.receive_json(timeout=5) == {"version": 1}
        save(tmp_path / "ws" / "thread.py", THREADED.format(version=2))
        warned = await server.expect("was broadcast to, but it is no longer served")
        assert warned.rstrip().endswith(
            "and reaches no connection: a thread its background task started runs on after "
            "the task was cancelled: stop it from the task's finally (docs/patterns.md, A "
            "producer in a thread)"
        ), warned
        await ws.close()


# A callback that awaits across a save, then broadcasts through its module's Handler: the old
# declaration, no longer served. `conn.broadcast` is the way (the helper module keeps the gate).
AWAITING = """
from wsside import Handler

import _gate

h = Handler("/ws/await")
VERSION = {version}


@h.on_message
async def message(conn, data):
    if data == "wait":
        conn.send("waiting")
        await _gate.release.wait()
        h.broadcast({{"version": VERSION}})
    else:
        _gate.release.set()
"""


async def test_a_push_from_a_callback_that_awaited_across_a_save_names_conn_broadcast(
    tmp_path: Path,
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "_gate.py").write_text("import asyncio\n\nrelease = asyncio.Event()\n")
    save(tmp_path / "ws" / "await.py", AWAITING.format(version=1))
    async with serving(tmp_path) as (server, base), aiohttp.ClientSession() as client:
        waiting = await client.ws_connect(base + "/ws/await")
        await waiting.send_str("wait")
        assert await waiting.receive_str(timeout=5) == "waiting"
        save(tmp_path / "ws" / "await.py", AWAITING.format(version=2))
        await server.expect("reloaded ws/await.py")
        other = await client.ws_connect(base + "/ws/await")
        await other.send_str("release")
        warned = await server.expect("was broadcast to, but it is no longer served")
        assert warned.rstrip().endswith(
            "and reaches no connection: this runs in a callback of a connection opened before "
            "the save (an on_close or on_message that awaited across it): conn.broadcast(...) "
            "reaches the endpoint as it is served now"
        ), warned
        await waiting.close()
        await other.close()


AUTHENTICATE = """
from dataclasses import dataclass

from wsside import Handler


@dataclass
class User:
    name: str


def who(request):
    return User("ada")


async def who_later(request):
    return User("ada")


def said(conn):
    conn.send({"metadata": dict(conn.metadata)})


now = Handler("/ws/now", authenticate=who, on_connect=said)
later = Handler("/ws/later", authenticate=who_later, on_connect=said)
"""


async def test_authenticate_returning_an_object_is_warned_once_per_handler(
    tmp_path: Path,
) -> None:
    save(tmp_path / "ws" / "auth.py", AUTHENTICATE)
    async with serving(tmp_path, "--no-reload") as (server, base), aiohttp.ClientSession() as c:
        for path in ("/ws/now", "/ws/later", "/ws/now", "/ws/later"):
            ws = await c.ws_connect(base + path)  # accepted, as README's `authenticate` says
            assert await ws.receive_json(timeout=5) == {"metadata": {}}
            await ws.close()
    warnings = [line for line in _lines_after_the_banner(server) if "authenticate returned" in line]
    assert len(warnings) == 2, warnings
    for line, where in zip(warnings, ("def who(", "def who_later("), strict=True):
        assert line.rstrip().endswith(
            f"ws/auth.py:{line_of(AUTHENTICATE, where)}: authenticate returned a User, which "
            "accepts the connection but is not kept: return a dict, which is merged into "
            'conn.metadata (return {"user": user})'
        ), line


RAISES_401 = """
from starlette.exceptions import HTTPException

from wsside import Handler


def session(request):
    raise HTTPException(401, "no session")


h = Handler("/ws/private", authenticate=session)
"""


async def test_authenticate_raising_a_401_is_a_500_with_a_hint_once(tmp_path: Path) -> None:
    """A framework's HTTPException(401) from a dependency reused as authenticate: a raised
    exception refuses with 500, as any does, and the author is told once how to get a 401."""
    save(tmp_path / "ws" / "private.py", RAISES_401)
    async with serving(tmp_path, "--no-reload") as (server, base), aiohttp.ClientSession() as c:
        for _ in range(2):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await c.ws_connect(base + "/ws/private")
            assert refused.value.status == 500
    hints = [line for line in _lines_after_the_banner(server) if "with status 401" in line]
    assert len(hints) == 1, server.lines
    assert (
        hints[0]
        .rstrip()
        .endswith(
            f"ws/private.py:{line_of(RAISES_401, 'def session(')}: authenticate raised "
            "HTTPException with status 401, which refuses with 500 like any exception: return "
            "False to refuse with 401"
        )
    ), hints


def line_of(text: str, fragment: str) -> int:
    """The line of `fragment` in a handler file written from `text` by `save`."""
    lines = textwrap.dedent(text).lstrip().splitlines()
    return next(number for number, line in enumerate(lines, 1) if fragment in line)


def _lines_after_the_banner(server: ServeProcess) -> list[str]:
    return server.lines[next(i for i, line in enumerate(server.lines) if "serving on" in line) :]


DECLARED = """
from wsside import Handler, Response

h = Handler(
    "/ws/decl",
    responses=[
        Response({"type": "boom"}, lambda conn, msg: 1 / 0),
        Response(lambda conn, msg: msg["missing"] == 1, "never"),
    ],
)
"""


async def test_a_failing_response_is_reported_as_the_responses(tmp_path: Path) -> None:
    save(tmp_path / "ws" / "decl.py", DECLARED)
    async with serving(tmp_path, "--no-reload") as (server, base), aiohttp.ClientSession() as c:
        ws = await c.ws_connect(base + "/ws/decl")
        await ws.send_json({"type": "boom"})
        # The error policy is the same: no on_error, so the error frame.
        assert await ws.receive_json(timeout=5) == {"type": "error", "message": "division by zero"}
        line = await server.expect("ZeroDivisionError")
        at = line_of(DECLARED, "1 / 0")
        said = f"error in a Response of ws/decl.py:{at} ("
        assert said in line and line.endswith(": ZeroDivisionError: division by zero\n"), line
        await ws.send_json({"type": "other"})  # the second rule's match raises
        assert await ws.receive_json(timeout=5) == {"type": "error", "message": "'missing'"}
        line = await server.expect("KeyError")
        at = line_of(DECLARED, "missing")
        said = f"error in a Response of ws/decl.py:{at} ("
        assert said in line and line.endswith(": KeyError: 'missing'\n"), line
        await ws.close()


def test_a_handler_file_run_as_a_script_says_where_handler_files_run(tmp_path: Path) -> None:
    # `python ws/chat.py`, as a Flask app is run: it would exit 0 having served nothing.
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text(
        "from wsside import Handler\n\nchat = Handler('/ws/chat')\nlobby = Handler('/ws/lobby')\n"
        # One the script's own code refused is not one it declares.
        "try:\n    Handler('/ws/refused', heartbeat='30')\nexcept ValueError:\n    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "ws/chat.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stderr == (
        "wsside: ws/chat.py declares Handler('/ws/chat'), Handler('/ws/lobby') and ran as a "
        "script, which serves nothing: a handler file is served by Vite (npx vite, with "
        "vite-plugin-wsside in vite.config) or by wsside serve\n"
    )
    # A script that serves its handlers itself (here through wsside.testing) is told nothing.
    (tmp_path / "serves.py").write_text(
        "import asyncio\n\nfrom wsside import Handler\nfrom wsside.testing import serve\n\n"
        "echo = Handler('/ws/echo')\n\n\nasync def main():\n"
        "    async with serve([echo]) as server:\n        await server.connect('/ws/echo')\n\n\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "serves.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
