"""`wsside serve` at the edges of its life: SIGHUP before it handles SIGHUP, a stop while an
upgrade waits in `authenticate`, a port taken between the parent's check and the workers'
listen, workers killed at a stop, a replacement that dies or hangs in a SIGHUP round, a worker
that never serves. Real processes, signals by pid, waits on their lines."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from cluster import start_serve, write_handlers
from serve_process import ServeProcess, free_port
from support import raw_upgrade

ECHO = """
from wsside import Handler

echo = Handler("/ws/echo")

@echo.on_message
async def back(conn, msg):
    await conn.send(msg)
"""

# Run by every Python process started with its folder on PYTHONPATH, before `wsside` is
# imported. While the file `hold_typer` exists, a process that is no worker stops just before
# it imports typer (the first thing `wsside serve` loads after its start), says so and waits
# for the file to go. While the file `hold` exists, a worker (or a SIGHUP round's replacement)
# says so at its start and waits for `hold` to go. Each wait is bounded: a failed test leaves
# no process behind.
HOLDS = """
import os, sys, time
from pathlib import Path

here = Path(__file__).parent


def wait_for_gone(name, said, longest):
    os.write(2, f"{said}: {os.getpid()}\\n".encode())  # one write: a line whole
    end = time.monotonic() + longest
    while (here / name).exists() and time.monotonic() < end:
        time.sleep(0.01)


class HoldTyper:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            if (here / "hold_typer").exists() and "WSSIDE_WORKER" not in os.environ:
                wait_for_gone("hold_typer", "held before typer", 30)
        return None


sys.meta_path.insert(0, HoldTyper())
if "WSSIDE_WORKER" in os.environ and (here / "hold").exists():
    wait_for_gone("hold", "held at start", 60)
"""


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handlers: str = ECHO) -> Path:
    """A project of one handler file whose processes run HOLDS: the folder of HOLDS."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HOLDS)
    monkeypatch.setenv("PYTHONPATH", str(site))
    write_handlers(tmp_path / "ws", echo=handlers)
    return site


def _pid(line: str) -> int:
    return int(line.rsplit(" ", 1)[1])


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sighup_before_serve_handles_it_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    """SIGHUP while `wsside serve` is still loading (systemd's `ExecReload=kill -HUP
    $MAINPID` right after its start): the process lives on and serves. Before, it died of
    it (-1) until its event loop handled SIGHUP, some 0.7 s after the start."""
    site = _site(tmp_path, monkeypatch)
    (site / "hold_typer").touch()
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(free_port()), "--no-reload", "--workers", workers,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        await serve.expect("held before typer")
        serve.proc.send_signal(signal.SIGHUP)
        (site / "hold_typer").unlink()
        await serve.expect("serving on", timeout=30)
        assert serve.proc.returncode is None
    finally:
        assert await serve.stop() == 0, serve.lines


SLOW_AUTHENTICATE = """
import asyncio, sys
from wsside import Handler

async def slow(request):
    print("authenticate started", file=sys.stderr, flush=True)
    await asyncio.sleep(30)
    return True

echo = Handler("/ws/slow", authenticate=slow)
"""


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_a_stop_cuts_an_upgrade_waiting_in_authenticate_within_the_timeout(
    tmp_path: Path, workers: str
) -> None:
    """SIGTERM while an upgrade waits in an async `authenticate`, with --shutdown-timeout 1:
    the process exits 0 within the second, the upgrade cut unanswered, and a line says so.
    Before, aiohttp's runner waited 5 s twice for it (one process stopped in 10 s), and the
    parent of --workers killed the worker and exited 1."""
    write_handlers(tmp_path / "ws", slow=SLOW_AUTHENTICATE)
    serve, port, _ = await start_serve(tmp_path, "--shutdown-timeout", "1", "--workers", workers)
    try:
        upgrade = asyncio.ensure_future(raw_upgrade(port, "/api/ws/slow"))
        await serve.expect("authenticate started")
        serve.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        status = await asyncio.wait_for(serve.proc.wait(), 15)
        took = time.monotonic() - started
        assert await upgrade == b""  # closed, no answer
    finally:
        await serve.stop()
    assert serve.proc.stderr is not None
    lines = "".join(serve.lines) + (await serve.proc.stderr.read()).decode()
    assert status == 0, lines
    assert took < 5.0, lines  # not the 10 s of aiohttp's grace twice (a loaded host: slack)
    assert "1 upgrade request still waiting for authenticate at the end of the shutdown" in lines


