"""Every recipe of docs/patterns.md does what its text says (as tests/test_readme.py does for
README.md).

Each ```python block is read from the page at test time and served by a real server on a
loopback port: `wsside.testing.serve` in the test's loop, or a real `wsside serve` where the
text speaks of processes or of saving the file. A block that extends an earlier one ("the
`on_message` above, with calls") is that block with the functions it defines again replaced
(`extended`). One test per block (`covers`) checks what the text around it says, through real
sockets; the first test fails, naming the block, when a recipe has no check. A long timing
constant is shortened, and the page's Redis URL pointed at the test's own `redis-server`, by
replacing that text before the block is loaded (`replaced`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import signal
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from psutil import Process

import wsside
from cluster import RedisServer, start_serve
from patterns_page import (
    COVERED,
    PAGE,
    PAGE_REDIS,
    RECIPES,
    ROOT,
    WAIT,
    AccessLine,
    YPage,
    covers,
    extended,
    handlers,
    module_of,
    next_json,
    reads_nothing,
    recipe,
    replaced,
)
from serve_process import ServeProcess, free_port
from wsside import Connection, Handler, Publisher, Request
from wsside.testing import ConnectionClosed, serve

__all__ = ["reads_nothing"]  # the fixture, imported for pytest


def test_the_page_has_recipes_and_each_has_a_check() -> None:
    assert len(RECIPES) >= 8, sorted(RECIPES)
    unchecked = [f"line {n} ({key})" for key, (n, _) in RECIPES.items() if key not in COVERED]
    assert not unchecked, f"docs/patterns.md's python blocks without a check: {unchecked}"
    assert set(RECIPES) >= COVERED, f"checks of blocks no longer there: {COVERED - set(RECIPES)}"


@covers("A message to one user")
async def test_a_pm_reaches_every_tab_of_its_user(tmp_path: Path, redis: RedisServer) -> None:
    handlers(tmp_path, recipe("A message to one user"))
    served, port, pids = await start_serve(tmp_path, "--workers", "2", "--backplane", redis.url)
    try:
        async with aiohttp.ClientSession() as session:

            async def tab(user: str) -> aiohttp.ClientWebSocketResponse:
                return await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/rt?user={user}")

            def worker(ws: aiohttp.ClientWebSocketResponse) -> int:
                """The worker whose socket's peer is this client: which process serves it."""
                here = tuple(ws.get_extra_info("sockname")[:2])
                [pid] = [p for p in pids for c in Process(p).net_connections() if c.raddr == here]
                return pid

            ada = [await tab("ada")]
            while len({worker(t) for t in ada}) < 2:  # ada's tabs on both workers
                assert len(ada) < 100, "every tab of ada went to one worker"
                ada.append(await tab("ada"))
            bob, cyd = await tab("bob"), await tab("cyd")
            await bob.send_json({"type": "pm", "to": "ada", "text": "hi"})
            for t in ada:
                assert await next_json(t) == {"type": "pm", "from": "bob", "text": "hi"}
            # Neither cyd nor the sender got it: the next message each gets is the next one.
            await bob.send_json({"type": "pm", "to": "cyd", "text": "you"})
            assert await next_json(cyd) == {"type": "pm", "from": "bob", "text": "you"}
            await bob.send_json({"type": "pm", "to": "bob", "text": "me"})  # include_self
            assert await next_json(bob) == {"type": "pm", "from": "bob", "text": "me"}
            # From another process, through the backplane, to the room of the pattern.
            with Publisher(redis.url) as news:
                news.broadcast("/ws/rt", {"type": "news"}, room="user:ada")
            for t in ada:
                assert await next_json(t) == {"type": "news"}
    finally:
        await served.stop()


@covers("Request and reply")
async def test_each_reply_carries_the_id_of_its_call(tmp_path: Path) -> None:
    code = extended(recipe("A message to one user"), recipe("Request and reply"))
    async with serve(handlers(tmp_path, code)) as server:
        ada = await server.connect("/ws/rt", query={"user": "ada"})
        await ada.send({"type": "call", "id": 7, "method": "divide", "args": [1, 4]})
        await ada.send({"type": "call", "id": 8, "method": "divide", "args": [1, 0]})
        assert await ada.receive_json() == {"type": "reply", "id": 7, "result": 0.25}
        assert await ada.receive_json() == {"type": "reply", "id": 8, "error": "division by zero"}
        await ada.send({"type": "call", "id": 9, "method": "sqrt", "args": [4]})
        assert await ada.receive_json() == {"type": "reply", "id": 9, "error": "no such method"}
        await ada.send({"type": "pm", "to": "ada", "text": "still"})  # the first example's pm
        assert await ada.receive_json() == {"type": "pm", "from": "ada", "text": "still"}


