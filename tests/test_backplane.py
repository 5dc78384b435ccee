"""The Redis backplane: real `redis-server`, real `wsside serve --workers 2` processes.

Exactly-once checks use a fence: after a broadcast has reached everyone it should, a client
of the *other* worker broadcasts a marker. Redis orders messages, so a duplicate of the first
broadcast (or a stray delivery) would reach a receiver before the marker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster import (
    ROOMS_HANDLER,
    Client,
    RedisServer,
    Seen,
    connect,
    start_serve,
    write_handlers,
)
from serve_process import free_port
from wsside._runtime import events, redis_backplane
from wsside._runtime.backplane_queue import MAX_WAIT
from wsside._runtime.backplane_url import BackplaneError, check_backplane, url_problem
from wsside._runtime.backplane_wire import decode_records, encode_record
from wsside._runtime.redis_backplane import RedisBackplane, backplane_from_url


async def until_fence(client: Client, fence: Any) -> list[Any]:
    """Every message `client` receives before `fence`."""
    seen = []
    while (msg := await client.receive()) != fence:
        seen.append(msg)
    return seen


# ---- the wire format and its errors, without a server -----------------------------------


def test_records_round_trip_binary_and_odd_names() -> None:
    records = [
        ("/ws/a/{id}", None, 1, "é".encode()),
        ("/ws/b", ("lobby", "ünï", ""), 2, bytes(range(256))),
        ("/ws/c", (), 2, b""),
    ]
    blob = b"".join(encode_record(*r) for r in records)
    assert decode_records(blob, 0) == records
    with pytest.raises(ValueError):
        decode_records(blob[:-1], 0)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://localhost:6379/0", "expected a redis://, rediss:// or unix:// URL"),
        ("redis://localhost:port/0", "cannot read"),
        ("redis:///0", "no host"),
        ("redis://localhost:6379/cache", "expected a number"),
    ],
)
def test_bad_urls_are_named(url: str, fragment: str) -> None:
    problem = url_problem(url)
    assert problem is not None and fragment in problem
    with pytest.raises(BackplaneError, match=fragment):
        backplane_from_url(url, lambda *a: None)


def test_good_urls() -> None:
    for url in ("redis://localhost", "rediss://u:p@h.example:6380/3", "redis://:secret@[::1]:1/0"):
        assert url_problem(url) is None


def test_missing_redis_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(BackplaneError) as missing:
        backplane_from_url("redis://localhost:6379/0", lambda *a: None)
    # From where the tests' wsside came (this repository, editable), into this Python.
    repo = Path(__file__).resolve().parent.parent
    assert str(missing.value).endswith(f"{sys.executable} -m pip install -e '{repo}[redis]'")


def test_cli_and_config_refuse_a_bad_backplane_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    run = [sys.executable, "-m", "wsside", "serve", "--handlers", "ws"]
    out = subprocess.run([*run, "--backplane", "http://x"], cwd=tmp_path, capture_output=True)
    assert out.returncode == 2
    assert out.stderr.decode().strip().splitlines() == [
        "wsside: backplane: expected a redis://, rediss:// or unix:// URL such as "
        "redis://localhost:6379/0 or unix:///run/redis/redis.sock?db=0, got 'http://x'"
    ]
    (tmp_path / "wsside.toml").write_text('backplane = "http://x"\n')
    out = subprocess.run(run, cwd=tmp_path, capture_output=True)
    assert out.returncode == 2
    [line] = out.stderr.decode().strip().splitlines()
    assert "wsside.toml" in line and 'key "backplane"' in line and "redis://" in line


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis://localhost:6379/0?socket_timeout=abc", "socket_timeout"),  # quoted as per version
        ("redis://localhost:6379/0?ssl_cert_reqs=none", "TLS options need a rediss:// URL"),
        ("redis://localhost:6379/0?decode_responses=1", "reads the backplane's messages as bytes"),
    ],
)
def test_url_options_redis_py_refuses_stop_the_start_in_one_line(
    tmp_path: Path, url: str, fragment: str
) -> None:
    """A query string goes to redis-py: refused there, it would be a traceback at start (a bad
    value) or an outage that never ends (an option the connection does not take)."""
    (tmp_path / "ws").mkdir()
    run = [sys.executable, "-m", "wsside", "serve", "--handlers", "ws", "--port", "0"]
    out = subprocess.run([*run, "--backplane", url], cwd=tmp_path, capture_output=True, timeout=15)
    assert out.returncode == 2, out.stderr.decode()
    [line] = out.stderr.decode().strip().splitlines()
    assert line.startswith("wsside: backplane: ") and fragment in line, line
    # The same URL in the config file: the line names the file and the key.
    (tmp_path / "wsside.toml").write_text(f'port = 0\nbackplane = "{url}"\n')
    out = subprocess.run(run, cwd=tmp_path, capture_output=True, timeout=15)
    assert out.returncode == 2, out.stderr.decode()
    [line] = out.stderr.decode().strip().splitlines()
    assert 'wsside.toml:2: key "backplane": ' in line and fragment in line, line


async def test_url_options_redis_py_takes_are_kept() -> None:
    """Accepted, and in the connection pool of the client the backplane starts (on a port
    where nothing listens: start() gives up waiting after START_WAIT and keeps trying)."""
    from redis.asyncio.connection import SSLConnection

    url = f"rediss://127.0.0.1:{free_port()}/0?ssl_cert_reqs=none&health_check_interval=5"
    check_backplane(url)
    backplane = backplane_from_url(url, lambda *_: None)
    await backplane.start()
    try:
        assert backplane._client is not None
        pool = backplane._client.connection_pool
        assert pool.connection_class is SSLConnection
        kwargs = pool.connection_kwargs
        assert (kwargs["ssl_cert_reqs"], kwargs["health_check_interval"]) == ("none", 5)
        # The backplane's own options beside them.
        assert kwargs["socket_timeout"] == redis_backplane.COMMAND_TIMEOUT
    finally:
        await backplane.close()


def test_a_process_without_backplane_never_imports_redis(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from wsside._edge.server import Sidecar\n"
        "from wsside._runtime.settings import Settings\n"
        "async def main():\n"
        f"    s = Sidecar(Settings(handlers_dir={str(tmp_path)!r}, reload=False))\n"
        "    await s.start(); await s.serve_tcp('127.0.0.1', 0); await s.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert out.stdout.decode().strip() == "[]"


# ---- across worker processes ------------------------------------------------------------


@pytest.mark.slow
async def test_broadcasts_reach_every_worker_exactly_once(
    tmp_path: Path, redis: RedisServer
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2", "--backplane", redis.url)
    try:
        assert not [line for line in serve.lines if "without --backplane" in line]
        assert f"  backplane {redis.url}\n" in serve.lines  # the banner names it
        async with aiohttp.ClientSession() as session:
            sender = await connect(session, port, a)
            near = await connect(session, port, a)  # same worker as the sender
            far = await connect(session, port, b)
            both = await connect(session, port, b)  # in both of the sender's rooms
            outsider = await connect(session, port, b)
            fencer = await connect(session, port, b)
            for client, rooms in (
                (sender, ("red", "blue")),
                (near, ("red",)),
                (far, ("red",)),
                (both, ("red", "blue")),
                (outsider, ("green",)),
                (fencer, ("red", "blue", "green")),
            ):
                for room in rooms:
                    await client.join(room)
            everyone = [sender, near, far, both, outsider, fencer]

            async def fenced(expected: dict[Client, list[Any]]) -> None:
                for client, messages in expected.items():
                    for message in messages:
                        assert await client.receive() == message
                fence = {"fence": time.monotonic()}
                await fencer.send({"everyone": fence})
                for client in everyone:
                    assert await until_fence(client, fence) == []

            # conn.broadcast to a room, without and with the sender
            await sender.send({"room": "red", "data": {"n": 1}})
            await fenced({near: [{"n": 1}], far: [{"n": 1}], both: [{"n": 1}], fencer: [{"n": 1}]})
            await sender.send({"room": "red", "data": {"n": 2}, "self": True})
            await fenced({c: [{"n": 2}] for c in (sender, near, far, both, fencer)})
            # broadcast_all_rooms: members of red or blue, each once, in every process
            await sender.send({"all_rooms": {"n": 3}})
            await fenced({c: [{"n": 3}] for c in (near, far, both, fencer)})
            # handler.broadcast: every connection of the endpoint
            await sender.send({"everyone": {"n": 4}})
            await fenced({c: [{"n": 4}] for c in everyone})
            # a declarative Broadcast response (room "lobby", sender included)
            for client in (near, far):
                await client.join("lobby")
            await sender.send({"type": "shout", "text": "hi"})
            await fenced({near: [{"shouted": "hi"}], far: [{"shouted": "hi"}]})
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_a_thousand_messages_from_one_sender_arrive_in_order(
    tmp_path: Path, redis: RedisServer
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2", "--backplane", redis.url)
    try:
        async with aiohttp.ClientSession() as session:
            sender = await connect(session, port, a)
            receivers = [await connect(session, port, b), await connect(session, port, a)]
            for client in receivers:
                await client.join("stream")
            for seq in range(1000):
                await sender.send({"room": "stream", "data": {"seq": seq}})
            for client in receivers:
                assert [(await client.receive())["seq"] for _ in range(1000)] == list(range(1000))
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_redis_stopped_and_restarted_mid_traffic(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    try:
        serve, port, (a, b) = await start_serve(
            tmp_path, "--workers", "2", "--backplane", redis.url
        )
    except BaseException:
        redis.stop()
        raise
    try:
        async with aiohttp.ClientSession() as session:
            sender = await connect(session, port, a)
            local = await connect(session, port, a)
            remote = await connect(session, port, b)
            for client in (local, remote):
                await client.join("r")
            seq = 0

            async def traffic() -> None:
                nonlocal seq
                while True:
                    seq += 1
                    await sender.send({"room": "r", "data": {"seq": seq}})
                    await asyncio.sleep(0.02)  # pace of the traffic, not a synchronisation

            sending = asyncio.ensure_future(traffic())
            try:
                assert (await remote.receive())["seq"] >= 1
                redis.stop()
                # Serving goes on: local delivery keeps up while Redis is gone.
                await serve.expect("is unavailable")
                await serve.expect("is unavailable")
                first = (await local.receive())["seq"]
                for _ in range(20):
                    assert (await local.receive())["seq"] > first
                up = redis.start()
                mark = seq
                # Drain what the far worker got from before Redis came back, until a
                # message sent after that arrives.
                while (await remote.receive(5))["seq"] <= mark:
                    pass
                recovery = time.monotonic() - up
                print(f"redis restart: broadcasts cross again {recovery:.2f} s after it is ready")
                assert recovery <= 2.0, recovery
                await serve.expect("is back after")
                await serve.expect("is back after")
            finally:
                sending.cancel()
        assert serve.proc.returncode is None
        outage = [line for line in serve.lines if "backplane" in line]
        assert sum("is unavailable" in line for line in outage) == 2, outage  # one per worker
        back = [line for line in outage if "is back after" in line]
        # Each worker counts what it could not publish, and says that what the other one
        # broadcast while its subscription was down never reached it (counted by neither).
        assert len(back) == 2, outage
        for line in back:
            assert "broadcasts from this process were dropped" in line, line
            assert line.rstrip().endswith(
                "what other processes broadcast meanwhile did not reach this one"
            ), line
        assert not any("restarting" in line for line in serve.lines)
    finally:
        code = await serve.stop()
        redis.stop()
        assert code == 0


@pytest.mark.slow
async def test_redis_down_at_start(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2", "--backplane", redis.url)
    try:
        assert any("is unavailable" in line for line in serve.lines)
        async with aiohttp.ClientSession() as session:
            sender = await connect(session, port, a)
            local = await connect(session, port, a)
            remote = await connect(session, port, b)
            for client in (local, remote):
                await client.join("r")
            await sender.send({"room": "r", "data": {"n": 0}})
            assert await local.receive() == {"n": 0}
            up = redis.start()
            await serve.expect("is back after")
            await serve.expect("is back after")
            # Both workers subscribe again: the next broadcast crosses.
            await sender.send({"room": "r", "data": {"n": 1}})
            assert await remote.receive() == {"n": 1}
            assert time.monotonic() - up <= 2.0
    finally:
        code = await serve.stop()
        redis.stop()
        assert code == 0


async def test_debug_lines_are_the_backplanes_not_redis_pys(tmp_path: Path) -> None:
    # redis-py logs its client's own business at debug (on a Redis before 8.2: "Failed to
    # enable maintenance notifications: unknown subcommand"), which would read as the app's.
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (pid,) = await start_serve(
        tmp_path, "--log-level", "debug", "--backplane", redis.url
    )
    try:
        async with aiohttp.ClientSession() as session:
            sender = await connect(session, port, pid)
            receiver = await connect(session, port, pid)
            await receiver.join("r")
            # Through Redis and back: the backplane's connections are made by now.
            await sender.send({"room": "r", "data": {"n": 1}})
            assert await receiver.receive() == {"n": 1}
    finally:
        code = await serve.stop()
        redis.stop()
        assert code == 0
    output = "".join(serve.lines)
    assert "maintenance notifications" not in output, output
    assert "redis" not in output.replace(redis.url, "").lower().replace("--backplane", ""), output


# ---- the backplane alone, in this process: errors and a slow Redis ------------------------


@contextlib.contextmanager
def own_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, Seen]]:
    """A redis-server of the test's own (to stop, freeze or misconfigure), and the status
    events logged meanwhile."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    logged = Seen()
    events.subscribe(logged)
    try:
        yield redis, logged
    finally:
        events.unsubscribe(logged)
        redis.stop()


