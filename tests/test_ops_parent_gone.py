"""A `wsside serve --workers` supervisor that dies (SIGKILL): each worker stops on its own, and
says so at warning priority in systemd's journal (`<4>`), where `journalctl -p warning` and
an alert on warnings find it; a signal's stop stays at info (`<6>`)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from test_logs import Stream, serve

pytestmark = pytest.mark.slow


async def test_workers_whose_supervisor_died_warn_as_they_stop(tmp_path: Path) -> None:
    """Before, `wsside[1]: the parent process is gone: stopping; …` was filed at `<6>`."""
    stream = Stream()
    proc, _ = await serve(tmp_path, stream, stream.id, "--workers", "2")
    try:
        line = await stream.expect(r"serving on .* with 2 workers \(pids (\d+), (\d+);")
        assert len(set(re.search(r"pids (\d+), (\d+)", line).groups())) == 2, line  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
        stopping = [
            await stream.expect(r"the parent process is gone: stopping"),
            await stream.expect(r"the parent process is gone: stopping"),
        ]
        for said in stopping:
            assert re.match(r"<4>\d\d:\d\d:\d\d wsside\[\d\]: the parent process is gone", said), (
                said
            )
        # Every worker has exited once the stream ends: none holds it open any more.
        assert stream._reader is not None
        await asyncio.wait_for(stream._reader.read(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stream.close()


async def test_a_signal_s_stop_stays_at_info(tmp_path: Path) -> None:
    stream = Stream()
    proc, _ = await serve(tmp_path, stream, stream.id)
    try:
        await stream.expect(r"serving on")
        proc.send_signal(signal.SIGTERM)
        said = await stream.expect(r"SIGTERM: stopping")
        assert said.startswith("<6>"), said
        assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stream.close()
