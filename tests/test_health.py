"""`wsside serve --health PATH` (config `health`): what a load balancer's probe gets from a
real `wsside serve` process, one process or `--workers 2`, with and without a real Redis."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster import ROOMS_HANDLER, RedisServer, connect, start_serve, write_handlers
from serve_process import ServeProcess, free_port
from support import raw_upgrade

HEALTH = "/healthz"
UPGRADE = (
    "GET /api/ws/rooms HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


async def probe(port: int, method: str = "GET", path: str = HEALTH) -> Answer:
    """One request on a new connection (as Kubernetes' probes send them)."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(
            method, f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=5)
        ) as response,
    ):
        return Answer(response.status, response.headers, await response.read())


async def probe_until(port: int, wanted: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Probe until the body is `wanted` (the server's own view, asked again at once until it
    changes), within one deadline for the whole wait; that body."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = None
    while loop.time() < deadline:
        seen = (await probe(port)).json()
        if wanted(seen):
            return seen
    raise AssertionError(f"no probe answered as wanted within {timeout:g} s; last: {seen}")


async def test_get_and_head_answer_200_and_count_the_open_websockets(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, _ = await start_serve(tmp_path, "--health", HEALTH)
    try:
        first = await probe(port)
        assert first.status == 200
        assert first.headers["Content-Type"].startswith("application/json")
        assert first.json() == {"status": "ok", "connections": 0, "backplane": "off"}
        head = await probe(port, "HEAD")
        assert (head.status, head.body) == (200, b"")
        assert head.headers["Content-Length"] == first.headers["Content-Length"]
        async with aiohttp.ClientSession() as session:
            clients = [await connect(session, port) for _ in range(3)]
            assert (await probe(port)).json()["connections"] == 3
            for client in clients[:2]:
                await client.ws.close()
            await probe_until(port, lambda body: body["connections"] == 1)
            await clients[2].ws.close()
        # Probes write no access line at info; the refused request after them does.
        assert (await probe(port, path="/nothing")).status == 404
        await serve.expect('"GET /nothing" 404')
        assert not [line for line in serve.lines if HEALTH in line]
    finally:
        assert await serve.stop() == 0


async def test_other_methods_get_405_and_other_paths_answer_as_before(tmp_path: Path) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, _ = await start_serve(tmp_path, "--health", HEALTH)
    try:
        for method in ("POST", "PUT", "OPTIONS"):
            refused = await probe(port, method)
            assert refused.status == 405, method
            assert refused.headers["Allow"] == "GET, HEAD"
        assert (await probe(port, path="/health")).status == 404
        assert (await probe(port, path=HEALTH + "/")).status == 404
        assert (await probe(port, path="/api/ws/rooms")).status == 426
        # The health path answers a WebSocket upgrade too, and only with its JSON.
        answer = await raw_upgrade(port, HEALTH)
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"status": "ok"' in answer
    finally:
        assert await serve.stop() == 0


@pytest.mark.parametrize(
    ("config", "args", "expected"),
    [
        (None, ("--health", "healthz"), "--health healthz: expected a URL path such as"),
        (None, ("--health", "/h?x=1"), '--health /h?x=1: expected a URL path such as "/healthz"'),
        ('health = "/h?x"\n', (), 'wsside.toml:1: key "health": expected a URL path such as'),
        ("health = true\n", (), 'wsside.toml:1: key "health": expected a URL path'),
        (
            None,
            ("--health", "/api/ws/rooms"),
            "--health /api/ws/rooms: a path of the endpoint /ws/rooms (ws/rooms.py:",
        ),
        (
            'port = 1\nhealth = "/api/ws/rooms"\n',
            (),
            'wsside.toml:2: key "health": "/api/ws/rooms": a path of the endpoint /ws/rooms',
        ),
    ],
    ids=["flag-relative", "flag-query", "key-query", "key-bool", "flag-clash", "key-clash"],
)
async def test_a_health_path_that_cannot_serve_is_one_line_and_exit_2(
    tmp_path: Path, config: str | None, args: tuple[str, ...], expected: str
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    if config is not None:
        (tmp_path / "wsside.toml").write_text(config)
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(free_port()), "--no-reload", *args, cwd=tmp_path
    )
    try:
        assert await asyncio.wait_for(serve.proc.wait(), 15) == 2
    finally:
        await serve.stop()  # only when it is still running (the test failed)
    assert serve.proc.stderr is not None
    lines = (await serve.proc.stderr.read()).decode().splitlines()
    errors = [line for line in lines if "health" in line]
    assert len(errors) == 1 and expected in errors[0], lines
    assert not [line for line in lines if "Traceback" in line or "serving on" in line]


@pytest.mark.slow
async def test_under_workers_a_health_path_that_hides_an_endpoint_stops_them_with_exit_2(
    tmp_path: Path,
) -> None:
    """Each worker finds it once its handler files are loaded; no restart would cure it."""
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(free_port()), "--no-reload", "--workers", "2",
        "--health", "/api/ws/rooms", cwd=tmp_path,
    )  # fmt: skip
    try:
        line = await serve.expect("stopping every worker")
        assert "exited with code 2: it cannot serve with these options (above)" in line
        assert await asyncio.wait_for(serve.proc.wait(), 15) == 2
        assert [line for line in serve.lines if "--health /api/ws/rooms: a path of" in line]
    finally:
        await serve.stop()  # only when it is still running (the test failed)


@pytest.mark.slow
async def test_under_workers_each_answer_comes_from_a_worker_and_counts_its_own(
    tmp_path: Path,
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, pids = await start_serve(tmp_path, "--workers", "2", "--health", HEALTH)
    try:
        answers = [(await probe(port)).json() for _ in range(24)]
        assert {a["worker"] for a in answers} == {0, 1}  # 24 on one would be 1 in 8 million
        assert all(a["connections"] == 0 and a["status"] == "ok" for a in answers)
        async with aiohttp.ClientSession() as session:
            # The banner lists the pids in the workers' order.
            on_0 = [await connect(session, port, pids[0]) for _ in range(2)]
            on_1 = await connect(session, port, pids[1])
            counts: dict[int, int] = {}

            def both_seen(body: Any) -> bool:
                counts[body["worker"]] = body["connections"]
                return counts == {0: 2, 1: 1}

            await probe_until(port, both_seen)
            for client in (*on_0, on_1):
                await client.ws.close()
    finally:
        assert await serve.stop() == 0


@pytest.mark.slow
async def test_a_redis_outage_reports_the_backplane_down_and_keeps_200(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    try:
        serve, port, _ = await start_serve(tmp_path, "--backplane", redis.url, "--health", HEALTH)
        try:
            await probe_until(port, lambda body: body["backplane"] == "up")
            redis.stop()  # by its pid
            await serve.expect("is unavailable")
            down = await probe(port)
            assert down.status == 200
            assert down.json() == {"status": "ok", "connections": 0, "backplane": "down"}
        finally:
            assert await serve.stop() == 0
    finally:
        redis.stop()


@pytest.mark.slow
async def test_while_draining_after_sigterm_probes_get_503_and_upgrades_are_refused(
    tmp_path: Path,
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, _ = await start_serve(tmp_path, "--health", HEALTH, "--shutdown-timeout", "20")
    try:
        # A client that never answers the closing handshake keeps the process draining.
        reader, silent = await asyncio.open_connection("127.0.0.1", port)
        try:
            silent.write(UPGRADE.encode())
            assert (await reader.readline()).startswith(b"HTTP/1.1 101")
            assert (await probe(port)).json()["connections"] == 1
            serve.proc.send_signal(signal.SIGTERM)
            await serve.expect("SIGTERM: stopping; closing 1 connection")
            draining = await probe(port)
            assert draining.status == 503
            assert draining.json() == {"status": "draining", "connections": 1, "backplane": "off"}
            assert draining.headers["Connection"] == "close"
            assert (await probe(port, "HEAD")).status == 503
            # New upgrades are refused while the listener answers the probes.
            assert (await raw_upgrade(port, "/api/ws/rooms")).startswith(b"HTTP/1.1 503 ")
            assert serve.proc.returncode is None
        finally:
            silent.close()  # the last connection gone: the process stops at once
        assert await asyncio.wait_for(serve.proc.wait(), 10) == 0
        await serve.expect("stopped in")
    finally:
        await serve.stop()  # only when it is still running (the test failed)