async def _pair(url: str) -> tuple[RedisBackplane, RedisBackplane, Seen]:
    got = Seen()
    sender = backplane_from_url(url, lambda *r: None)
    receiver = backplane_from_url(url, got)
    await sender.start()
    await receiver.start()
    return sender, receiver, got


async def test_redis_answering_errors_is_an_outage_not_a_crash(tmp_path: Path) -> None:
    with own_redis(tmp_path) as (redis, logged):
        sender, receiver, got = await _pair(redis.url)
        sender.publish("/ws/x", None, 1, b"1")
        await got.until(lambda: len(got.items) == 1)
        redis.cli("ACL", "SETUSER", "default", "-publish")
        for n in range(5):
            sender.publish("/ws/x", ("r",), 1, str(n).encode())
        await logged.until(lambda: logged.messages("is unavailable"))
        assert "permission" in logged.messages("is unavailable")[0]
        redis.cli("ACL", "SETUSER", "default", "+publish")
        started = time.monotonic()
        sender.publish("/ws/x", None, 1, b"again")
        await got.until(lambda: len(got.items) == 2)
        assert got.items[1] == ("/ws/x", None, 1, b"again")
        assert time.monotonic() - started < 2.0
        await logged.until(lambda: logged.messages("is back after"))
        [back] = logged.messages("is back after")
        # the five while Redis refused, one at a time or in one batch
        assert "; 5 broadcasts from this process were dropped" in back, back
        # The subscription never failed: nothing the others broadcast was missed.
        assert "did not reach" not in back, back
        assert len(logged.messages("is unavailable")) == 1
        await sender.close()
        await receiver.close()


