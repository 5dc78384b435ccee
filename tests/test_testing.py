"""`wsside.testing`: the test server users run their handlers in, used as a user's tests use
it (handler files in a folder, or `Handler` objects), over real loopback sockets. README's
example test runs in a project of its own in tests/test_readme.py; the examples' own tests
(examples/NAME/tests) run here, as the README says to run them."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from wsside import Connection, Handler
from wsside.testing import ConnectionClosed, HandlerError, HandshakeRefused, serve

ROOM = """
from wsside import Handler

room = Handler("/ws/room/{name}", subprotocols=["v1"])

@room.on_connect
async def hello(conn, request):
    conn.metadata["room"] = request.params["name"]
    conn.join_room(conn.metadata["room"])
    if request.query.get("token") == "bad":
        await conn.close(4001, "bad token")
        return
    conn.send({"type": "hello", "room": conn.metadata["room"]})

@room.on_message
def message(conn, data):
    if data == "boom":
        1 / 0
    conn.broadcast(data, room=conn.metadata["room"])

@room.on_close
def gone(conn, code, reason):
    conn.broadcast({"type": "left", "code": int(code)}, room="lobby")
"""


def handlers_folder(tmp_path: Path, code: str = ROOM) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "room.py").write_text(textwrap.dedent(code))
    return folder


HELLO = {"type": "hello", "room": "lobby"}


async def first_message(url: str) -> Any:
    """What a client of its own at `url` gets first: the full URL, prefix and all."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        return await ws.receive_json(timeout=5)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_clients_of_a_folder_talk_through_rooms_and_see_each_other_leave(
    tmp_path: Path,
) -> None:
    async with serve(handlers_folder(tmp_path)) as server:
        ada = await server.connect("/ws/room/lobby", protocols=["v1"])
        bob = await server.connect("/ws/room/lobby")
        assert ada.subprotocol == "v1" and bob.subprotocol is None
        assert await ada.receive_json() == {"type": "hello", "room": "lobby"}
        assert await bob.receive_json() == {"type": "hello", "room": "lobby"}
        await ada.send({"text": "hi"})
        assert await bob.receive_json() == {"text": "hi"}
        await ada.send(b"\x00\xff")
        assert await bob.receive_bytes() == b"\x00\xff"
        await ada.close()
        assert await bob.receive_json() == {"type": "left", "code": 1000}
        port = port_of(server.url)
        assert listening(port)
    assert not listening(port)  # the block closed the server


async def test_handler_objects_and_a_push_from_the_test(tmp_path: Path) -> None:
    echo = Handler("/ws/echo")

    @echo.on_message
    def back(conn: Connection, data: Any) -> None:
        conn.send(data)

    for _ in range(2):  # the same objects served again, as by the next test
        async with serve([echo], prefix="/ws-api") as server:
            client = await server.connect("/ws/echo")
            await client.send("plain text")
            assert await client.receive_text() == "plain text"
            served = server.handler("/ws/echo")
            assert served is echo
            served.broadcast({"type": "news"})
            assert await client.receive_json() == {"type": "news"}
            with pytest.raises(KeyError, match=r"the patterns: /ws/echo"):
                server.handler("/ws/chat")
            said = {}
            for path in ("/ws/nothing", "/ws/ecoh", "/ws-api/ws/echo"):
                with pytest.raises(HandshakeRefused) as refused:
                    await server.connect(path)
                assert refused.value.status == 404
                said[path] = str(refused.value)
            assert said == {
                "/ws/nothing": "/ws/nothing: the handshake was refused with HTTP 404: no Handler "
                "declares it (the patterns: /ws/echo)",
                "/ws/ecoh": "/ws/ecoh: the handshake was refused with HTTP 404: no Handler "
                "declares it; did you mean /ws/echo?",
                "/ws-api/ws/echo": "/ws-api/ws/echo: the handshake was refused with HTTP 404: "
                "connect() takes the path below the prefix, /ws/echo",
            }


