"""The backplane's outage lines as an operator reads them: under `uvicorn --workers 2` (a real
uvicorn, a real `redis-server` paused with SIGSTOP) each line says which process wrote it, and
the outage is dated from the broadcast whose PUBLISH stalled, not from the timeout 2 s later."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from cluster import ROOMS_HANDLER, RedisServer, connect, write_handlers

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


async def test_outage_lines_under_uvicorn_workers_name_the_process_and_the_whole_gap(
    tmp_path: Path,
) -> None:
    """Before, the lines read `wsside: backplane redis://… is unavailable (…)` with nothing
    naming the worker, and `is back after` counted from the PUBLISH timeout: 2 s short."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
        write_files(
            tmp_path,
            {
                "app.py": "from wsside import ASGIApp\n"
                f'app = ASGIApp("ws", backplane={redis.url!r})\n'
            },
        )
        asgi = Server(tmp_path, "uvicorn", "--workers", "2")
        try:
            await asyncio.to_thread(asgi.wait_listening)
            started = await asyncio.to_thread(asgi.wait_for_all, "Started server process", 2)
            workers = {int(re.search(r"\[(\d+)\]", line).group(1)) for line in started}  # type: ignore[union-attr]
            async with aiohttp.ClientSession() as session:
                client = await connect(session, asgi.port, path="/ws/rooms")
                assert client.pid in workers, (client.pid, workers)
                assert redis.proc is not None
                redis.proc.send_signal(signal.SIGSTOP)  # connected, but answering nothing
                sent, sent_wall = time.monotonic(), time.time()
                await client.send({"everyone": {"n": 1}})  # its PUBLISH stalls
                assert await client.receive() == {"n": 1}  # delivered here all the same
                first = await asyncio.to_thread(asgi.wait_for, "is unavailable")
                assert re.match(r"wsside: pid \d+: backplane ", first), first
                # The other worker may see the same outage, even first: its subscription's
                # PING (sent after 5 s of silence) goes unanswered too if it went out while
                # Redis was stopped. The lines checked below are the client's worker's.
                mine = f"pid {client.pid}: backplane {redis.url}"
                down = await asyncio.to_thread(asgi.wait_for, f"{mine} is unavailable")
                redis.proc.send_signal(signal.SIGCONT)
                resumed = time.monotonic()
                back = await asyncio.to_thread(asgi.wait_for, f"{mine} is back after")
                await client.ws.close()
        finally:
            assert_stopped(asgi)
    finally:
        redis.stop()
    for line in (down, back):
        assert line.startswith(f"wsside: {mine} "), line
    # Every outage line names the worker that wrote it, whichever worker saw the outage.
    outage = [line for line in asgi.lines if "backplane" in line]
    for line in outage:
        assert any(line.startswith(f"wsside: pid {pid}: backplane ") for pid in workers), line
    # Dated from the broadcast (to the tenth of a second), not from the timeout's end.
    since = re.search(r"unavailable since (\d\d):(\d\d):(\d\d\.\d)", down)
    assert since, down
    assert f"(unavailable since {since.group(1)}:{since.group(2)}:{since.group(3)})" in back, back
    hours, minutes, seconds = int(since.group(1)), int(since.group(2)), float(since.group(3))
    local = time.localtime(sent_wall)
    sent_at = local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec + sent_wall % 1
    assert abs(hours * 3600 + minutes * 60 + seconds - sent_at) < 0.5, (down, sent_wall)
    # At least the time the broadcasts could not cross: from the stalled PUBLISH to SIGCONT.
    lasted = float(re.search(r"is back after ([\d.]+) s", back).group(1))  # type: ignore[union-attr]
    assert lasted >= resumed - sent - 0.2, (back, resumed - sent)