async def _until(condition: Any) -> None:
    """Until `condition()`, for a state that only the clock changes (nothing to wait on)."""
    while not condition():
        await asyncio.sleep(0.05)


async def test_a_publish_unanswered_for_over_a_second_is_down_before_it_is_an_outage(
    tmp_path: Path,
) -> None:
    """`up` (/healthz's "backplane") is whether broadcasts cross now: while a Redis stalled
    for less than the 2 s a PUBLISH may take (those queued behind it for over 1 s are dropped),
    `up` stayed true throughout."""
    with own_redis(tmp_path) as (redis, _):
        sender, receiver, got = await _pair(redis.url)
        assert redis.proc is not None and sender.up
        redis.proc.send_signal(signal.SIGSTOP)  # connected, but answering nothing
        try:
            sender.publish("/ws/x", None, 1, b"stalled")
            began = time.monotonic()
            await asyncio.wait_for(_until(lambda: not sender.up), 5)
            assert time.monotonic() - began >= MAX_WAIT
        finally:
            redis.proc.send_signal(signal.SIGCONT)
        await asyncio.wait_for(_until(lambda: sender.up), 10)  # answered: it crosses again
        await got.until(lambda: len(got.items) == 1)  # Redis had it: it ran once resumed
        assert got.items == [("/ws/x", None, 1, b"stalled")]
        await sender.close()
        await receiver.close()


