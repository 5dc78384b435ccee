"""`backplane` in wsside.toml under Vite: the dev server's sidecar joins the Redis backplane,
so a broadcast from a `wsside serve` process on the same Redis (a worker, a second service)
reaches the browser's connections through Vite, and theirs reach it. A real redis-server, a
real Vite with the plugin, a real `wsside serve`."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from cluster import ROOMS_HANDLER, RedisServer, connect, start_configured, write_handlers
from doctor_projects import (
    SIMPLE_VITE_CONFIG,
    env_for,
    free_port,
    link_modules,
    start_vite,
    vite_modules,
    write,
)

__all__ = ["vite_modules"]  # the session fixture, imported for pytest


@pytest.mark.slow
async def test_vite_s_sidecar_joins_the_backplane_of_its_config(
    tmp_path: Path, vite_modules: Path
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        app = tmp_path / "app"
        write(
            app,
            {"vite.config.js": SIMPLE_VITE_CONFIG, "wsside.toml": f'backplane = "{redis.url}"\n'},
        )
        write_handlers(app / "ws", rooms=ROOMS_HANDLER)
        link_modules(app, vite_modules)
        vite_port = free_port()
        other = tmp_path / "other"
        other.mkdir()
        serve, serve_port, _, _ = await start_configured(other, f'backplane = "{redis.url}"\n')
        try:
            for _ in start_vite(app, vite_port, env_for()):
                async with aiohttp.ClientSession() as session:
                    page = await connect(session, vite_port)
                    worker = await connect(session, serve_port)
                    await page.join("lobby")
                    await worker.join("lobby")
                    await worker.send({"room": "lobby", "data": {"from": "serve"}})
                    assert await page.receive() == {"from": "serve"}
                    await page.send({"room": "lobby", "data": {"from": "vite"}})
                    assert await worker.receive() == {"from": "vite"}
        finally:
            await serve.stop()
    finally:
        redis.stop()
