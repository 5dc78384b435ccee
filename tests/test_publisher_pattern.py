"""A pattern given to `wsside.Publisher.broadcast` that no handler has: one that `Handler(...)`
refuses is a ValueError before anything is sent; one that is a pattern but no process's (the
URL path, prefix included) reaches nobody, and each process that hears it says so once per
pattern, with the pattern it likely means. Real `redis-server`, real `wsside serve`.

"Not delivered" and "processed" are checked with a fence: Redis keeps the order of one
sender's messages, so once the fence has reached the client, every earlier broadcast of the
same Publisher has been handled by the serving process.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster import ROOMS_HANDLER, Client, RedisServer, Seen, connect, start_serve, write_handlers
from serve_process import ServeProcess, free_port
from wsside import Publisher
from wsside._runtime import events, orphans
from wsside._runtime.registry import Registry
from wsside._runtime.unserved_patterns import MAX_NAMED

NOTIFICATIONS_HANDLER = """
import os
from wsside import Handler

notifications = Handler("/notifications")

@notifications.on_connect
async def hello(conn, request):
    await conn.send({"pid": os.getpid()})
"""

WHAT_A_PATTERN_IS = "(a pattern is the one declared in Handler(...), below the URL prefix)"


def dropped(pattern: str) -> str:
    """The start of the warning for a broadcast to `pattern`, which no handler has."""
    return f'backplane: dropped a broadcast to "{pattern}": no handler of this process has'


def said(logged: list[str]) -> list[str]:
    """The warnings of dropped broadcasts among `logged`, without the `pid N: ` that names the
    process where the lines do not (the process that runs the tests may not)."""
    return [re.sub(r"^pid \d+: ", "", m) for m in logged if "dropped a broadcast" in m]


async def fenced(news: Publisher, client: Client, pattern: str) -> None:
    """A marker broadcast to `pattern` is the next message `client` gets."""
    fence = {"fence": time.monotonic()}
    assert news.broadcast(pattern, fence) == 1
    assert await client.receive() == fence


async def rest_of(serve: ServeProcess) -> list[str]:
    """Every line the stopped process wrote, those the test read and the rest."""
    assert serve.proc.stderr is not None
    return serve.lines + (await serve.proc.stderr.read()).decode().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "a pattern must be a non-empty string such as '/ws/chat'"),
        ("/ws/{id}/{id}", "pattern '/ws/{id}/{id}' captures 'id' twice"),
        ("/ws/{room", "pattern '/ws/{room': unbalanced braces in segment '{room'"),
    ],
)
def test_a_pattern_handler_refuses_is_a_value_error_and_nothing_is_sent(
    pattern: str, why: str
) -> None:
    with Publisher(f"redis://127.0.0.1:{free_port()}/0") as news:  # nothing listens there
        with pytest.raises(ValueError) as refused:
            news.broadcast(pattern, {"n": 1})
        assert type(refused.value) is ValueError
        assert str(refused.value) == (
            f"Publisher.broadcast(): {pattern!r} cannot be a Handler's pattern ({why}); the "
            "pattern is the one declared in Handler(...), below the URL prefix: '/ws/chat' for "
            "Handler('/ws/chat') served at /api/ws/chat"
        )


@pytest.mark.slow
async def test_the_url_path_reaches_nobody_and_the_process_names_the_pattern_once(
    tmp_path: Path, redis: RedisServer
) -> None:
    """`Handler("/notifications")` served at `/api/notifications`: a broadcast to the path is
    dropped with one warning that names the pattern meant; the right pattern gives none."""
    write_handlers(tmp_path / "ws", notifications=NOTIFICATIONS_HANDLER)
    serve, port, _ = await start_serve(tmp_path, "--backplane", redis.url)
    try:
        async with aiohttp.ClientSession() as session:
            client = await connect(session, port, path="/api/notifications")
            with Publisher(redis.url) as news:
                assert news.broadcast("/notifications", {"n": 1}) == 1
                assert await client.receive() == {"n": 1}
                # The process heard it (1), and no client got it.
                assert news.broadcast("/api/notifications", {"n": 2}) == 1
                warning = await serve.expect(dropped("/api/notifications"))
                assert warning.rstrip("\n").endswith(
                    'backplane: dropped a broadcast to "/api/notifications": no handler of this '
                    'process has that pattern; did you mean "/notifications"? ' + WHAT_A_PATTERN_IS
                ), warning
                # Once per pattern, not per message.
                assert news.broadcast("/api/notifications", {"n": 3}) == 1
                await fenced(news, client, "/notifications")
                # Another pattern no handler has: named too, with no pattern to suggest.
                assert news.broadcast("/ws/chat", {"n": 4}) == 1
                other = await serve.expect(dropped("/ws/chat"))
                assert other.rstrip("\n").endswith(
                    'backplane: dropped a broadcast to "/ws/chat": no handler of this process '
                    "has that pattern, which is as it should be if another process serves it "
                    + WHAT_A_PATTERN_IS
                ), other
                await fenced(news, client, "/notifications")
    finally:
        assert await serve.stop() == 0
    lines = await rest_of(serve)
    assert [line for line in lines if "dropped a broadcast" in line] == [warning, other]


async def test_a_pattern_in_its_reload_grace_is_not_named(
    tmp_path: Path, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler file removed (or saved in two steps) keeps its pattern's hub for a grace:
    broadcasts to it still reach its connections, and no warning says it has no handler."""
    from wsside._edge.server import Sidecar
    from wsside._runtime.settings import Settings

    monkeypatch.setattr(orphans, "ORPHAN_GRACE", 60.0)
    folder = write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    sidecar = Sidecar(Settings(handlers_dir=folder, reload=False, backplane=redis.url))
    logged = Seen()
    events.subscribe(logged)
    try:
        await sidecar.start()
        await sidecar.serve_tcp("127.0.0.1", 0)
        port = sidecar.runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            client = await connect(session, port)
            sidecar.registry.remove_file(folder / "rooms.py")  # its grace begins
            assert "/ws/rooms" not in sidecar.registry.hubs
            with Publisher(redis.url) as news:
                assert news.broadcast("/ws/rooms", {"during": "the grace"}) == 1
                assert await client.receive() == {"during": "the grace"}
                # A pattern that has no hub at all is named; the one in its grace was not.
                assert news.broadcast("/api/ws/rooms", {"n": 1}) == 1
                await logged.until(lambda: logged.messages("dropped a broadcast"))
        assert said(logged.messages("dropped a broadcast")) == [
            'backplane: dropped a broadcast to "/api/ws/rooms": no handler of this process has '
            "that pattern, which is as it should be if another process serves it "
            + WHAT_A_PATTERN_IS
        ]
    finally:
        events.unsubscribe(logged)
        await sidecar.close()


