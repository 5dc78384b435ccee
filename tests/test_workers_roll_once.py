"""SIGHUP's roll under `wsside serve --workers 2` with an old worker slow to stop: each client
is closed once and reconnects to a new worker, as every old worker stops accepting before any
of them closes its connections. Real worker processes under a real parent, real clients."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from cluster import start_serve, write_handlers
from test_workers_roll import VERSIONED, Reconnecting

# Run by every Python process started with its folder on PYTHONPATH, before `wsside` is
# imported: the first worker 1 to start holds SIGTERM (blocked in every thread, so pending)
# until the test writes to the FIFO `release`, as a worker whose event loop is busy when
# the parent stops it would. Its listener stays open meanwhile unless it closed it already.
HOLD_SIGTERM = """
import os, signal, threading
from pathlib import Path

here = Path(__file__).parent
worker = os.environ.get("WSSIDE_WORKER", "")
if worker.startswith("1:"):
    try:
        os.close(os.open(here / "held", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        pass  # a later worker 1 (a replacement): not held
    else:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

        def release():  # this thread alone takes SIGTERM once the test writes to the FIFO
            with open(here / "release") as fifo:
                fifo.read()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

        threading.Thread(target=release, daemon=True).start()
        os.write(2, f"holding SIGTERM: {os.getpid()}\\n".encode())
"""


def _release(site: Path) -> None:
    """Let the held worker take its SIGTERM (nothing when no one waits on the FIFO)."""
    try:
        fd = os.open(site / "release", os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # no reader: released already, or never held
            raise
        return
    os.close(fd)


@pytest.mark.slow
async def test_a_client_closed_by_an_old_worker_cannot_reconnect_to_another_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old worker 1 takes the parent's SIGTERM only once worker 0's clients have all
    reconnected: each of the 40 clients is still closed once, with 1001, and reconnects to a
    new worker only. Before, old worker 1 still listened when worker 0 closed its clients,
    so about a third of those reconnected to it, and were closed again when it stopped."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HOLD_SIGTERM)
    os.mkfifo(site / "release")
    monkeypatch.setenv("PYTHONPATH", str(site))
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    serve, port, pids = await start_serve(tmp_path, "--workers", "2")
    moved = asyncio.Condition()
    clients: list[Reconnecting] = []
    try:
        held = [line for line in serve.lines if "holding SIGTERM" in line]
        assert held == [f"holding SIGTERM: {pids[1]}\n"], serve.lines
        async with aiohttp.ClientSession() as session:
            clients = [Reconnecting(session, port, moved) for _ in range(40)]
            for client in clients:
                await client.start()
            on_0 = [client for client in clients if client.pids == [pids[0]]]
            assert {client.pids[0] for client in clients} == set(pids)
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version=2))
            serve.proc.send_signal(signal.SIGHUP)
            lines = await serve.expect_all("worker 0 replaced", "worker 1 replaced", timeout=30)
            new = {int(line.split("-> ")[1].rstrip(")\n")) for line in lines}
            async with moved:  # worker 0's clients reconnected, old worker 1 still serving
                await asyncio.wait_for(
                    moved.wait_for(lambda: all(len(c.pids) > 1 for c in on_0)), 15
                )
            _release(site)
            await serve.expect("every worker replaced", timeout=15)
            async with moved:
                await asyncio.wait_for(
                    moved.wait_for(lambda: all(c.pids[-1] in new for c in clients)), 15
                )
            closes = [client.closes for client in clients]
            assert closes == [[1001]] * len(clients), [client.pids for client in clients]
            assert [client.pids[1:] for client in clients if set(client.pids[1:]) - new] == []
            for client in clients:  # before the session closes
                await client.stop()
    finally:
        _release(site)
        for client in clients:
            await client.stop()
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_an_old_worker_that_does_not_answer_is_stopped_after_the_budget(
    tmp_path: Path,
) -> None:
    """An old worker that cannot say it stopped accepting (stopped with SIGSTOP here, as one
    whose event loop is blocked) holds the roll back no longer than `shutdown_timeout` + 1 s:
    one warning names it, the old workers are told to stop, and the roll ends once it runs."""
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    serve, _, pids = await start_serve(tmp_path, "--workers", "2", "--shutdown-timeout", "1")
    try:
        os.kill(pids[1], signal.SIGSTOP)
        serve.proc.send_signal(signal.SIGHUP)
        line = await serve.expect("did not stop accepting", timeout=30)
        assert f"worker 1 (pid {pids[1]}) did not stop accepting within 2.0 s" in line, line
        await serve.expect("worker 1 replaced", timeout=5)
        os.kill(pids[1], signal.SIGCONT)
        await serve.expect("every worker replaced", timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone once the roll ended
            os.kill(pids[1], signal.SIGCONT)
        assert await serve.stop() == 0