async def test_the_client_encodes_what_it_sends_as_conn_send_does() -> None:
    """One encoder: NaN, which has no JSON spelling, is refused by the test client in
    `conn.send`'s words, not sent as `NaN` (which no browser sends); the rest goes as JSON,
    text or binary."""
    echo = Handler("/ws/echo")

    @echo.on_message
    def back(conn: Connection, data: Any) -> None:
        conn.send(data)

    async with serve([echo]) as server:
        client = await server.connect("/ws/echo")
        message = {"x": float("nan")}
        with pytest.raises(TypeError) as by_server:
            client.connection.send(message)
        with pytest.raises(TypeError) as by_client:
            await client.send(message)
        assert str(by_client.value) == str(by_server.value)
        await client.send({"x": 1.5, "text": "é"})
        assert await client.receive_json() == {"x": 1.5, "text": "é"}
        await client.send(b"\x00\xff")
        assert await client.receive_bytes() == b"\x00\xff"


async def test_a_404_names_the_pattern_whose_variable_refused_the_path() -> None:
    handlers = [Handler("/ws/room/{room:[a-z]+}"), Handler("/ws/hb"), Handler("/ws/blob")]
    async with serve(handlers) as server:
        with pytest.raises(HandshakeRefused) as refused:
            await server.connect("/ws/room/ABC")
    assert str(refused.value) == (
        "/ws/room/ABC: the handshake was refused with HTTP 404: no Handler declares it; "
        "did you mean /ws/room/{room:[a-z]+}? (`ABC` does not match `{room:[a-z]+}`)"
    )


async def test_what_does_not_fit_sends_fails_the_test() -> None:
    """Under wsside.testing, sends= is checked as under log_level debug, and a misfit is a
    bug of the handler's: the message still goes, and the test fails when the server stops."""
    from dataclasses import dataclass

    @dataclass
    class Pos:
        x: int
        y: int

    typed = Handler("/ws/typed", sends=Pos)

    @typed.on_message
    def message(conn: Connection, data: object) -> None:
        conn.send({"x": 1})

    with pytest.raises(HandlerError) as failed:
        async with serve([typed]) as server:
            client = await server.connect("/ws/typed")
            await client.send("go")
            assert await client.receive_json() == {"x": 1}
    assert str(failed.value).startswith("1 error(s) in the handlers during the test:\n\n")
    [report] = failed.value.errors  # each report on its own too, for a test to look at
    assert "does not fit sends=: y: missing" in report
    assert re.search(
        r"/ws/typed: a message sent at \S*test_testing\.py:\d+ does not fit sends=: y: missing "
        r"\(it was sent anyway\)$",
        str(failed.value),
    ), str(failed.value)
    async with serve([typed], raise_errors=False) as server:
        client = await server.connect("/ws/typed")
        await client.send("go")
        await client.receive_json()
    assert len(server.errors) == 1 and "does not fit sends=" in server.errors[0]


async def test_a_handler_that_raises_fails_the_test_with_its_traceback(tmp_path: Path) -> None:
    with pytest.raises(HandlerError) as failed:
        async with serve(handlers_folder(tmp_path)) as server:
            client = await server.connect("/ws/room/lobby")
            await client.receive_json()
            await client.send("boom")
            frame = await client.receive_json()
            assert frame["type"] == "error" and "division by zero" in frame["message"]
    report = str(failed.value)
    assert report.startswith("1 error(s) in the handlers during the test:\n\n")
    assert "error in on_message of " in report and "room.py:18" in report
    assert "ZeroDivisionError: division by zero" in report and "1 / 0" in report  # traceback


async def test_errors_can_be_kept_for_the_test_to_read(tmp_path: Path) -> None:
    async with serve(handlers_folder(tmp_path), raise_errors=False) as server:
        client = await server.connect("/ws/room/lobby")
        await client.receive_json()
        await client.send("boom")
        assert (await client.receive_json())["type"] == "error"
    [report] = server.errors
    assert "ZeroDivisionError" in report


