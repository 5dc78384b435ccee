"""SIGHUP's roll under `wsside serve --workers N`: where its clients go, a deploy that does
not load, and a stop during it (SIGTERM to the parent, as systemd stops it); real worker
processes under a real parent, real clients."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from cluster import connect, start_serve, write_handlers
from serve_process import ServeProcess

VERSIONED = """
import os
from wsside import Handler

v = Handler("/ws/v")

@v.on_connect
async def hello(conn, request):
    await conn.send({{"pid": os.getpid(), "version": {version}}})

@v.on_message
async def echo(conn, msg):
    await conn.send({{"pid": os.getpid(), "echo": msg}})
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
import atexit, os, signal, time
from pathlib import Path

here = Path(__file__).parent
hold = here / "hold"
if "WSSIDE_WORKER" in os.environ and hold.exists():
    os.write(2, f"held at start: {os.getpid()}\\n".encode())  # one write: a line whole
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
        os.write(2, f"held at exit: {pid}\\n".encode())
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


class Reconnecting:
    """A client of /api/ws/v that connects again at once when the server closes it: the
    close codes it got, and the pid of each worker it was on (`pid` the one it is on now;
    `moved` once it connected again after a close; `connected`, when given, is notified at
    each connection)."""

    def __init__(
        self, session: aiohttp.ClientSession, port: int, connected: asyncio.Condition | None = None
    ) -> None:
        self.session = session
        self.url = f"http://127.0.0.1:{port}/api/ws/v"
        self.closes: list[int | None] = []
        self.pids: list[int] = []
        self.connected = connected
        self.moved = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    @property
    def pid(self) -> int:
        return self.pids[-1] if self.pids else 0

    async def start(self) -> None:
        ws = await self._connect()
        self.task = asyncio.ensure_future(self._run(ws))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.ws is not None:
            await self.ws.close()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        for _ in range(100):  # a connection reset by a closing listener is tried again
            try:
                ws = await self.session.ws_connect(self.url)
            except aiohttp.ClientError:
                continue
            first = await ws.receive(10)
            if first.type is aiohttp.WSMsgType.TEXT:
                self.pids.append(first.json()["pid"])
                self.ws = ws
                if self.connected is not None:
                    async with self.connected:
                        self.connected.notify_all()
                return ws
            await ws.close()
        raise AssertionError("no connection in 100 tries")

    async def _run(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                self.closes.append(ws.close_code)
                ws = await self._connect()
                self.moved.set()


@pytest.mark.slow
async def test_a_roll_moves_each_client_once_and_spreads_them_over_the_new_workers(
    tmp_path: Path,
) -> None:
    """After a roll of 2 workers, the 24 clients (each connecting again as soon as it is
    closed) are each closed once, with 1001, and are on both new workers. Before, a stopped
    worker's clients could only reconnect to a worker still old (closed again when its turn
    came) or already replaced: most ended on worker 0, many closed twice."""
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    serve, port, pids = await start_serve(tmp_path, "--workers", "2")
    clients: list[Reconnecting] = []
    try:
        async with aiohttp.ClientSession() as session:
            clients = [Reconnecting(session, port) for _ in range(24)]
            for client in clients:
                await client.start()
            assert {client.pid for client in clients} == set(pids)
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version=2))
            serve.proc.send_signal(signal.SIGHUP)
            lines = await serve.expect_all(
                "worker 0 replaced", "worker 1 replaced", "every worker replaced", timeout=30
            )
            new = {int(line.split("-> ")[1].rstrip(")\n")) for line in lines[:2]}
            assert len(new) == 2 and not new & set(pids), lines
            moved = asyncio.gather(*(client.moved.wait() for client in clients))
            await asyncio.wait_for(moved, 15)
            closes = [client.closes for client in clients]
            assert closes == [[1001]] * len(clients), closes
            on = [client.pid for client in clients]
            assert set(on) == new, on  # both new workers hold some (24 on one: 1 in 8 M)
            for client in clients:
                await client.stop()
    finally:
        for client in clients:
            await client.stop()
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_a_roll_whose_files_do_not_load_leaves_every_old_worker_serving(
    tmp_path: Path,
) -> None:
    """A deploy whose file does not load: the replacements do not serve, and every old worker
    serves on, its clients still connected, with what it loaded; fixed, a SIGHUP replaces
    them. Before, worker 0 was stopped first (its clients got 1001) and its replacement was
    retried until the file was fixed, with worker 1 alone serving everything."""
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    serve, port, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        async with aiohttp.ClientSession() as session:
            old = [await connect(session, port, pid, path="/api/ws/v") for pid in pids]
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version="(  # broken"))
            serve.proc.send_signal(signal.SIGHUP)
            line = await serve.expect("did not start (above)", timeout=30)
            for client in old:  # open, on the same old worker
                await client.send("still there?")
                assert await client.receive() == {"pid": client.pid, "echo": "still there?"}
            assert "every worker serves on with what it loaded" in line, line
            # The replacement's own line leaves what comes of it to the parent's, above.
            assert [
                said
                for said in serve.lines
                if "a handler file did not load (above), so this worker does not serve" in said
            ], serve.lines
            assert not [said for said in serve.lines if "with reload off" in said], serve.lines
            fresh = [await connect(session, port, path="/api/ws/v") for _ in range(12)]
            assert {client.pid for client in fresh} <= set(pids)
            assert not [line for line in serve.lines if "replaced (pid" in line], serve.lines
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version=2))
            serve.proc.send_signal(signal.SIGHUP)
            await serve.expect("every worker replaced", timeout=30)
            for client in old + fresh:
                msg = await client.ws.receive(10)
                assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001), msg
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_a_worker_that_dies_while_the_files_do_not_load_leaves_the_others_serving(
    tmp_path: Path,
) -> None:
    """After a deploy that did not roll out, the files on disk do not load: a worker that dies
    then cannot start again, and is retried while the other serves on (its clients kept),
    instead of the parent stopping every worker; fixed, the retry serves the new files."""
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    serve, port, (victim, survivor) = await start_serve(tmp_path, "--workers", "2")
    try:
        async with aiohttp.ClientSession() as session:
            kept = await connect(session, port, survivor, path="/api/ws/v")
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version="(  # broken"))
            os.kill(victim, signal.SIGKILL)
            line = await serve.expect("its handler files do not load now", timeout=30)
            assert "exited with code 3" in line and "the other workers serve on" in line, line
            assert "restarting it in" in line and "stopping every worker" not in line, line
            await kept.send("still there?")
            assert await kept.receive() == {"pid": survivor, "echo": "still there?"}
            assert serve.proc.returncode is None
            write_handlers(tmp_path / "ws", v=VERSIONED.format(version=2))
            restarted = await serve.expect("restarted (pid", timeout=30)
            assert "with handler files changed since the last start" in restarted, restarted
            new_pid = int(restarted.split("restarted (pid ", 1)[1].split(")", 1)[0])
            fresh = await connect(session, port, new_pid, path="/api/ws/v")
            await kept.ws.close()
            await fresh.ws.close()
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_during_a_roll_a_sighup_changes_nothing_and_a_crash_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the replacements start: another SIGHUP says it changes nothing, and an old
    worker that dies leaves its place to its replacement (one line says so) instead of a
    restart beside it; the round then ends with every worker replaced, and exactly the two
    new processes serve."""
    site = _site(tmp_path, monkeypatch)
    serve, port, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        (site / "hold").touch()
        serve.proc.send_signal(signal.SIGHUP)
        held = [await serve.expect("held at start", timeout=30) for _ in range(2)]
        serve.proc.send_signal(signal.SIGHUP)
        await serve.expect("SIGHUP: the workers are being replaced already; this one changes")
        os.kill(pids[0], signal.SIGKILL)
        line = await serve.expect("takes its place")
        assert f"worker 0 (pid {pids[0]}) was killed by SIGKILL" in line, line
        (site / "hold").unlink()
        replaced = await serve.expect_all("worker 1 replaced", "every worker replaced", timeout=30)
        assert f"(pid {pids[1]} -> " in replaced[0], replaced
        new = {int(line.rsplit(" ", 1)[1]) for line in held}
        async with aiohttp.ClientSession() as session:
            fresh = [await connect(session, port, path="/api/ws/v") for _ in range(24)]
            for client in fresh:
                await client.ws.close()
        assert {client.pid for client in fresh} == new, fresh
        assert not [line for line in serve.lines if "restarting it" in line], serve.lines
    finally:
        assert await serve.stop() == 0
