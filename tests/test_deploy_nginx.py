"""docs/deploy.md, run as written: its `wsside serve` command (2 workers, the Redis
backplane) behind Debian's nginx with the page's config block, its container `CMD`, and its
leader-lease ticker.

Only the host, ports, worker count, paths and the Redis URL are substituted; everything else
comes from the page.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import select
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cluster import ROOMS_HANDLER, RedisServer, connect, require, write_handlers
from serve_process import ServeProcess, free_port
from support import raw_upgrade

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
NGINX = "/usr/sbin/nginx"


def doc_block(language: str, containing: str) -> str:
    """The fenced block of `language` in docs/deploy.md that contains `containing`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)
    [block] = [b for b in blocks if containing in b]
    return block


def doc_command(port: int, redis_url: str) -> list[str]:
    """The page's `wsside serve` command, on `port` and `redis_url`."""
    text = doc_block("sh", "wsside serve").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("wsside serve"))
    args = shlex.split(line)[2:]
    args[args.index("--port") + 1] = str(port)
    args[args.index("--backplane") + 1] = redis_url
    args[args.index("--workers") + 1] = "2"
    return args


def doc_container_command(port: int, redis_url: str) -> list[str]:
    """The page's container `CMD` (exec form), on 127.0.0.1:`port` and `redis_url`."""
    found = re.search(r"`CMD (\[.*?\])`", DOC.read_text(), flags=re.S)
    assert found, "no exec-form CMD in docs/deploy.md"
    argv = json.loads(found.group(1))
    assert argv[:2] == ["wsside", "serve"], argv
    args = argv[2:]
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        args[args.index(option) + 1] = value
    args[args.index("--backplane") + 1] = redis_url
    args[args.index("--workers") + 1] = "2"
    return args


class Nginx:
    """Debian's nginx as the current user, with the page's block inside a minimal `http`."""

    def __init__(self, folder: Path, upstream_port: int, app_port: int | None = None) -> None:
        """The page's first block (a built page nginx serves); with `app_port`, that block's
        `map` and `upstream` and then the block for an app with a server of its own."""
        require(NGINX)
        self.folder = folder
        self.port = free_port()
        site = doc_block("nginx", "root /srv/app/dist;")
        if app_port is not None:
            own = doc_block("nginx", "upstream app")
            assert "server 127.0.0.1:3000;" in own
            site = site[: site.index("server {")] + own
            site = site.replace("server 127.0.0.1:3000;", f"server 127.0.0.1:{app_port};")
        assert "listen 80;" in site and "server 127.0.0.1:8765;" in site
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("server 127.0.0.1:8765;", f"server 127.0.0.1:{upstream_port};")
        # The built page, as `vite build` writes it.
        self.dist = folder / "dist"
        site = site.replace("root /srv/app/dist;", f"root {self.dist};")
        (self.dist / "assets").mkdir(parents=True)
        (self.dist / "index.html").write_text("<!doctype html><title>the app</title>")
        (self.dist / "assets" / "index-abc123.js").write_text("console.log('built')")
        (folder / "wsside.conf").write_text(site)
        temp = "".join(
            f"    {kind}_temp_path {folder / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # As root, nginx's workers would run as `nobody`, who cannot read the test's folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}error_log stderr notice;\nworker_processes 1;\n"
            "events { worker_connections 512; }\n"
            f"http {{\n    access_log off;\n{temp}    include {folder / 'wsside.conf'};\n}}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(self.folder),
                "-c",
                str(self.folder / "nginx.conf"),
                "-g",
                f"daemon off; pid {self.folder / 'nginx.pid'};",
            ],
            stderr=subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        # With `error_log stderr notice`, nginx says when its workers start: it listens then.
        seen = b""
        deadline = time.monotonic() + 10
        while b"start worker process" not in seen:
            left = deadline - time.monotonic()
            assert left > 0, seen.decode(errors="replace")
            if select.select([self.proc.stderr], [], [], left)[0]:
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                assert chunk, f"nginx exited:\n{seen.decode(errors='replace')}"
                seen += chunk

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGQUIT)  # graceful: nginx's own stop signal
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            assert self.proc.stderr is not None
            self.proc.stderr.close()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def test_the_documented_deploy_behind_nginx(tmp_path: Path, redis: RedisServer) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    port = free_port()
    serve = await ServeProcess.start(*doc_command(port, redis.url), cwd=tmp_path)
    nginx = Nginx(tmp_path / "nginx", port)
    try:
        banner = await serve.expect("serving on", timeout=30)
        pids = {int(p) for p in re.search(r"pids ([\d, ]+)[;)]", banner).group(1).split(", ")}
        nginx.start()
        origin = "https://example.com"
        async with aiohttp.ClientSession() as session:
            # Through nginx to each worker (nginx opens a new upstream connection per client).
            a, b = sorted(pids)
            far = await connect(session, nginx.port, b, origin=origin)
            near = await connect(session, nginx.port, a, origin=origin)
            sender = await connect(session, nginx.port, a, origin=origin)
            for client in (far, near):
                await client.join("news")  # a message and its answer, through nginx
            await sender.send({"room": "news", "data": {"headline": "wsside ships"}})
            assert await near.receive() == {"headline": "wsside ships"}
            assert await far.receive() == {"headline": "wsside ships"}
            for client in (far, near, sender):
                await client.ws.close()
            # The page and its assets are nginx's own; a route of the app gets the page.
            base = f"http://127.0.0.1:{nginx.port}"
            for path, body in (
                ("/", "<title>the app</title>"),
                ("/rooms/news", "<title>the app</title>"),
                ("/assets/index-abc123.js", "console.log('built')"),
            ):
                async with session.get(base + path) as page:
                    assert page.status == 200 and body in await page.text(), path
        refused = await raw_upgrade(nginx.port, "/api/ws/rooms", "Origin: https://evil.example\r\n")
        assert refused.startswith(b"HTTP/1.1 403"), refused[:80]
    finally:
        nginx.stop()
        assert await serve.stop() == 0