def test_nothing_is_named_before_the_handlers_have_loaded(tmp_path: Path) -> None:
    """The backplane subscribes before the handler files load: a broadcast that comes
    meanwhile is not said to have no handler (the files may declare it)."""
    folder = write_handlers(tmp_path / "ws", notifications=NOTIFICATIONS_HANDLER)
    registry = Registry(folder)
    logged: list[dict[str, Any]] = []
    events.subscribe(logged.append)
    try:
        registry.deliver("/notifications", None, 1, b"{}")  # not loaded yet
        registry.load_all()
        registry.deliver("/notifications", None, 1, b"{}")
        registry.deliver("/api/notifications", None, 1, b"{}")
    finally:
        events.unsubscribe(logged.append)
    assert said([str(e.get("message")) for e in logged]) == [
        'backplane: dropped a broadcast to "/api/notifications": no handler of this process has '
        'that pattern; did you mean "/notifications"? ' + WHAT_A_PATTERN_IS
    ]


def test_past_twenty_patterns_one_line_says_further_ones_are_not_named(tmp_path: Path) -> None:
    """Anyone who may PUBLISH on the channel can send any pattern: the warnings, and what the
    process keeps to say each once, stop at `MAX_NAMED` patterns."""
    registry = Registry(write_handlers(tmp_path / "ws", notifications=NOTIFICATIONS_HANDLER))
    registry.load_all()
    logged: list[dict[str, Any]] = []
    events.subscribe(logged.append)
    try:
        for n in range(MAX_NAMED + 5):
            registry.deliver(f"/ws/{n}", None, 1, b"{}")
            registry.deliver(f"/ws/{n}", None, 1, b"{}")
    finally:
        events.unsubscribe(logged.append)
    lines = [re.sub(r"^pid \d+: ", "", str(e.get("message"))) for e in logged]
    assert [line for line in lines if "dropped a broadcast" in line] == [
        f'backplane: dropped a broadcast to "/ws/{n}": no handler of this process has that '
        "pattern, which is as it should be if another process serves it " + WHAT_A_PATTERN_IS
        for n in range(MAX_NAMED)
    ]
    assert lines[-1] == (
        f"backplane: broadcasts to {MAX_NAMED} patterns that no handler of this process has "
        "were named already; further ones are not"
    )
    assert len(lines) == MAX_NAMED + 1