@covers("Who is online")
async def test_presence_over_tabs_a_reload_and_a_redis_outage(tmp_path: Path) -> None:
    store = RedisServer(tmp_path / "redis")
    # The page's Redis is this test's redis-server; its 3 s grace, 0.3 s.
    code = extended(recipe("A message to one user"), recipe("Who is online"))
    code = replaced(code, (PAGE_REDIS, store.url), ("GRACE = 3", "GRACE = 0.3"))
    folder = handlers(tmp_path, code)
    page: ModuleType | None = None
    store.start()
    try:
        async with serve(folder) as server:
            page = module_of(folder / "recipe.py")

            async def tab(user: str) -> Any:
                return await server.connect("/ws/rt", query={"user": user})

            bob = await tab("bob")
            assert await bob.receive_json() == {"type": "online", "user": "bob"}
            ada = await tab("ada")
            for client in (bob, ada):
                assert await client.receive_json() == {"type": "online", "user": "ada"}
            second = await tab("ada")  # a second tab: ada was online already
            _, ada = await asyncio.gather(ada.close(), tab("ada"))  # a reload of the first
            await ada.close()
            await second.close()
            # Bob's next message is ada's last close, after the grace: nothing at the second
            # tab, nothing at the reload.
            assert await bob.receive_json() == {"type": "offline", "user": "ada"}
            await bob.send({"type": "pm", "to": "bob", "text": "next"})  # and nothing after
            assert await bob.receive_json() == {"type": "pm", "from": "bob", "text": "next"}
            assert store.cli("hget", "online", "ada") == "0"  # a count is never deleted
            store.stop()  # Redis down: a new page is served all the same, uncounted
            cyd = await tab("cyd")
            await cyd.send({"type": "pm", "to": "cyd", "text": "served"})
            assert await cyd.receive_json() == {"type": "pm", "from": "cyd", "text": "served"}
            assert "counted" not in cyd.connection.metadata
    finally:
        store.stop()
        if page is not None:  # its Redis client, which a process leaves open to its end
            await page.store.aclose()


@covers("Sessions that end")
async def test_a_socket_closes_4001_once_its_session_ends(tmp_path: Path) -> None:
    every = 0.5
    code = replaced(recipe("Sessions that end"), ("EVERY = 5", f"EVERY = {every}"))
    folder = handlers(tmp_path, code)
    async with serve(folder) as server:
        sessions = module_of(folder / "recipe.py").SESSIONS
        sessions.update(ada=("ada", time.time() + 60), bob=("bob", time.time() + 60))
        sessions.update(cyd=("cyd", time.time() + 60), old=("ada", time.time() - 1))

        async def tab(cookie: str | None) -> Any:
            headers = {"Cookie": f"session={cookie}"} if cookie else None
            return await server.connect("/ws/account", headers=headers)

        for cookie in (None, "nobody", "old"):
            assert await (await tab(cookie)).receive_close() == (4001, "no session")
        tabs = {name: await tab(name) for name in ("ada", "bob", "cyd")}
        second = await tab("ada")  # a second tab: the same cookie
        for name, client in [*tabs.items(), ("ada", second)]:
            assert await client.receive_json() == {"type": "hello", "user": name}
        del sessions["ada"]  # a logout: every socket of the session closes within EVERY
        sessions["bob"] = ("bob", time.time())  # an expiry too
        for client in (tabs["ada"], second, tabs["bob"]):
            assert await client.receive_close(timeout=every + 1) == (4001, "session ended")
        assert not tabs["cyd"].connection.closed  # its session goes on