async def test_an_app_with_a_server_of_its_own_keeps_its_api_routes(tmp_path: Path) -> None:
    """The page's block for an app whose own server answers routes under /api too (SvelteKit's
    adapter-node): upgrades reach wsside, everything else the app, /api/health included."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="the app's own page")

    app = web.Application()  # the app's own server, as adapter-node's would be
    app.router.add_get("/api/health", health)
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    app_port = runner.addresses[0][1]
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    port = free_port()
    args = ("--port", str(port), "--allow-origin", "https://example.com")
    serve = await ServeProcess.start(*args, cwd=tmp_path)
    nginx = Nginx(tmp_path / "nginx", port, app_port=app_port)
    try:
        await serve.expect("serving on", timeout=30)
        nginx.start()
        base = f"http://127.0.0.1:{nginx.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/api/health") as answer:
                assert answer.status == 200 and await answer.json() == {"ok": True}
            async with session.get(f"{base}/") as answer:
                assert await answer.text() == "the app's own page"
            reader = await connect(session, nginx.port, origin="https://example.com")
            writer = await connect(session, nginx.port, origin="https://example.com")
            await reader.join("news")
            await writer.send({"room": "news", "data": {"through": "nginx"}})
            assert await reader.receive() == {"through": "nginx"}
            for client in (reader, writer):
                await client.ws.close()
    finally:
        nginx.stop()
        assert await serve.stop() == 0
        await runner.cleanup()


async def test_the_documented_container_command_accepts_the_sites_pages(
    tmp_path: Path, redis: RedisServer
) -> None:
    """Browsers send their page's Origin (https://example.com in the page's other blocks):
    the page's container `CMD` has to accept it, or every handshake is a 403."""
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)  # in the WORKDIR, as the page says
    port = free_port()
    serve = await ServeProcess.start(*doc_container_command(port, redis.url), cwd=tmp_path)
    try:
        await serve.expect("serving on", timeout=30)
        async with aiohttp.ClientSession() as session:
            client = await connect(session, port, origin="https://example.com")
            await client.join("news")
            await client.ws.close()
    finally:
        assert await serve.stop() == 0


async def test_the_documented_ticker_ticks_once_for_the_cluster(
    tmp_path: Path, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "clock.py").write_text(doc_block("python", "@clock.background"))
    monkeypatch.setenv("REDIS_URL", redis.url)
    port = free_port()
    serve = await ServeProcess.start(*doc_command(port, redis.url), cwd=tmp_path)
    try:
        await serve.expect("serving on", timeout=30)
        async with aiohttp.ClientSession() as session:
            # Clients on both workers (8 connections all on one would be 1 run in 128).
            clients = [
                await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/clock") for _ in range(8)
            ]
            for ws in clients:
                ticks = [(await ws.receive(5)).json() for _ in range(3)]
                # Two workers each ticking would show two senders, about twice a second.
                assert len({t["from"] for t in ticks}) == 1, ticks
                gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(ticks)]
                assert all(gap > 0.5 for gap in gaps), ticks
                await ws.close()
    finally:
        assert await serve.stop() == 0