@pytest.mark.slow
async def test_a_port_taken_before_the_workers_listen_fails_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program listens on the port after the parent's check, before the workers
    listen: the parent stops them and exits 1, as one process does, with the "cannot listen"
    line. Before, the workers were restarted again and again, for good."""
    site = _site(tmp_path, monkeypatch)
    (site / "hold").touch()
    port = free_port()
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(port), "--no-reload", "--workers", "2", cwd=tmp_path
    )
    other = socket.socket()
    try:
        await serve.expect("held at start")  # the parent checked the port: the workers start
        other.bind(("127.0.0.1", port))
        other.listen()
        (site / "hold").unlink()
        status = await asyncio.wait_for(serve.proc.wait(), 30)
    finally:
        other.close()
        await serve.stop()
    assert serve.proc.stderr is not None
    lines = "".join(serve.lines) + (await serve.proc.stderr.read()).decode()
    assert status == 1, lines
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in lines, lines
    assert "it cannot listen on the port (above); stopping every worker" in lines, lines
    assert "restarting it" not in lines, lines


async def test_a_handler_file_that_ends_the_process_as_it_loads_stops_the_start(
    tmp_path: Path,
) -> None:
    """No worker has served: one that ends with a code of no reason of wsside's (here the
    file's own `os._exit(7)`) would do the same at every restart. Before, the workers were
    restarted again and again, and no line said why."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "ends.py").write_text("import os\nos._exit(7)\n")
    serve = await ServeProcess.start(
        "--port",
        str(free_port()),
        "--no-reload",
        "--workers",
        "2",
        "--log-level",
        "debug",
        cwd=tmp_path,
    )
    try:
        status = await asyncio.wait_for(serve.proc.wait(), 30)
    finally:
        await serve.stop()
    assert serve.proc.stderr is not None
    lines = "".join(serve.lines) + (await serve.proc.stderr.read()).decode()
    assert status == 7, lines
    assert re.search(
        r"worker \d \(pid \d+\) exited with code 7: it ended before it served, with no reason "
        r"of wsside's: does a handler file, or what it imports, end or crash the process as "
        r"it loads\? \(--log-level debug names each file as it imports\); stopping every worker",
        lines,
    ), lines
    # What the hint says: the file is named before its code runs.
    assert re.search(r"wsside\[\d\]: importing ws/ends\.py", lines), lines
    assert "restarting it" not in lines, lines


BLOCKING = """
import sys, time
from wsside import Handler

block = Handler("/ws/block")

@block.on_message
async def hold_the_loop(conn, msg):
    print("blocking the loop", file=sys.stderr, flush=True)
    time.sleep(30)
"""


@pytest.mark.slow
async def test_the_stop_line_counts_the_workers_killed(tmp_path: Path) -> None:
    """A worker whose event loop is blocked past --shutdown-timeout + 1 s is killed: the
    parent's last line says how many were, as a warning. Before, `every worker stopped in
    2.01 s` said nothing of it, at info level (--log-level warning left it out)."""
    write_handlers(tmp_path / "ws", block=BLOCKING)
    serve, port, _ = await start_serve(
        tmp_path, "--shutdown-timeout", "1", "--workers", "2", "--log-level", "warning"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET /api/ws/block HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"\x81\x82abcd" + bytes(b ^ m for b, m in zip(b"hi", b"ab", strict=True)))
        await serve.expect("blocking the loop")
        serve.proc.send_signal(signal.SIGTERM)
        line = await serve.expect("every worker stopped in", timeout=20)
    finally:
        writer.close()
        await serve.stop()
    assert re.search(r"every worker stopped in 2\.\d\d s \(1 killed after the shutdown", line)