async def test_a_burst_past_the_queue_before_the_loop_runs_is_named_as_one(
    tmp_path: Path,
) -> None:
    """More than the queue's 8 MiB broadcast in one go, Redis healthy: the warning said the
    bytes "wait for Redis", which had nothing to do with it."""
    with own_redis(tmp_path) as (redis, logged):
        sender, receiver, got = await _pair(redis.url)
        big = b"x" * (1024 * 1024)
        for _ in range(9):  # in one turn of the loop: the publisher cannot run meanwhile
            sender.publish("/ws/x", None, 2, big)
        await logged.until(lambda: logged.messages("is unavailable since"))
        [down] = logged.messages("is unavailable since")
        assert "came before the event loop let any be sent: one callback's burst" in down, down
        await got.until(lambda: len(got.items) == 7, timeout=10)  # what 8 MiB held
        await sender.close()
        await receiver.close()


async def test_a_blocked_loop_during_a_publish_is_not_a_late_redis(tmp_path: Path) -> None:
    """A callback keeping the loop busy for over a second while a PUBLISH waited for its
    answer made `up` (/healthz) false until the loop read it: Redis had answered on time."""
    with own_redis(tmp_path) as (redis, _):
        sender, receiver, got = await _pair(redis.url)
        sender.publish("/ws/x", None, 1, b"before")  # the publisher's connection is made
        await got.until(lambda: len(got.items) == 1)
        sender.publish("/ws/x", None, 1, b"during")
        await asyncio.wait_for(_until(lambda: sender._queue._in_flight), 5)
        spin = time.monotonic() + MAX_WAIT + 0.2
        while time.monotonic() < spin:  # the callback under test: it keeps the loop busy
            pass
        assert sender.up
        await got.until(lambda: len(got.items) == 2)
        await sender.close()
        await receiver.close()


