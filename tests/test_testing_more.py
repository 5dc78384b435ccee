"""`wsside.testing` as pytest suites use it beyond one test's own server: a folder named from
the tests' folder, two servers at once, a server fixture of wider scope, and the hints of a
handler file that does not load under a test."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from wsside._places import shown
from wsside._runtime import events
from wsside.testing import ConnectionClosed, serve

ECHO = """
import asyncio
import importlib.util
from wsside import Handler

echo = Handler("/ws/echo")
go = asyncio.Event()

@echo.on_connect
def hello(conn, request):
    conn.metadata["on_close"] = request.query.get("on_close")

@echo.on_message
def message(conn, data):
    if data == "boom":
        1 / 0
    if data == "background":
        go.set()
    conn.send(data)

@echo.on_close
def gone(conn, code, reason):
    if conn.metadata["on_close"] == "fail":
        raise ValueError("on_close failed")

@echo.background
async def later(handler):
    await go.wait()
    raise LookupError("the background task failed")
"""


def handlers_folder(where: Path, code: str = ECHO) -> Path:
    folder = where / "ws"
    folder.mkdir()
    (folder / "echo.py").write_text(textwrap.dedent(code))
    return folder


@contextmanager
def error_reported() -> Iterator[asyncio.Future[dict[str, Any]]]:
    """The next handler error event: once it is here, every server has seen it too (events
    reach the subscribers in one call, the servers' first)."""
    reported: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def seen(event: dict[str, Any]) -> None:
        if event.get("type") == "runtime_error" and not reported.done():
            reported.set_result(event)

    events.subscribe(seen)
    try:
        yield reported
    finally:
        events.unsubscribe(seen)


async def test_a_folder_named_from_the_tests_folder_finds_the_config_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `wsside serve --handlers FOLDER` does: the config file of the current folder, else the
    one beside FOLDER (a test names it from its own: `Path(__file__).parent.parent / "ws"`)."""
    handlers_folder(tmp_path)
    config = 'prefix = "/socket"\n[defaults]\nmax_message_size = 1024\n'
    (tmp_path / "wsside.toml").write_text(config)
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    async with serve(tmp_path / "ws") as server:
        assert server.prefix == "/socket"
        client = await server.connect("/ws/echo")
        await client.send("x" * 1000)
        assert await client.receive_text() == "x" * 1000
        await client.send("x" * 2000)
        assert (await client.receive_close())[0] == 1009  # Message Too Big: [defaults] applies
    (tmp_path / "tests" / "wsside.toml").write_text('prefix = "/here"\n')
    async with serve("../ws") as server:  # the current folder's first, as for `wsside serve`
        assert server.prefix == "/here"


async def test_two_servers_of_one_folder_keep_their_own_handlers_errors(tmp_path: Path) -> None:
    folder = handlers_folder(tmp_path)
    async with serve(folder) as other:  # would fail its exit with an error of the first's
        bob = await other.connect("/ws/echo")
        async with serve(folder, raise_errors=False) as first:
            ada = await first.connect("/ws/echo", query={"on_close": "fail"})
            await ada.send("boom")  # in a connection's callback
            assert (await ada.receive_json())["type"] == "error"
            with error_reported() as reported:
                await ada.send("background")  # in a background task
                await asyncio.wait_for(reported, 5)
        # ... and in on_close, as the block closed the client
        assert [report.splitlines()[-1] for report in first.errors] == [
            "ZeroDivisionError: division by zero",
            "LookupError: the background task failed",
            "ValueError: on_close failed",
        ]
        await bob.send("still here")
        assert await bob.receive_text() == "still here"
        assert other.errors == []


# A project's tests of a server fixture shared by a module, as pytest-asyncio runs them.
SHARED_FIXTURE = """
import pytest
import pytest_asyncio

from wsside import Handler
from wsside.testing import ConnectionClosed, serve

echo = Handler("/ws/echo")

@echo.on_message
def back(conn, data):
    conn.send(data)

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server():
    async with serve([echo]) as server:
        yield server

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(server):
    return await server.connect("/ws/echo")

async def test_connect_on_a_loop_of_its_own(server):
    await server.connect("/ws/echo")

async def test_a_client_of_the_fixture_on_a_loop_of_its_own(client):
    await client.receive_text()

async def test_a_close_on_a_loop_of_its_own(client):
    await client.close()

async def test_an_exit_on_a_loop_of_its_own(server):
    await server.__aexit__(None, None, None)

@pytest.mark.asyncio(loop_scope="module")
async def test_on_the_fixture_s_loop(server, client):
    other = await server.connect("/ws/echo")
    await client.send("hi")
    await other.send("there")
    assert [await client.receive_text(), await other.receive_text()] == ["hi", "there"]
"""


def test_a_server_of_another_event_loop_says_to_run_on_its_loop(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (tmp_path / "test_shared.py").write_text(SHARED_FIXTURE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=line"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = re.findall(r"^E +RuntimeError: (.*)", done.stdout, re.MULTILINE)
    assert (
        said
        == [  # by connect(), the client's wait, its close and the server's exit
            "wsside.testing: the server runs on another event loop than this test (a fixture of "
            "wider scope): mark the test with the fixture's loop scope, "
            'pytest.mark.asyncio(loop_scope="module") under pytest-asyncio'
        ]
        * 4
    ), done.stdout + done.stderr
    assert "4 failed, 1 passed" in done.stdout, done.stdout  # the advice taken, it works


async def test_the_waits_take_timeout_and_match_by_name(tmp_path: Path) -> None:
    async with serve(handlers_folder(tmp_path)) as server:
        client = await server.connect("/ws/echo")
        await client.send({"type": "tick"})
        with pytest.raises(TypeError, match="1 positional argument but 2 were given"):
            await client.receive_json({"type": "tick"})  # type: ignore[misc]
        for wait in (client.receive_text, client.receive_bytes, client.receive_close):
            with pytest.raises(TypeError, match="1 positional argument but 2 were given"):
                await wait(0.1)  # type: ignore[misc]
        assert await client.receive_json(match={"type": "tick"}, timeout=1) == {"type": "tick"}


async def test_a_variable_a_file_reads_at_import_is_said_to_be_set_in_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = """
    import os
    from wsside import Handler

    SECRET = os.environ["WSSIDE_TESTING_SECRET"]
    echo = Handler("/ws/echo")
    """
    folder = handlers_folder(tmp_path, secret)
    monkeypatch.delenv("WSSIDE_TESTING_SECRET", raising=False)
    with pytest.raises(ImportError) as failed:
        async with serve(folder):
            raise AssertionError("not reached")
    headline = str(failed.value).splitlines()[0]
    assert re.fullmatch(
        r"cannot load \S*echo\.py:5: KeyError: 'WSSIDE_TESTING_SECRET': not in this process's "
        r"environment: .*; in a test, monkeypatch\.setenv\('WSSIDE_TESTING_SECRET', \.\.\.\) "
        r"before serve\(\)",
        headline,
    ), headline
    monkeypatch.setenv("WSSIDE_TESTING_SECRET", "s3cret")
    async with serve(folder) as server:
        assert server.handler("/ws/echo").pattern.source == "/ws/echo"


ROOM = """
from wsside import Handler

room = Handler("/ws/room", default_room="lobby")
room.left = []

@room.on_close
async def gone(conn, code, reason, by_client):
    room.left.append(conn.query["name"])
    conn.broadcast({"left": conn.query["name"], "code": code, "by_client": by_client})
"""


async def test_a_dropped_client_s_on_close_has_run_when_drop_returns(tmp_path: Path) -> None:
    async with serve(handlers_folder(tmp_path, ROOM)) as server:
        ada = await server.connect("/ws/room", query={"name": "ada"})
        bob = await server.connect("/ws/room", query={"name": "bob"})
        assert len(server.handler("/ws/room").connections) == 2
        await ada.drop()
        assert server.handler("/ws/room").left == ["ada"]  # type: ignore[attr-defined]
        assert [c.query["name"] for c in server.handler("/ws/room").connections] == ["bob"]
        assert await bob.receive_json() == {"left": "ada", "code": 1006, "by_client": True}
        with pytest.raises(ConnectionClosed) as closed:
            await ada.receive_json()
        assert closed.value.code == 1006
        await ada.drop()  # nothing to do once dropped, nor to close
        await ada.close()
        await bob.close()
        await bob.drop()
        assert not server.handler("/ws/room").connections


async def test_a_push_through_a_second_copy_of_a_handler_file_is_warned_of_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A test (or an app's route) that imports a handler file itself has a `Handler` no server
    serves: its broadcast reaches nobody, which is said once, naming the served one's way."""
    folder = handlers_folder(tmp_path)
    spec = importlib.util.spec_from_file_location("copy_of_echo", folder / "echo.py")
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    async with serve(folder) as server:
        client = await server.connect("/ws/echo")
        with caplog.at_level("WARNING", logger="wsside"):
            line = sys._getframe().f_lineno + 1
            copy.echo.broadcast("to nobody")
            copy.echo.broadcast("to nobody again")
            server.handler("/ws/echo").broadcast("to everyone")
            assert await client.receive_text() == "to everyone"
    warned = [r.getMessage() for r in caplog.records if "reaches no connection" in r.message]
    assert warned == [
        f"wsside: Handler('/ws/echo') at {folder / 'echo.py'}:6 was broadcast to from "
        f"{shown(__file__)}:{line}, which reaches no connection: no server serves this object. "
        "When a server does serve the file, this is a second copy of it, imported as a module "
        "of your own: push through the one the server loaded, your ASGIApp's .handler(pattern) "
        "or wsside.testing's server.handler(pattern), or from the handler's own callbacks "
        "(conn.broadcast)"
    ], caplog.text


SHOWN = """
from wsside import Handler

shown = Handler("/ws/shown/{room}", subprotocols=["chat.v1"])

@shown.on_connect
def hello(conn, request):
    conn.send(repr(request))
    conn.send(str(hash(request) == hash(request) and request == request))
"""


async def test_a_request_is_shown_without_its_credentials(tmp_path: Path) -> None:
    """`print(request)` in `authenticate` as it is written: the values of the headers and
    query parameters that carry credentials, and of the cookies, are `…`."""
    async with serve(handlers_folder(tmp_path, SHOWN)) as server:
        client = await server.connect(
            "/ws/shown/general",
            query={"access_token": "s3cret", "username": "Ada"},
            headers={
                "Authorization": "Bearer SECRET",
                "Cookie": "sid=abc; theme=dark",
                "X-Api-Key": "APIKEY",
            },
            protocols=["chat.v1"],
        )
        shown = await client.receive_text()
        assert await client.receive_text() == "True"  # hashable, and equal to itself
    for secret in ("s3cret", "SECRET", "abc", "APIKEY"):
        assert secret not in shown, shown
    assert shown.startswith(
        "Request(GET /api/ws/shown/general, params={'room': 'general'}, "
        "query={'access_token': …, 'username': 'Ada'}, headers={"
    ), shown
    assert "'Authorization': …, 'Cookie': …, 'X-Api-Key': …" in shown, shown
    assert shown.endswith(
        "cookies={'sid': …, 'theme': …}, remote='127.0.0.1', subprotocols=('chat.v1',))"
    ), shown