@covers("A producer in a thread", "A producer in a thread #2")
@pytest.mark.parametrize("key", ["A producer in a thread", "A producer in a thread #2"])
async def test_a_training_thread_ends_at_a_save_and_a_stop(tmp_path: Path, key: str) -> None:
    first = recipe("A producer in a thread")
    code = first if key == "A producer in a thread" else extended(first, recipe(key))
    folder = handlers(tmp_path, code, "train.py")
    port = free_port()
    served = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path)
    try:
        await served.expect("serving on")
        async with aiohttp.ClientSession() as session:
            dash = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/train")
            one, two = await next_json(dash), await next_json(dash)
            assert one["type"] == "metrics" and two["step"] == one["step"] + 1
            assert two["loss"] == 1 / two["step"]
            saved = folder / ".train.py.tmp"  # saved as editors save: through a rename
            saved.write_text(code + "\n# saved\n")
            os.replace(saved, folder / "train.py")
            while (await next_json(dash))["step"] != 1:  # the new version's training
                pass
        served.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.proc.wait(), 15) == 0
        assert served.proc.stderr is not None
        output = "".join(served.lines) + (await served.proc.stderr.read()).decode()
        # No thread left by the save, none at the stop, and no push from the old version.
        assert "exiting without waiting for the thread" not in output, output
        assert "no longer served since its file was reloaded" not in output, output
    finally:
        await served.stop()


STALL = "Pushing to every client when one may stall"


@covers(STALL)
async def test_a_loop_awaiting_each_send_is_held_by_one_client(
    tmp_path: Path, reads_nothing: Any
) -> None:
    feed = recipe(STALL + " #2")  # with the first block's loop in place of its gather
    gather = feed[
        feed.index("        await asyncio.gather(") : feed.index("        await asyncio.sleep")
    ]
    feed = feed.replace(gather, textwrap.indent(recipe(STALL), " " * 8))
    async with serve(handlers(tmp_path, feed)) as server:
        reader = await server.connect("/ws/feed")
        assert (await reader.receive_json())["type"] == "frame"
        await reads_nothing(server, "/ws/feed")
        deadline = time.monotonic() + 20
        while True:  # frames come until the sends to the other client back up; then none
            assert time.monotonic() < deadline, "the reading client was never held"
            try:
                await reader.receive_json(timeout=3)
            except TimeoutError:
                break


@covers(STALL + " #2")
async def test_a_client_that_reads_nothing_is_closed_1013_and_the_others_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, reads_nothing: Any
) -> None:
    caplog.set_level(logging.INFO, logger="wsside.access")  # the close lines, to wait on
    cut = AccessLine('closed 1013 "Client too slow" by the server')
    logging.getLogger("wsside.access").addHandler(cut)
    try:
        async with serve(handlers(tmp_path, recipe(STALL + " #2"))) as server:
            reader = await server.connect("/ws/feed")
            frame = await reader.receive_json()
            assert frame["type"] == "frame" and len(frame["points"]) == 20_000
            await reads_nothing(server, "/ws/feed")
            longest, last = 0.0, time.monotonic()
            while not cut.found.done():  # a round lasts at most the timeout (2 s)
                await reader.receive_json()  # within 5 s, or it fails: frames go on
                longest, last = max(longest, time.monotonic() - last), time.monotonic()
            assert "cut" in cut.found.result()  # it never answered the close: cut 5 s later
            assert longest < 4, f"the reading client waited {longest:.1f} s for a frame"
    finally:
        logging.getLogger("wsside.access").removeHandler(cut)