async def test_a_stuck_redis_keeps_the_queue_bounded(tmp_path: Path) -> None:
    with own_redis(tmp_path) as (redis, logged):
        sender, receiver, got = await _pair(redis.url)
        assert redis.proc is not None
        redis.proc.send_signal(signal.SIGSTOP)  # connected, but answering nothing
        big = b"x" * (1024 * 1024)
        for _ in range(20):  # 20 MiB: more than the queue may hold
            sender.publish("/ws/x", None, 2, big)
            await asyncio.sleep(0)  # lets the publisher take the first one
        [full] = logged.messages("bytes already wait for Redis")
        assert "which has not answered the last PUBLISH, sent " in full, full
        redis.proc.send_signal(signal.SIGCONT)
        await logged.until(lambda: logged.messages("is back after"), timeout=10)
        [back] = logged.messages("is back after")
        dropped = int(back.split("; ")[1].split()[0])
        # One in flight and at most 8 MiB queued: the rest was dropped, not kept.
        assert dropped >= 11, back
        await got.until(lambda: len(got.items) == 20 - dropped, timeout=10)
        await sender.close()
        await receiver.close()


async def test_a_broadcast_is_on_time_or_dropped(tmp_path: Path) -> None:
    """Redis stalls for longer than MAX_WAIT but less than the command timeout: what waited
    in the queue more than MAX_WAIT is dropped and counted, the rest crosses on time."""
    with own_redis(tmp_path) as (redis, logged):
        late: dict[bytes, float] = {}  # payload: when it arrived
        got = Seen()
        sender = backplane_from_url(redis.url, lambda *r: None)
        receiver = backplane_from_url(
            redis.url, lambda *r: (late.setdefault(r[3], time.monotonic()), got(r))
        )
        await sender.start()
        await receiver.start()
        assert redis.proc is not None
        redis.proc.send_signal(signal.SIGSTOP)
        made: dict[bytes, float] = {}

        def publish(name: str) -> None:
            made[name.encode()] = time.monotonic()
            sender.publish("/ws/x", None, 1, name.encode())

        publish("in flight")
        await asyncio.sleep(0)  # the publisher takes it alone; the stall holds its PUBLISH
        stall_ends = time.monotonic() + MAX_WAIT + 0.6
        n = 0
        while time.monotonic() < stall_ends:  # broadcasts go on while Redis is stuck
            publish(str(n))
            n += 1
            await asyncio.sleep(0.05)
        redis.proc.send_signal(signal.SIGCONT)
        publish("fence")
        await got.until(lambda: b"fence" in late, timeout=10)
        delivered = [name for name in late if name != b"in flight"]
        assert b"0" not in late, "the oldest queued broadcast was published late"
        for name in delivered:
            assert late[name] - made[name] < MAX_WAIT + 0.5, (name, late[name] - made[name])
        await logged.until(lambda: logged.messages("is back after"))
        [warning] = logged.messages("is unavailable")
        assert f"broadcasts waited more than {MAX_WAIT:g} s for Redis" in warning, warning
        [back] = logged.messages("is back after")
        dropped = n + 1 - len(delivered)  # the queued ones (and the fence) that never came
        assert f"; {dropped} broadcasts from this process were dropped" in back, (
            back,
            n,
            delivered,
        )
        await sender.close()
        await receiver.close()