@pytest.mark.slow
async def test_a_replacement_killed_in_a_sighup_round_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One of a SIGHUP round's replacements is killed while the other is still starting: the
    round ends at once, with a line naming it, its pid and its cause, and no word of files to
    fix; the old workers serve on. Before, the round waited for the other one, then blamed
    the files ("did not start (above)", with nothing above)."""
    site = _site(tmp_path, monkeypatch)
    serve, _, pids = await start_serve(tmp_path, "--workers", "2", "--shutdown-timeout", "2")
    try:
        (site / "hold").touch()
        serve.proc.send_signal(signal.SIGHUP)
        await serve.expect("held at start", timeout=30)
        second = _pid(await serve.expect("held at start", timeout=30))
        os.kill(second, signal.SIGKILL)
        line = await serve.expect("before it served", timeout=10)
        (site / "hold").unlink()
        assert re.search(rf"worker \d's replacement \(pid {second}\) was killed by SIGKILL", line)
        assert "send SIGHUP again" in line and "fix the files" not in line, line
        banner = next(line for line in serve.lines if "serving on" in line)
        assert all(str(pid) in banner for pid in pids)
        assert all(_alive(pid) for pid in pids), serve.lines  # the old ones serve on
    finally:
        assert await serve.stop() == 0, serve.lines


@pytest.mark.slow
async def test_a_worker_that_does_not_serve_at_the_start_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers whose start hangs: 30 s after it, a warning names each with its pid (they are
    not stopped), and SIGTERM stops everything. Before, nothing was ever said."""
    site = _site(tmp_path, monkeypatch)
    (site / "hold").touch()
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(free_port()), "--no-reload", "--workers", "2",
        cwd=tmp_path,
    )  # fmt: skip
    try:
        held = _pid(await serve.expect("held at start"))
        line = await serve.expect(f"(pid {held}) has not started serving", timeout=45)
        assert re.search(r"worker \d \(pid \d+\) has not started serving 30 s after it", line)
        assert "it is not stopped" in line, line
        assert _alive(held)
    finally:
        assert await serve.stop() == 0, serve.lines


@pytest.mark.slow
async def test_a_replacement_that_does_not_serve_in_a_sighup_round_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGHUP round whose replacements hang at their start: 30 s after, a warning names
    each with its pid, the old workers serving on; SIGTERM stops old and new. Before, the
    round waited for good and said nothing."""
    site = _site(tmp_path, monkeypatch)
    serve, _, pids = await start_serve(tmp_path, "--workers", "2", "--shutdown-timeout", "2")
    try:
        (site / "hold").touch()
        serve.proc.send_signal(signal.SIGHUP)
        held = _pid(await serve.expect("held at start", timeout=30))
        line = await serve.expect(f"replacement (pid {held}) has not started serving", 45)
        assert "the old workers serve on until every replacement serves" in line, line
        assert all(_alive(pid) for pid in pids), serve.lines
    finally:
        assert await serve.stop() == 0, serve.lines


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


SHORT_AUTHENTICATE = SLOW_AUTHENTICATE.replace("sleep(30)", "sleep(2)")


async def test_an_upgrade_that_comes_during_a_stop_with_health_gets_503_at_once(
    tmp_path: Path,
) -> None:
    """With --health the listener stays open while connections close: an upgrade that comes
    then gets 503 without its `authenticate` running, and the stop keeps to its timeout.
    Before, `authenticate` ran (30 s here) and aiohttp's runner waited for it past the
    timeout, the upgrade unanswered."""
    write_handlers(tmp_path / "ws", echo=ECHO, slow=SLOW_AUTHENTICATE)
    serve, port, _ = await start_serve(tmp_path, "--health", "/healthz", "--shutdown-timeout", "2")
    try:
        # A client that never reads: the stop waits the whole budget for its close.
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await serve.expect('"WebSocket /api/ws/echo" 101')
        serve.proc.send_signal(signal.SIGTERM)
        await serve.expect("SIGTERM: stopping")
        late = await raw_upgrade(port, "/api/ws/slow")
        status = await asyncio.wait_for(serve.proc.wait(), 15)
        writer.close()
    finally:
        await serve.stop()
    assert late.startswith(b"HTTP/1.1 503"), late
    assert status == 0, serve.lines


async def test_an_upgrade_in_authenticate_at_a_sighup_restart_gets_503(tmp_path: Path) -> None:
    """SIGHUP restarts one process in place while an upgrade waits in `authenticate`: it
    gets 503 (the client's retry reaches the new code). Before, it was admitted on the code
    being replaced, and no later stop closed it (`on_close` never ran)."""
    write_handlers(tmp_path / "ws", slow=SHORT_AUTHENTICATE)
    serve, port, _ = await start_serve(tmp_path)
    try:
        upgrade = asyncio.ensure_future(raw_upgrade(port, "/api/ws/slow"))
        await serve.expect("authenticate started")
        serve.proc.send_signal(signal.SIGHUP)
        answer = await upgrade
        await serve.expect("serving on", timeout=30)
    finally:
        assert await serve.stop() == 0, serve.lines
    assert answer.startswith(b"HTTP/1.1 503"), answer
