"""A worker of `wsside serve --workers 2` restarted after it died reads the files on disk now:
when they differ from the other worker's, the parent says so in one line. A real parent and
real workers, killed by pid."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from cluster import start_serve, write_handlers
from test_workers_roll import VERSIONED

WARNING = "changed since the last start or SIGHUP"


@pytest.mark.slow
async def test_a_restart_that_serves_changed_files_is_one_warning(tmp_path: Path) -> None:
    """No line when a worker restarts with the files the other serves; one naming the
    handler file and the config file when they changed on disk since the start; none after
    a SIGHUP rolled them out."""
    write_handlers(tmp_path / "ws", v=VERSIONED.format(version=1))
    config = tmp_path / "wsside.toml"
    config.write_text("shutdown_timeout = 5\n")
    serve, _, pids = await start_serve(tmp_path, "--workers", "2")
    try:
        os.kill(pids[0], signal.SIGKILL)
        await serve.expect("worker 0 restarted (pid", timeout=15)
        write_handlers(tmp_path / "ws", v=VERSIONED.format(version=2))
        config.write_text("shutdown_timeout = 6\n")
        os.kill(pids[1], signal.SIGKILL)
        line = await serve.expect(WARNING, timeout=15)
        assert "worker 1 restarted (pid " in line, line
        assert "handler files and the config file changed" in line, line
        assert "(ws/v.py, wsside.toml)" in line and "send SIGHUP" in line, line
        assert [line for line in serve.lines if WARNING in line] == [line], serve.lines
        serve.proc.send_signal(signal.SIGHUP)
        replaced = await serve.expect("worker 0 replaced", timeout=30)
        await serve.expect("every worker replaced", timeout=15)
        os.kill(_new_pid(replaced), signal.SIGKILL)  # the files it read: no line
        restarted = await serve.expect("worker 0 restarted (pid", timeout=15)
        write_handlers(tmp_path / "ws", v=VERSIONED.format(version=3))
        os.kill(_new_pid(restarted), signal.SIGKILL)
        line = await serve.expect(WARNING, timeout=15)
        assert "worker 0 restarted (pid " in line and "handler files changed" in line, line
        assert "(ws/v.py)" in line, line
        assert len([line for line in serve.lines if WARNING in line]) == 2, serve.lines
    finally:
        assert await serve.stop() == 0


def _new_pid(line: str) -> int:
    """The pid a `replaced (pid 1 -> 2)` or `restarted (pid 2)` line ends with."""
    return int(line.rstrip(")\n").rsplit(" ", 1)[1])