async def test_a_blocked_event_loop_is_not_a_late_redis(tmp_path: Path) -> None:
    """A callback that blocks the loop past MAX_WAIT holds the publisher too: what it queued
    before is still on time for Redis, which was never slow."""
    with own_redis(tmp_path) as (redis, logged):
        sender, receiver, got = await _pair(redis.url)
        sender.publish("/ws/x", None, 1, b"before")
        time.sleep(MAX_WAIT + 0.2)  # the scenario: a handler blocking the event loop
        sender.publish("/ws/x", None, 1, b"after")
        await got.until(lambda: len(got.items) == 2)
        assert [item[3] for item in got.items] == [b"before", b"after"]
        assert not logged.messages("is unavailable")
        await sender.close()
        await receiver.close()


def _spin(seconds: float) -> None:
    """The scenario of the next tests: a callback computing, the event loop's thread busy."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


async def test_a_busy_event_loop_is_not_a_late_redis(tmp_path: Path) -> None:
    """A callback that keeps the loop computing past MAX_WAIT while a PUBLISH is in flight:
    what waited behind that PUBLISH waited for the loop, not for Redis, and crosses."""
    with own_redis(tmp_path) as (redis, logged):
        sender, receiver, got = await _pair(redis.url)
        sender.publish("/ws/x", None, 1, b"warm")
        await got.until(lambda: len(got.items) == 1)
        sender.publish("/ws/x", None, 1, b"in flight")
        await asyncio.sleep(0)  # the publisher takes it alone and sends it
        sender.publish("/ws/x", None, 1, b"behind it")
        _spin(MAX_WAIT + 0.3)
        await got.until(lambda: len(got.items) == 3)
        assert [item[3] for item in got.items] == [b"warm", b"in flight", b"behind it"]
        assert not logged.messages("is unavailable")
        await sender.close()
        await receiver.close()


async def test_the_publisher_keeps_up_with_a_busy_loop(tmp_path: Path) -> None:
    """Each turn of a busy loop queues more than one Redis message holds (a client flooding a
    room): every round trip takes the whole backlog, so none of it is dropped or late."""
    with own_redis(tmp_path) as (redis, logged):
        sender, receiver, got = await _pair(redis.url)
        record = b"x" * 10_000
        turns, per_turn = 60, 30  # 300 kB a turn, above BATCH_BYTES
        for turn in range(turns):
            for n in range(per_turn):
                sender.publish("/ws/x", None, 2, b"%d:%d:" % (turn, n) + record)
            _spin(0.025)
            await asyncio.sleep(0)
        await got.until(lambda: len(got.items) == turns * per_turn, timeout=20)
        names = [item[3].split(b":", 2)[:2] for item in got.items]
        assert names == [[b"%d" % t, b"%d" % n] for t in range(turns) for n in range(per_turn)]
        assert not logged.messages("is unavailable")
        await sender.close()
        await receiver.close()


class Failover:
    """A TCP relay in front of Redis. `failover()` silences every connection made so far (what
    either side sends is dropped, no socket is closed) while new ones go through: to a client
    it is a Redis that moved to another host without a word, as a managed Redis's failover."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.generation = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    def failover(self) -> None:
        self.generation += 1

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        generation = self.generation
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    if generation == self.generation:
                        sink.write(data)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()