async def test_a_close_from_the_server_is_read_or_raised(tmp_path: Path) -> None:
    async with serve(handlers_folder(tmp_path)) as server:
        refused = await server.connect("/ws/room/lobby", query={"token": "bad"})
        assert await refused.receive_close() == (4001, "bad token")
        with pytest.raises(ConnectionClosed, match=r"closed \(4001 'bad token'\)") as closed:
            await refused.receive_json()
        assert (closed.value.code, closed.value.reason) == (4001, "bad token")
        other = await server.connect("/ws/room/lobby", query={"token": "bad"})
        with pytest.raises(ConnectionClosed):
            await other.receive_text()
        assert await other.receive_close() == (4001, "bad token")


async def test_waits_end_with_a_line_that_says_what_was_awaited(tmp_path: Path) -> None:
    async with serve(handlers_folder(tmp_path)) as server:
        client = await server.connect("/ws/room/quiet")
        with pytest.raises(AssertionError, match="expected a binary message, got the text"):
            await client.receive_bytes()
        other = await server.connect("/ws/room/quiet")
        await other.send("plain")
        with pytest.raises(AssertionError, match="expected JSON, got the text 'plain'"):
            await client.receive_json()
        with pytest.raises(TimeoutError, match=r"/ws/room/quiet: no message within 0.2 s"):
            await client.receive_json(timeout=0.2)
        with pytest.raises(TimeoutError, match=r"/ws/room/quiet: no close frame within 0.2 s"):
            await client.receive_close(timeout=0.2)


async def test_origin_and_authentication_refusals_are_statuses() -> None:
    private = Handler("/ws/private", authenticate="X-Api-Key")
    async with serve([private]) as server:
        with pytest.raises(HandshakeRefused) as refused:
            await server.connect("/ws/private")
        assert refused.value.status == 401
        await server.connect("/ws/private", headers={"X-Api-Key": "k"})
        with pytest.raises(HandshakeRefused) as refused:
            await server.connect(
                "/ws/private", headers={"X-Api-Key": "k", "Origin": "https://evil.example"}
            )
        assert refused.value.status == 403


