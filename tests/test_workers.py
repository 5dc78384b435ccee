"""`wsside serve --workers N`: real worker processes on one port under a supervising parent."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from cluster import ROOMS_HANDLER, connect, start_serve, write_handlers
from serve_process import ServeProcess, free_port, read_until
from support import raw_upgrade

ON_CLOSE_LOG = """
import os
from pathlib import Path
from wsside import Handler

seen = Handler("/ws/seen")

@seen.on_connect
async def hello(conn, request):
    await conn.send({"pid": os.getpid()})

@seen.on_close
def bye(conn, code, reason, by_client):
    with open(Path(__file__).parent.parent / "closed.log", "a") as log:
        log.write(f"{os.getpid()} {code} {reason}\\n")
"""


@pytest.mark.slow
async def test_connections_spread_over_the_workers(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        assert len(set(pids)) == 2 and serve.proc.pid not in pids
        banner = next(line for line in serve.lines if "serving on" in line)
        assert re.search(
            r"with 2 workers \(pids \d+, \d+; (uvloop|asyncio), (orjson|json)\)", banner
        )
        # Rooms do not cross workers without a backplane: the start says so, once.
        warned = [line for line in serve.lines if "without --backplane" in line]
        assert len(warned) == 1 and "rooms and broadcasts stay within each worker" in warned[0]
        async with aiohttp.ClientSession() as session:
            clients = [await connect(session, port) for _ in range(24)]
            # 24 connections all on one worker would happen once in 8 million runs.
            assert {c.pid for c in clients} == set(pids)
            for c in clients:
                await c.ws.close()
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_a_killed_worker_is_restarted_and_the_other_keeps_its_clients(
    tmp_path: Path,
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (victim, survivor) = await start_serve(tmp_path, "--workers", "2")
    try:
        async with aiohttp.ClientSession() as session:
            kept = await connect(session, port, survivor)
            doomed = await connect(session, port, victim)
            await kept.join("r")
            os.kill(victim, signal.SIGKILL)
            assert (await doomed.ws.receive(5)).type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
            line = await serve.expect("was killed by SIGKILL")
            assert f"pid {victim}" in line and "restarting it in" in line
            restarted = await serve.expect("restarted (pid")
            new_pid = int(restarted.rsplit("pid ", 1)[1].rstrip(")\n"))
            assert new_pid not in (victim, survivor)
            # The survivor's client never noticed: same connection, same room, same process.
            await kept.send({"room": "r", "data": {"still": "here"}, "self": True})
            assert await kept.receive() == {"still": "here"}
            fresh = await connect(session, port, new_pid)
            await fresh.ws.close()
            await kept.ws.close()
        assert serve.proc.returncode is None
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_sigterm_closes_every_client_with_1001_and_exits_in_time(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", seen=ON_CLOSE_LOG)
    timeout = 4.0
    serve, port, pids = await start_serve(
        tmp_path, "--workers", "2", "--shutdown-timeout", str(timeout)
    )
    async with aiohttp.ClientSession() as session:
        clients = [await connect(session, port, path="/api/ws/seen") for _ in range(12)]
        # The kernel's hash picks the worker: all twelve on one happens (1 in 2,048).
        while {c.pid for c in clients} != set(pids) and len(clients) < 64:
            clients.append(await connect(session, port, path="/api/ws/seen"))
        assert {c.pid for c in clients} == set(pids)
        # A client that never answers the closing handshake must not hold the exit back.
        reader, silent = await asyncio.open_connection("127.0.0.1", port)
        silent.write(
            b"GET /api/ws/seen HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert (await reader.readline()).startswith(b"HTTP/1.1 101")
        started = time.monotonic()
        serve.proc.send_signal(signal.SIGTERM)
        for c in clients:
            msg = await c.ws.receive(timeout)
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1001, "Going Away")
        assert await asyncio.wait_for(serve.proc.wait(), timeout) == 0
        elapsed = time.monotonic() - started
        silent.close()
    # A log reader tells a stop from a crash: what stopped it, each worker's count, the time.
    assert "SIGTERM: stopping the 2 workers" in await serve.expect("SIGTERM")
    counts = await serve.expect_all(  # one line from each worker, in any order
        *(f"wsside[{i}]: SIGTERM: stopping; closing" for i in range(len(pids))), timeout=15
    )
    opened = len(clients) + 1  # and the silent one
    assert sum(int(re.search(r"closing (\d+) conn", line).group(1)) for line in counts) == opened
    assert re.search(r"every worker stopped in \d+\.\d\d s", await serve.expect("stopped in"))
    print(f"sigterm: exited {elapsed:.2f} s after SIGTERM (--shutdown-timeout {timeout})")
    assert elapsed < timeout, f"exited after {elapsed:.2f} s"
    closed = (tmp_path / "closed.log").read_text().splitlines()
    # on_close ran for every connection, the silent one included, in both workers.
    assert len(closed) == opened and {int(line.split()[0]) for line in closed} == set(pids)
    assert {line.split(" ", 1)[1] for line in closed} == {"1001 Going Away"}


@pytest.mark.slow
async def test_workers_stop_gracefully_when_the_parent_is_killed(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2")
    async with aiohttp.ClientSession() as session:
        clients = [await connect(session, port, a), await connect(session, port, b)]
        serve.proc.kill()
        for c in clients:  # (receiving also answers the closing handshake)
            msg = await c.ws.receive(5)
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1001, "Going Away")
        await serve.proc.wait()
    # The workers hold the parent's stderr: its end means they have exited too.
    assert serve.proc.stderr is not None
    await asyncio.wait_for(serve.proc.stderr.read(), 10)
    # Both workers stopped listening before they closed their connections.
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.slow
async def test_allowed_origins_hold_in_every_worker(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, pids = await start_serve(
        tmp_path, "--workers", "2", "--allow-origin", "https://app.example"
    )
    try:
        async with aiohttp.ClientSession() as session:
            allowed = [
                await connect(session, port, origin="https://app.example") for _ in range(16)
            ]
            assert {c.pid for c in allowed} == set(pids)
            for c in allowed:
                await c.ws.close()
        for _ in range(16):
            answer = await raw_upgrade(port, "/api/ws/rooms", "Origin: https://evil.example\r\n")
            assert answer.startswith(b"HTTP/1.1 403"), answer[:80]
        # Each worker logs the refusal, then its access line: 16 of those, within one limit.
        refused: list[str] = []

        def the_16th_refusal(line: str) -> bool:
            if '"WebSocket /api/ws/rooms" 403' in line:
                refused.append(line)
            return len(refused) == 16

        assert serve.proc.stderr is not None
        await read_until(
            serve.proc.stderr,
            serve.lines,
            the_16th_refusal,
            """16th line containing '"WebSocket /api/ws/rooms" 403'""",
            15,
            "wsside serve",
        )
    finally:
        assert await serve.stop() == 0
    refused_by = {
        re.search(r"wsside\[\d\]", line).group() for line in serve.lines if "evil.example" in line
    }
    assert refused_by == {"wsside[0]", "wsside[1]"}, refused_by
    # The access log names the worker too.
    access = [line.strip() for line in serve.lines if '"WebSocket /api/ws/rooms"' in line]
    assert sum(line.endswith(" 403") for line in access) == 16, access
    named = [re.match(r"\d\d:\d\d:\d\d (wsside\[\d\]): 127\.0\.0\.1:\d+ - ", x) for x in access]
    assert all(named), access
    assert {m.group(1) for m in named if m} == {"wsside[0]", "wsside[1]"}, access


@pytest.mark.slow
async def test_workers_are_refused_a_taken_port(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, _ = await start_serve(tmp_path, "--workers", "2")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wsside",
            "serve",
            "--handlers",
            "ws",
            "--port",
            str(port),
            "--workers",
            "2",
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 1
        assert err.decode().strip().splitlines() == [
            f"wsside: cannot listen on 127.0.0.1:{port}: the port is in use "
            "(stop what uses it, or --port N)"
        ]
    finally:
        assert await serve.stop() == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("workers = 0", "a number of processes from 1 to 1024, got 0"),
        ('workers = "4"', 'a number of processes from 1 to 1024, got "4"'),
        ("shutdown_timeout = -1", "seconds, 0.1 or more, got -1"),
        ("shutdown_timeout = 0.001", "seconds, 0.1 or more, got 0.001"),
        ('backplane = "redis://"', "no host in 'redis://'; expected redis://[user:password@]host"),
    ],
)
def test_config_keys_are_checked(tmp_path: Path, line: str, expected: str) -> None:
    from wsside._runtime.config import ConfigError, load_config

    (tmp_path / "wsside.toml").write_text(line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    key = line.split(" =")[0]
    assert f'key "{key}"' in str(caught.value) and expected in str(caught.value)


def test_config_keys_reach_the_settings(tmp_path: Path) -> None:
    from wsside._runtime.config import build_settings

    (tmp_path / "wsside.toml").write_text(
        'workers = 3\nshutdown_timeout = 2.5\nbackplane = "rediss://u:p@h:6380/2"\n'
    )
    settings = build_settings({"workers": None}, search=[tmp_path])
    assert (settings.workers, settings.shutdown_timeout, settings.backplane) == (
        3,
        2.5,
        "rediss://u:p@h:6380/2",
    )


def test_a_workers_traceback_lines_carry_its_name_and_a_users_handler_is_left_alone() -> None:
    code = (
        "import logging, sys\n"
        "from wsside._edge.logs import configure_logging\n"
        "configure_logging('info', name='wsside[1]')\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n"
        "    logging.getLogger('wsside').exception('wsside: it failed')\n"
        "mine = logging.StreamHandler(sys.stdout)\n"
        "mine.setFormatter(logging.Formatter('MINE %(message)s'))\n"
        "logging.getLogger().addHandler(mine)\n"
        "configure_logging('info', name='wsside[1]')  # again, as after a config change\n"
        "logging.getLogger('wsside').warning('wsside: again')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stderr.splitlines()
    assert lines[0].endswith(" wsside[1]: it failed"), lines
    assert lines[1:] and all(line.startswith("wsside[1]: ") for line in lines[1:-1]), lines
    assert "ZeroDivisionError" in lines[-2] and lines[-1].endswith(" wsside[1]: again"), lines
    assert done.stdout == "MINE wsside: again\n"


def test_a_workers_reports_name_it_on_every_line() -> None:
    import io

    from wsside.cli.console import ConsoleReporter

    out = io.StringIO()
    ConsoleReporter("wsside[1]", out)(
        {
            "type": "runtime_error",
            "callback": "on_message",
            "file": "ws/chat.py",
            "line": 3,
            "message": "RuntimeError: boom",
            "traceback": "Traceback (most recent call last):\n  File ...\nRuntimeError: boom\n",
        }
    )
    first, *rest = out.getvalue().splitlines()
    assert first.endswith(" wsside[1]: error in on_message of ws/chat.py:3: RuntimeError: boom")
    assert rest == [
        "wsside[1]: Traceback (most recent call last):",
        "wsside[1]:   File ...",
        "wsside[1]: RuntimeError: boom",
    ]


VERSIONED = """
import os
from wsside import Handler