async def test_a_subscription_that_went_silent_is_found_and_renewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failover that closed nothing, the subscription would wait for TCP keepalive
    (hours): deaf to every other process, with no warning, while its own PUBLISHes recover."""
    monkeypatch.setattr(redis_backplane, "PING_AFTER", 0.5)
    with own_redis(tmp_path) as (redis, logged):
        relay = Failover(redis.port)
        got = Seen()
        sender = backplane_from_url(redis.url, lambda *r: None)
        receiver = backplane_from_url(await relay.start(), got)
        await sender.start()
        await receiver.start()
        try:
            sender.publish("/ws/x", None, 1, b"before")
            await got.until(lambda: len(got.items) == 1)
            relay.failover()
            await logged.until(lambda: logged.messages("is back after"), timeout=15)
            [warning] = logged.messages("is unavailable")
            assert "no answer to PING on the subscription" in warning, warning
            sender.publish("/ws/x", None, 1, b"after")
            await got.until(lambda: len(got.items) == 2)
            assert got.items[1] == ("/ws/x", None, 1, b"after")
        finally:
            await sender.close()
            await receiver.close()
            await relay.close()


@pytest.mark.slow
async def test_two_single_process_servers_share_rooms(tmp_path: Path, redis: RedisServer) -> None:
    """Two hosts' worth: separate `wsside serve` processes (no --workers) on one Redis."""
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    one, port1, _ = await start_serve(tmp_path, "--backplane", redis.url)
    two, port2, _ = await start_serve(tmp_path, "--backplane", redis.url)
    try:
        assert f"  backplane {redis.url}\n" in one.lines
        async with aiohttp.ClientSession() as session:
            here = await connect(session, port1)
            there = await connect(session, port2)
            await there.join("r")
            await here.send({"room": "r", "data": {"hello": "there"}})
            assert await there.receive() == {"hello": "there"}
    finally:
        assert await one.stop() == 0
        assert await two.stop() == 0


async def test_a_pattern_in_its_reload_grace_still_gets_other_processes_broadcasts(
    tmp_path: Path, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler file renamed (removed, then declared again by another file) keeps its
    connections for a grace: broadcasts from the other hosts reach them meanwhile too."""
    from wsside._edge.server import Sidecar
    from wsside._runtime import orphans
    from wsside._runtime.settings import Settings

    monkeypatch.setattr(orphans, "ORPHAN_GRACE", 60.0)
    sidecars = []
    for name in ("here", "there"):
        folder = write_handlers(tmp_path / name, rooms=ROOMS_HANDLER)
        sidecar = Sidecar(Settings(handlers_dir=folder, reload=False, backplane=redis.url))
        await sidecar.start()
        await sidecar.serve_tcp("127.0.0.1", 0)
        sidecars.append(sidecar)
    try:
        here_port, there_port = (s.runner.addresses[0][1] for s in sidecars)
        async with aiohttp.ClientSession() as session:
            here = await connect(session, here_port)
            there = await connect(session, there_port)
            await there.join("r")
            sidecars[1].registry.remove_file(tmp_path / "there" / "rooms.py")  # its grace begins
            assert "/ws/rooms" not in sidecars[1].registry.hubs
            await here.send({"room": "r", "data": {"during": "the grace"}})
            assert await there.receive() == {"during": "the grace"}
    finally:
        for sidecar in sidecars:
            await sidecar.close()


async def test_close_sends_what_is_queued_in_order(redis: RedisServer) -> None:
    sender, receiver, got = await _pair(redis.url)
    for n in range(300):
        sender.publish("/ws/x", ("r",), 1, str(n).encode())
    await sender.close()  # right away: the queue goes out first, in order
    await got.until(lambda: len(got.items) == 300)
    assert [int(item[3]) for item in got.items] == list(range(300))
    await receiver.close()


def test_the_floor_run_pins_the_redis_extra_at_its_floor() -> None:
    """`make test-floor` runs this file with redis-py at the floor pyproject.toml declares."""
    import re

    root = Path(__file__).resolve().parent.parent
    extra = re.search(r'^redis = \["redis>=([0-9.]+),', (root / "pyproject.toml").read_text(), re.M)
    pins = (root / "tests" / "floor-constraints.txt").read_text()
    assert extra and f"redis=={extra.group(1)}\n" in pins