@covers("A stream per connection")
async def test_a_stream_per_connection(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with serve(handlers(tmp_path, recipe("A stream per connection"))) as server:
        live = await server.connect("/ws/live")
        assert await live.receive_json() == {"type": "tick", "n": 1}
        await live.send({"type": "rate", "every": 0.01})  # on_message runs while it streams
        assert await live.receive_json(match={"type": "rate"}) == {"type": "rate", "every": 0.1}
        started = time.monotonic()
        ticks = [(await live.receive_json())["n"] for _ in range(6)]
        assert ticks == list(range(ticks[0], ticks[0] + 6))
        assert time.monotonic() - started < 2.5  # every 0.1 s now; at 0.5 s, 2.5 s at least
        stream = live.connection.metadata["stream"]
        await live.close()  # on_close cancels the task
        await asyncio.wait({stream}, timeout=WAIT)
        assert stream.cancelled()
        broken = await server.connect("/ws/live")
        broken.connection.metadata["every"] = "soon"  # not a number: the stream raises
        with pytest.raises(ConnectionClosed) as closed:
            await broken.receive_json(match=lambda m: False)
        assert (closed.value.code, closed.value.reason) == (1011, "Internal error")
        assert "the stream of /api/ws/live failed" in caplog.text  # logged, with its traceback
        assert "TypeError" in caplog.text


@covers("A loop per room")
async def test_a_tick_per_match_and_a_player_back_is_not_away(tmp_path: Path) -> None:
    code = replaced(recipe("A loop per room"), ("GRACE = 2", "GRACE = 0.3"))
    async with serve(handlers(tmp_path, code)) as server:

        async def join(player: str, match: str) -> Any:
            return await server.connect("/ws/game", query={"match": match, "player": player})

        ada, bob, cyd = await join("ada", "m1"), await join("bob", "m1"), await join("cyd", "m2")
        dan = await join("dan", "m1")  # watches m1 to the end
        await ada.send({"dx": 1, "dy": 2})
        state = await bob.receive_json(match=lambda m: m["players"].get("ada") == [1.0, 2.0])
        assert state["type"] == "state" and state["players"]["bob"] == [0.0, 0.0]
        assert set(state["players"]) == {"ada", "bob", "dan"}
        assert (await cyd.receive_json(match={"type": "state"}))["players"] == {"cyd": [0.0, 0.0]}
        await asyncio.gather(ada.close(), join("ada", "m1"))  # a reload: ada is back at once
        await bob.close()  # bob leaves for good
        # An `away` of ada would come first: her close came before bob's, with the same grace.
        assert await dan.receive_json(match={"type": "away"}) == {"type": "away", "player": "bob"}


YJS = "Collaborative editing"


def yjs_handlers(tmp_path: Path) -> Path:
    """The recipe's helper and endpoint, beside docs/deploy.md's 1 MiB default."""
    folder = handlers(tmp_path, recipe(YJS), "_yrooms.py")
    handlers(tmp_path, recipe(YJS + " #2"), "doc.py")
    (tmp_path / "wsside.toml").write_text("[defaults]\nmax_message_size = 1048576\n")
    return folder


def saved(file: Path) -> None:
    """Saved as editors save: through a rename, with new bytes."""
    temp = file.with_name(f".{file.name}.tmp")
    temp.write_text(file.read_text() + "\n# saved\n")
    os.replace(temp, file)


@covers(YJS, YJS + " #2")
async def test_pages_converge_and_a_page_opened_later_gets_the_document(tmp_path: Path) -> None:
    pytest.importorskip("pycrdt")
    async with serve(yjs_handlers(tmp_path)) as server, aiohttp.ClientSession() as session:
        url = f"{server.url}{server.prefix}/ws/doc/notes"
        ada, bob = await YPage.open(session, url, "ada"), await YPage.open(session, url, "bob")
        await ada.type("hello")
        await bob.until(lambda p: str(p.text) == "hello", "ada's edit at bob")
        await bob.type(" world")
        await ada.until(lambda p: str(p.text) == "hello world", "bob's edit at ada")
        await bob.until(lambda p: p.sees("ada"), "ada in bob's awareness")
        cyd = await YPage.open(session, url, "cyd")  # later: from the server's document
        await cyd.until(
            lambda p: str(p.text) == "hello world" and p.sees("ada") and p.sees("bob"),
            "the document and who has it open, at cyd",
        )
        await ada.ws.close()  # a tab closed: it says nothing, the server tells the room
        await bob.until(lambda p: not p.sees("ada"), "ada gone from bob's awareness")
        await cyd.until(lambda p: not p.sees("ada"), "ada gone from cyd's awareness")
        # A document over the 1 MiB default, in its first sync's one message: the
        # endpoint's own max_message_size takes it.
        big = f"{server.url}{server.prefix}/ws/doc/big"
        dan = YPage(big, "dan")
        dan.text += "x" * 2 * 1024 * 1024
        await dan.connect(session)
        for name in ("eve", "fay"):  # fay opens once eve has it: the server has it then
            page = await YPage.open(session, big, name)
            await page.until(lambda p: len(str(p.text)) == 2 * 1024 * 1024, f"dan's at {name}")
        assert dan.closed is None


async def test_a_page_back_on_a_new_socket_stays_listed_when_its_old_socket_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("pycrdt")
    caplog.set_level(logging.INFO, logger="wsside.access")  # the close line, to wait on
    ended = AccessLine("closed 1001 by the client")
    logging.getLogger("wsside.access").addHandler(ended)
    try:
        async with serve(yjs_handlers(tmp_path)) as server, aiohttp.ClientSession() as session:
            url = f"{server.url}{server.prefix}/ws/doc/notes"
            ada, bob = await YPage.open(session, url, "ada"), await YPage.open(session, url, "bob")
            await bob.until(lambda p: p.sees("ada"), "ada in bob's awareness")
            old = await ada.reconnect(session)  # its awareness again, at the same clock
            await ada.renew()  # 15 s later, on the new socket
            await ada.type("a")  # after that awareness, on the same socket
            await bob.until(lambda p: str(p.text) == "a", "ada's edit on her new socket")
            await old.close(code=1001)  # the heartbeat, or TCP, gave up on the old socket
            await asyncio.wait_for(ended.found, WAIT)  # its on_close runs now
            await ada.type("b")  # so bob would get a removal of ada before this
            await bob.until(lambda p: str(p.text) == "ab", "ada's edit after the old close")
            assert ada.doc.client_id not in bob.removed, "ada, still open, left bob's awareness"
            # Bob sent ada's state back at each change (y-websocket does): the new socket
            # alone held ada, and its close removes her.
            await ada.ws.close()
            await bob.until(lambda p: not p.sees("ada"), "ada gone once her tab closed")
    finally:
        logging.getLogger("wsside.access").removeHandler(ended)


async def test_a_save_of_the_helper_closes_1012_and_the_pages_bring_the_document_back(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pycrdt")
    folder = yjs_handlers(tmp_path)
    port = free_port()
    served = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path)
    try:
        await served.expect("serving on")
        url = f"http://127.0.0.1:{port}/api/ws/doc/notes"
        async with aiohttp.ClientSession() as session:
            ada, bob = await YPage.open(session, url, "ada"), await YPage.open(session, url, "bob")
            await ada.type("kept")
            await bob.until(lambda p: str(p.text) == "kept", "ada's edit at bob")
            saved(folder / "doc.py")  # the documents are in the helper: kept
            await served.expect("reloaded ws/doc.py")
            cyd = await YPage.open(session, url, "cyd")
            await cyd.until(lambda p: str(p.text) == "kept", "the document after doc.py's save")
            await ada.type("!")  # ada's socket is still open
            await cyd.until(lambda p: str(p.text) == "kept!", "ada's edit after the save")
            saved(folder / "_yrooms.py")  # no documents: each page is closed, and comes back
            for page in (ada, bob, cyd):
                await page.until(lambda p: p.closed == (1012, "document reloaded"), "1012")
                await page.connect(session)
            dan = await YPage.open(session, url, "dan")
            await dan.until(lambda p: str(p.text) == "kept!", "the document brought back")
    finally:
        await served.stop()


def test_the_socketio_table_names_what_wsside_and_its_client_have() -> None:
    """Each name of the table's wsside column exists: `conn.`/`handler.`/`request.` attributes,
    a callback's parameters as its decorator documents them, keywords of the calls, and the
    browser client's options, methods and statuses in its declarations. (`wsside serve
    --backplane` is what the first recipe's test runs.)"""
    section = PAGE.read_text().split("## From python-socketio", 1)[1]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ")]
    cells = [row[1] for row in rows[1:]]  # the wsside column, below its header
    spans = re.findall(r"`([^`]+)`", " ".join(cells))
    assert len(cells) >= 10 and spans
    client = (ROOT / "node_shim" / "client" / "index.d.ts").read_text()
    owners: dict[str, Any] = {"conn": Connection, "handler": Handler, "request": Request}
    for span in spans:
        for owner, name in re.findall(r"\b(conn|handler|request)\.(\w+)", span):
            assert hasattr(owners[owner], name) or name in owners[owner].__annotations__, span
        if callback := re.match(r"(on_\w+)\((.*)\)$", span):
            assert f"`fn({callback[2]})`" in (getattr(Handler, callback[1]).__doc__ or ""), span
        if call := re.match(r"(?:(conn|handler)\.)?(\w+)\(.*\)$", span):
            target = (
                getattr(owners[call[1]], call[2]) if call[1] else getattr(wsside, call[2], None)
            )
            for keyword in re.findall(r"(\w+)=", span) if target else []:
                assert keyword in inspect.signature(target).parameters, span
        for keyword in re.findall(r"^(\w+)=\w+$", span):  # `include_self=True`
            assert keyword in inspect.signature(Connection.broadcast).parameters, span
        for name in re.findall(r"\{ (\w+):", span):  # the client's options
            assert f"{name}?:" in client, span
        for name in re.findall(r"socket\.(\w+)\(", span) + re.findall(r"^'(\w+)'$", span):
            assert re.search(rf"\b{name}\b", client), span
    assert "authenticate" in inspect.signature(Handler).parameters
    assert "uuid4" in (Connection.id.__doc__ or "") or "version 4" in (Connection.id.__doc__ or "")