async def test_a_file_that_does_not_load_stops_the_start_in_its_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = handlers_folder(
        tmp_path, "from wsside import Handler\n\nh = Handler('/ws/x')\nundefined_name\n"
    )
    with pytest.raises(
        ImportError, match=r"cannot load .*room\.py:4: NameError: name 'undefined_name'"
    ):
        async with serve(folder):
            raise AssertionError("not reached")
    with pytest.raises(FileNotFoundError, match=r"no handlers folder at .*missing$"):
        serve(tmp_path / "missing")
    monkeypatch.chdir(tmp_path / "ws")  # pytest run in the tests' folder, say
    with pytest.raises(FileNotFoundError) as missing:
        serve()
    assert str(missing.value) == (
        f"wsside.testing.serve: no handlers folder at {(tmp_path / 'ws' / 'ws').resolve()}: run "
        "pytest in the project's folder, as `wsside serve` runs, or give the folder, "
        "serve('path/to/ws')"
    )
    with pytest.raises(RuntimeError, match=r"inside `async with serve\(...\)` only"):
        await serve(folder).connect("/ws/x")
    with pytest.raises(TypeError, match=r"serve\(handlers=42\): expected a folder or a list"):
        serve(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"\(for one handler: \[handler\]\)"):
        serve(Handler("/ws/one"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not a Handler"):
        serve(["/ws/chat"])  # type: ignore[list-item]


async def test_each_server_imports_the_files_afresh(tmp_path: Path) -> None:
    """What one test's handlers, and their helpers, kept at module level is not there in the
    next test's."""
    counter = """
    from wsside import Handler

    import _helper

    seen = []
    count = Handler("/ws/count")

    @count.on_connect
    def hello(conn, request):
        seen.append(conn.id)
        _helper.seen.append(conn.id)
        conn.send({"seen": len(seen), "by the helper": len(_helper.seen)})
    """
    folder = handlers_folder(tmp_path, counter)
    (folder / "_helper.py").write_text("seen = []\n")
    for _ in range(2):
        async with serve(folder) as server:
            first = await server.connect("/ws/count")
            second = await server.connect("/ws/count")
            assert [await c.receive_json() for c in (first, second)] == [
                {"seen": 1, "by the helper": 1},
                {"seen": 2, "by the helper": 2},
            ]


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "example", sorted(p.parent.name for p in EXAMPLES.glob("*/tests")), ids=str
)
def test_each_example_s_own_tests_pass(example: str) -> None:
    """`pytest` in examples/NAME, with its pytest.ini, as a project runs its tests."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES / example,
        capture_output=True,
        text=True,
        timeout=120,
    )
    passed = re.search(r"(\d+) passed", done.stdout)
    assert done.returncode == 0 and passed and int(passed[1]) >= 3, done.stdout + done.stderr
    assert "warning" not in done.stdout, done.stdout


async def test_the_project_s_config_file_sets_folder_prefix_and_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve()` in a project folder serves what `wsside serve` there would: the config
    file's handlers folder, prefix and [defaults]."""
    (tmp_path / "backend").mkdir()
    handlers_folder(tmp_path / "backend")
    config = (
        'handlers = "backend/ws"\nprefix = "/socket"\nallowed_origins = ["https://app.example"]\n'
        "[defaults]\nerror_details = false\n"
    )
    (tmp_path / "wsside.toml").write_text(config)
    monkeypatch.chdir(tmp_path)
    async with serve(raise_errors=False) as server:
        client = await server.connect("/ws/room/lobby")
        await client.receive_json()
        await client.send("boom")
        assert await client.receive_json() == {"type": "error", "message": "Internal error"}
        site = await server.connect("/ws/room/lobby", headers={"Origin": "https://app.example"})
        assert await site.receive_json() == HELLO
        with pytest.raises(HandshakeRefused) as refused:
            await server.connect("/ws/room/lobby", headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
        assert await first_message(f"{server.url}/socket/ws/room/lobby") == HELLO
    async with serve(prefix="/other") as server:
        assert await first_message(f"{server.url}/other/ws/room/lobby") == HELLO
    (tmp_path / "wsside.toml").write_text('handlers = "backend/ws"\nprefx = "/socket"\n')
    with pytest.raises(ValueError, match=r'wsside\.toml:2: key "prefx": unknown key; did you'):
        serve()
    with pytest.raises(ValueError, match=r"serve\(prefix='/a b'\): expected a URL path"):
        serve(prefix="/a b")


async def test_every_on_close_has_run_when_the_block_ends() -> None:
    """Even one that awaits: what it does is there for the test's next line."""
    closed: list[int] = []
    slow = Handler("/ws/slow")

    @slow.on_close
    async def bye(conn: Connection, code: int) -> None:
        await asyncio.sleep(0.1)  # work that takes a while, such as a database write
        closed.append(int(code))

    async with serve([slow]) as server:
        for _ in range(3):
            await server.connect("/ws/slow")
    assert closed == [1000, 1000, 1000]


async def test_a_wait_for_one_message_skips_the_others_within_one_deadline() -> None:
    ticker = Handler("/ws/ticker")

    @ticker.on_connect
    async def ticks(conn: Connection) -> None:
        for n in range(5):
            conn.send({"type": "tick", "n": n})
        conn.send({"type": "ready"})
        while not conn.closed:  # then one more every 20 ms, for ever
            conn.send({"type": "tick"})
            await asyncio.sleep(0.02)

    async with serve([ticker]) as server:
        client = await server.connect("/ws/ticker")
        assert await client.receive_json(match={"n": 3}) == {"type": "tick", "n": 3}
        assert await client.receive_json(match=lambda m: m["type"] == "ready") == {"type": "ready"}
        late = await server.connect("/ws/ticker")
        # Each skipped message comes well within the timeout: only a deadline for the whole
        # wait ends it (the outer bound is there to fail the test if it did not).
        wait = late.receive_json(timeout=0.3, match={"type": "never"})
        with pytest.raises(TimeoutError) as timed_out:
            await asyncio.wait_for(wait, 10)
        assert str(timed_out.value).startswith(
            "/ws/ticker: no message matching {'type': 'never'} within 0.3 s; skipped "
        )
        assert "{'type': 'tick', 'n': 0}, {'type': 'tick', 'n': 1}, {'type': 'tick', 'n': 2} …" in (
            str(timed_out.value)
        )


async def test_a_client_s_connection_on_the_server_and_clients_of_one_s_own(
    tmp_path: Path,
) -> None:
    async with serve(handlers_folder(tmp_path)) as server:
        ada = await server.connect("/ws/room/lobby")
        bob = await server.connect("/ws/room/kitchen")
        for client in (ada, bob):
            await client.receive_json()  # on_connect has run
        assert ada.connection.metadata == {"room": "lobby"} and ada.connection.rooms == {"lobby"}
        assert bob.connection.rooms == {"kitchen"} and bob.connection is not ada.connection
        await ada.close()
        with pytest.raises(LookupError, match="the server has no open connection of this"):
            ada.connection  # noqa: B018 - reading it is the check
        assert server.prefix == "/api"
        assert await first_message(server.url + server.prefix + "/ws/room/lobby") == HELLO


async def test_compression_when_offered_and_what_a_file_reads_at_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`compress=True` offers permessage-deflate as a browser does; and since each `serve`
    imports the files afresh, an environment variable a file reads at import is the test's."""
    tick = """
    import os
    from wsside import Handler

    PERIOD = float(os.environ.get("TICK_PERIOD", "1"))
    tick = Handler("/ws/tick", per_message_deflate=PERIOD < 1)

    @tick.on_connect
    def hello(conn, request):
        conn.send({"period": PERIOD, "text": "x" * 1000})
    """
    folder = handlers_folder(tmp_path, tick)
    for period in ("0.01", "2"):
        monkeypatch.setenv("TICK_PERIOD", period)
        async with serve(folder) as server:
            client = await server.connect("/ws/tick", compress=True)
            assert (await client.receive_json())["period"] == float(period)
            assert client.compressed is (period == "0.01")
            plain = await server.connect("/ws/tick")
            assert plain.compressed is False and (await plain.receive_json())["text"] == "x" * 1000


async def test_a_client_answers_pings_while_the_test_awaits_something_else() -> None:
    """As a browser does: a heartbeat's pings are answered while the test waits on other
    things (here: the server's pongs), so the connection stays open; and a wait for a message
    keeps its one timeout however many pings come meanwhile (each restarted aiohttp's)."""
    pongs = 0
    enough = asyncio.Event()  # more pongs than the three misses that close a connection
    closed: list[int] = []
    beat = Handler("/ws/beat", heartbeat=0.05)

    @beat.on_pong
    def pong(conn: Connection, payload: bytes) -> None:
        nonlocal pongs
        pongs += 1
        if pongs == 6:
            enough.set()

    @beat.on_close
    def gone(conn: Connection, code: int, reason: str, initiated_by_client: bool) -> None:
        closed.append(code)

    async with serve([beat]) as server:
        client = await server.connect("/ws/beat")
        await asyncio.wait_for(enough.wait(), 5)
        assert client.connection.id and closed == []
        with pytest.raises(TimeoutError, match=r"/ws/beat: no message within 0\.5 s"):
            await asyncio.wait_for(client.receive_json(timeout=0.5), 5)