v = Handler("/ws/v")
VERSION = {version}

@v.on_connect
async def hello(conn, request):
    await conn.send({{"pid": os.getpid(), "version": VERSION}})
"""


async def _versions(port: int, count: int) -> set[tuple[int, int]]:
    """(pid, version) of the workers that serve `count` new connections."""
    seen = set()
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/v")
            first = (await ws.receive(5)).json()
            seen.add((first["pid"], first["version"]))
            await ws.close()
    return seen


@pytest.mark.slow
async def test_sighup_replaces_the_workers(tmp_path: Path) -> None:
    """SIGHUP to the parent (systemd's `ExecReload=kill -HUP $MAINPID`) serves a new deploy's
    files: new workers start beside the old ones, which are stopped gracefully (1001, their
    clients reconnect to the new ones) once every new one serves. Before, SIGHUP killed the
    parent."""
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    serve, port, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        async with aiohttp.ClientSession() as session:
            old = [await connect(session, port, pid, path="/api/ws/v") for pid in pids]
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version=2))
            serve.proc.send_signal(signal.SIGHUP)
            started = await serve.expect("SIGHUP: replacing the 2 workers: new ones start")
            migrating = Path("/proc/sys/net/ipv4/tcp_migrate_req")
            resets = migrating.exists() and migrating.read_text().strip() == "0"
            assert ("net.ipv4.tcp_migrate_req=1 moves them" in started) == resets, started
            for client in old:
                msg = await client.ws.receive(10)
                assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001), msg
            replaced = await serve.expect_all(
                *(f"worker {i} replaced" for i in range(2)), timeout=30
            )
            await serve.expect("every worker replaced")
        # Each old worker held one client as it stopped accepting, and says so in one line.
        stopped = [line for line in serve.lines if "no longer accepting" in line]
        assert len(stopped) == 2, stopped
        assert all("(its 1 open connection gets 1001 once" in line for line in stopped), stopped
        # Their stop, by the parent's SIGTERM, is said as the reload's: no "SIGTERM: stopping"
        # for a log reader looking for who stopped the service.
        ends = [line for line in serve.lines if "SIGHUP: replaced, now stopping; closing" in line]
        assert len(ends) == 2, serve.lines  # both stop before "every worker replaced"
        assert not [line for line in serve.lines if "]: SIGTERM" in line], serve.lines
        new_pids = {int(re.search(r"-> (\d+)", line).group(1)) for line in replaced}
        assert not new_pids & set(pids) and serve.proc.returncode is None
        seen = await _versions(port, 24)
        assert {version for _, version in seen} == {2} and {pid for pid, _ in seen} == new_pids
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_sighup_while_the_workers_start_is_ignored(tmp_path: Path) -> None:
    """The workers read the files as they start: a SIGHUP then replaces nothing (and a
    starting worker's first report is not taken for its replacement's)."""
    go = tmp_path / "go"
    write_handlers(
        tmp_path / "ws",
        v=f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.01)\n"
        + VERSIONED.format(version=1),
    )
    port = free_port()
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(port), "--no-reload", "--workers", "2", cwd=tmp_path
    )
    try:
        await serve.expect("is still importing")  # a worker says so after 2 s
        serve.proc.send_signal(signal.SIGHUP)
        await serve.expect("SIGHUP: the workers are still starting")
        go.touch()
        banner = await serve.expect("serving on")
        pids = {int(p) for p in re.search(r"pids ([\d, ]+)[;)]", banner).group(1).split(", ")}
        assert {pid for pid, _ in await _versions(port, 24)} == pids
    finally:
        assert await serve.stop() == 0
    assert not [line for line in serve.lines if "replac" in line]
