"""What an operator reads from `wsside serve` in production: every line says who wrote it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from cluster import start_configured, start_serve


@pytest.mark.slow
async def test_a_workers_config_error_names_the_worker(tmp_path: Path) -> None:
    """A worker restarted after a crash reads the config file again; an error there is its
    line, `wsside[0]: …`, as deploy.md says of every line of worker N. Before, it read
    `wsside: …`, as if the parent had stopped."""
    serve, _, pids, config = await start_configured(tmp_path, "workers = 2\n")
    try:
        config.write_text('workers = 2\nshutdown_timeout = "soon"\n')
        os.kill(pids[0], signal.SIGKILL)
        line = await serve.expect('key "shutdown_timeout"')
        assert line.startswith("wsside[0]: ") and f"{config}:2:" in line, line
        config.write_text("workers = 2\n")
        await serve.expect("worker 0 restarted", timeout=30)
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
async def test_a_handlers_folder_without_endpoints_is_said(tmp_path: Path, workers: str) -> None:
    """A deploy that left the handlers folder empty (or a wrong WorkingDirectory's `ws/`)
    serves 404 to every request: a warning says so after the banner. Before, nothing did."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "_helpers.py").write_text("X = 1\n")
    serve, _, _ = await start_serve(tmp_path, "--workers", workers)
    try:
        line = await serve.expect("no endpoints")
        assert f"{tmp_path / 'ws'} declares no Handler" in line, line
        assert "every request gets 404" in line and "reload is off" in line, line
    finally:
        assert await serve.stop() == 0
