"""SIGHUP to `wsside serve --workers N` as an operator deploys with it: the config file read
again by the parent before any worker is stopped."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import aiohttp
import pytest

from cluster import connect, start_configured


@pytest.mark.slow
async def test_sighup_with_a_config_error_stops_no_worker(tmp_path: Path) -> None:
    """A config file with an error is one line from the parent, and every worker serves on
    with its connections, as one process does. Before, worker 0 was stopped (its clients got
    1001) and its replacement exited with the error every 0.1-5 s, until the file was fixed."""
    serve, port, pids, config = await start_configured(
        tmp_path, "shutdown_timeout = 5\n", "--workers", "2"
    )
    try:
        async with aiohttp.ClientSession() as session:
            clients = [await connect(session, port, pid) for pid in pids]
            config.write_text('shutdown_timeout = "soon"\n')
            serve.proc.send_signal(signal.SIGHUP)
            line = await serve.expect("SIGHUP: not replacing the workers", timeout=10)
            assert f'{config}:1: key "shutdown_timeout"' in line and '"soon"' in line, line
            for client in clients:  # still open, on the same workers
                await client.join("lobby")
                await client.ws.close()
            config.write_text("shutdown_timeout = 4\n")
            serve.proc.send_signal(signal.SIGHUP)
            await serve.expect("SIGHUP: every worker replaced", timeout=30)
            assert not [line for line in serve.lines if "exited with code" in line], serve.lines
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_sighup_keeps_the_workers_on_the_host_and_count_they_started_with(
    tmp_path: Path,
) -> None:
    """`workers`, `host` and `port` changed in the config file take a restart of the service
    (the parent checked that port on that host, and runs that many workers): a SIGHUP says
    so in a line and replaces the workers where they were. Before, the replacements listened
    on the new host, leaving the old one with nothing listening."""
    serve, port, _, config = await start_configured(tmp_path, 'host = "127.0.0.1"\nworkers = 2\n')
    try:
        config.write_text('host = "127.0.0.2"\nworkers = 3\n')
        serve.proc.send_signal(signal.SIGHUP)
        line = await serve.expect("take a restart")
        assert 'host = "127.0.0.2"' in line and "workers = 3" in line, line
        await serve.expect("SIGHUP: every worker replaced", timeout=30)
        new = [int(m) for m in re.findall(r"-> (\d+)\)", "".join(serve.lines))]
        assert len(new) == 2, serve.lines
        async with aiohttp.ClientSession() as session:
            for pid in new:  # both on 127.0.0.1, where the parent checked the port
                await (await connect(session, port, pid)).ws.close()
    finally:
        assert await serve.stop() == 0
