"""SIGHUP's roll under `wsside serve --workers N` meeting a stop: real worker processes under
a real parent, stopped as systemd stops them (SIGTERM to the parent) during the roll."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from cluster import start_serve, write_handlers
from serve_process import ServeProcess

VERSIONED = """
import os
from wsside import Handler

v = Handler("/ws/v")

@v.on_connect
async def hello(conn, request):
    await conn.send({{"pid": os.getpid(), "version": {version}}})
"""


@pytest.mark.slow
async def test_sigterm_just_after_a_worker_is_replaced_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM as the roll moves on to the next worker (which it has just told to stop): the
    parent stops every worker and exits 0. Before, it signalled that worker again, which had
    left its event loop and died of it (-15), and the parent exited 1 with no line saying why
    (under systemd, a stop during a reload marked the unit failed)."""
    site = _site(tmp_path, monkeypatch)
    serve, _, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        (site / "hold_exit").write_text(str(pids[1]))  # worker 1 waits past its loop
        serve.proc.send_signal(signal.SIGHUP)
        await serve.expect("worker 0 replaced", timeout=30)
        await serve.expect(f"held at exit: {pids[1]}")
        serve.proc.send_signal(signal.SIGTERM)
        await serve.expect("SIGTERM: stopping the 2 workers")
        (site / "hold_exit").unlink()
    finally:
        lines = await _stopped_cleanly(serve)
    assert not [line for line in lines if "killing it" in line], lines


# Run by every Python process started with its folder on PYTHONPATH, before `wsside` is
# imported (so before any signal handler): a worker started while the file `hold` exists
# says so and waits for `hold` to go; a worker whose pid is in the file `hold_exit` says so
# as it exits, with the default signal handlers, and waits for `hold_exit` to go.
HOLD_AT_START = """
import atexit, os, signal, sys, time
from pathlib import Path

here = Path(__file__).parent
hold = here / "hold"
if "WSSIDE_WORKER" in os.environ and hold.exists():
    print(f"held at start: {os.getpid()}", file=sys.stderr, flush=True)
    end = time.monotonic() + 30  # bounded: a failed test leaves no process behind
    while hold.exists() and time.monotonic() < end:
        time.sleep(0.01)


def held_at_exit():
    pid = str(os.getpid())
    if (here / "hold_exit").exists() and (here / "hold_exit").read_text() == pid:
        # As late in the exit, once the interpreter has put the default handlers back
        # (asyncio's loop does as it closes; uvloop's leaves that to the interpreter).
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        print(f"held at exit: {pid}", file=sys.stderr, flush=True)
        end = time.monotonic() + 30
        while (here / "hold_exit").exists() and time.monotonic() < end:
            time.sleep(0.01)


atexit.register(held_at_exit)
"""


@pytest.mark.slow
async def test_sigterm_while_a_replacement_starts_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while a replacement has not yet set its signal handlers: the signal ends it as
    asked, and the parent exits 0. Before, a worker gone with -15 made it exit 1."""
    site = _site(tmp_path, monkeypatch)
    serve, _, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        (site / "hold").touch()
        serve.proc.send_signal(signal.SIGHUP)
        line = await serve.expect("held at start", timeout=30)
        assert int(line.rsplit(" ", 1)[1]) not in pids, line  # a replacement
        serve.proc.send_signal(signal.SIGTERM)
    finally:
        await _stopped_cleanly(serve)


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project of one handler file, whose processes run HOLD_AT_START: its folder."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HOLD_AT_START)
    monkeypatch.setenv("PYTHONPATH", str(site))
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    return site


async def _stopped_cleanly(serve: ServeProcess) -> list[str]:
    """Wait for the parent to exit (stopping it if the test did not): every line it wrote,
    once its exit status is 0 and one line says that every worker stopped."""
    status = await serve.stop()
    assert serve.proc.stderr is not None
    rest = await serve.proc.stderr.read()
    lines = serve.lines + rest.decode().splitlines(keepends=True)
    assert status == 0, "".join(lines)
    assert len([line for line in lines if "every worker stopped in" in line]) == 1, lines
    return lines
