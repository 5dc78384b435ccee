"""`wsside serve --forwarded-allow-ips` (`forwarded_allow_ips` in wsside.toml): behind a
reverse proxy it trusts, the client is the one `X-Forwarded-For` names, read from the right
past the trusted hops as uvicorn reads it: `request.remote` (what `authenticate` and
`on_connect` see), the access and close lines, the refusal lines and the 1013 line. An
untrusted peer's header is ignored, a malformed one from a trusted proxy leaves the peer, a bad
value is one line and exit 2. Real `wsside serve` processes (one, and `--workers 2`), real
aiohttp clients, and one real nginx with the proxy block of docs/deploy.md."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from cluster import start_serve
from doctor_projects import doctor_process
from serve_process import free_port
from test_deploy_nginx import Nginx

# `on_connect` says who it saw, and from which worker; `authenticate` refuses one address.
WHO = """\
import os
from wsside import Handler

def check(request):
    return request.remote != "198.51.100.66"

who = Handler("/who", authenticate=check)

@who.on_connect
async def hello(conn, request):
    await conn.send({"pid": os.getpid(), "remote": request.remote})
"""

# 40 MiB in one go, unpaced: closed 1013, whose line names the client.
BURST = """\
from wsside import Handler

burst = Handler("/burst")
CHUNKS = [bytes([i]) * (1 << 20) for i in range(40)]

@burst.on_connect
def backfill(conn, request):
    for chunk in CHUNKS:
        conn.send(chunk)
"""

# A peer's line: `127.0.0.1:PORT - "WebSocket /api/who" 101`.
PEER_LINE = re.compile(r'127\.0\.0\.1:\d+ - "WebSocket /api/who" 101')


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "who.py").write_text(WHO)
    (tmp_path / "ws" / "burst.py").write_text(BURST)
    return tmp_path


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    # Bounded, so that a handshake the server never answers fails the test in half a minute
    # rather than hanging it for aiohttp's default five.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def who(
    session: aiohttp.ClientSession, port: int, *forwarded_for: str, path: str = "/api/who"
) -> dict[str, Any]:
    """What `on_connect` saw of a connection sending each of `forwarded_for` as an
    `X-Forwarded-For` field of its own."""
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded_for)
    async with session.ws_connect(f"http://127.0.0.1:{port}{path}", headers=headers) as ws:
        seen: dict[str, Any] = await ws.receive_json(timeout=10)
    return seen


async def test_a_trusted_proxy_names_the_client(
    project: Path, client: aiohttp.ClientSession
) -> None:
    serve, port, _ = await start_serve(project, "--forwarded-allow-ips", "127.0.0.1")
    try:
        assert (await who(client, port, "203.0.113.7"))["remote"] == "203.0.113.7"
        # Without a port: the proxy's, not the client's, is known.
        await serve.expect_all(
            '203.0.113.7 - "WebSocket /api/who" 101',
            '203.0.113.7 - "WebSocket /api/who" closed 1000 by the client after',
        )
        # IPv6, as any proxy may write it (with a port, in brackets): the address alone.
        assert (await who(client, port, "[2001:DB8::1]:4711"))["remote"] == "2001:db8::1"
        await serve.expect('2001:db8::1 - "WebSocket /api/who" 101')
        # `authenticate` sees it too, and the refusal's line names it.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await who(client, port, "198.51.100.66")
        assert refused.value.status == 401
        await serve.expect('198.51.100.66 - "WebSocket /api/who" 401')
        # A refusal before `authenticate` (no such endpoint) names it as well.
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await who(client, port, "198.51.100.5", path="/api/nothing")
        await serve.expect('198.51.100.5 - "WebSocket /api/nothing" 404')
        # The 1013 line of a client sent more than it reads: it reads only once the line is
        # written (a client that read as fast as the server wrote, with the kernel's buffers
        # growing to tens of MiB on loopback, could take all 40 MiB: no 1013 to wait for).
        headers = {"X-Forwarded-For": "198.51.100.13"}
        async with client.ws_connect(f"http://127.0.0.1:{port}/api/burst", headers=headers) as ws:
            line = await serve.expect('1013 "Client too slow"')
            assert "waited to be sent to the client 198.51.100.13, which" in line, line
            while not ws.closed:
                await ws.receive(timeout=30)
            assert ws.close_code == 1013
    finally:
        assert await serve.stop() == 0


@pytest.mark.parametrize("given", ["unset", "another proxy"])
async def test_an_untrusted_peer_s_header_is_ignored(
    project: Path, client: aiohttp.ClientSession, given: str
) -> None:
    if given == "another proxy":
        (project / "wsside.toml").write_text('forwarded_allow_ips = ["10.0.0.0/8"]\n')
    serve, port, _ = await start_serve(project)
    try:
        assert (await who(client, port, "203.0.113.7"))["remote"] == "127.0.0.1"
        line = await serve.expect('"WebSocket /api/who" 101')
        assert PEER_LINE.search(line), line
    finally:
        assert await serve.stop() == 0


async def test_trusted_hops_are_skipped_from_the_right(
    project: Path, client: aiohttp.ClientSession
) -> None:
    # Comma-separated as uvicorn's, and repeated as wsside's other list options.
    trusted = ("--forwarded-allow-ips", "127.0.0.1, 10.0.0.0/8", "--forwarded-allow-ips", "::1")
    serve, port, _ = await start_serve(project, *trusted)
    try:
        # The client's own word, then what each proxy saw: the first untrusted from the right.
        seen = await who(client, port, "198.51.100.1, 203.0.113.7, 10.1.2.3")
        assert seen["remote"] == "203.0.113.7"
        # Several fields are one list.
        seen = await who(client, port, "198.51.100.1, 203.0.113.8", "10.1.2.3:80, 10.9.9.9")
        assert seen["remote"] == "203.0.113.8"
        # Entries left of the client are never read: not even a malformed one.
        assert (await who(client, port, "evil, 203.0.113.9"))["remote"] == "203.0.113.9"
        # Every hop trusted: the leftmost (the client was a trusted proxy itself).
        assert (await who(client, port, "10.0.0.1, 10.0.0.2"))["remote"] == "10.0.0.1"
        await serve.expect_all(*(f"{a} - " for a in ("203.0.113.8", "203.0.113.9", "10.0.0.1")))
    finally:
        assert await serve.stop() == 0


@pytest.mark.parametrize(
    "header",
    ["unknown", "", "203.0.113.7, not-an-address", "203.0.113.7,", "203.0.113.7:http", "[::1"],
)
async def test_a_malformed_header_from_a_trusted_proxy_leaves_the_peer(
    project: Path, client: aiohttp.ClientSession, header: str
) -> None:
    (project / "wsside.toml").write_text('forwarded_allow_ips = ["127.0.0.1"]\n')
    serve, port, _ = await start_serve(project)
    try:
        assert (await who(client, port, header))["remote"] == "127.0.0.1"
        line = await serve.expect('"WebSocket /api/who" 101')
        assert PEER_LINE.search(line), line
        # The next connection, well formed, is the forwarded one: nothing failed.
        assert (await who(client, port, "203.0.113.7"))["remote"] == "203.0.113.7"
    finally:
        assert await serve.stop() == 0


async def test_a_star_trusts_every_hop(project: Path, client: aiohttp.ClientSession) -> None:
    (project / "wsside.toml").write_text('forwarded_allow_ips = "*"\n')
    serve, port, _ = await start_serve(project)
    try:
        assert (await who(client, port, "198.51.100.1, 203.0.113.7"))["remote"] == "198.51.100.1"
        await serve.expect('198.51.100.1 - "WebSocket /api/who" 101')
    finally:
        assert await serve.stop() == 0


@pytest.mark.parametrize(
    ("config", "args", "said"),
    [
        (
            None,
            ("--forwarded-allow-ips", "10.0.0.300"),
            "wsside: --forwarded-allow-ips 10.0.0.300: expected an IP address such as 10.0.0.5, "
            'a network such as 10.0.0.0/8, or "*" (any)',
        ),
        (
            None,
            ("--forwarded-allow-ips", "127.0.0.1,nginx"),
            "wsside: --forwarded-allow-ips nginx: expected an IP address such as 10.0.0.5",
        ),
        (
            'forwarded_allow_ips = ["127.0.0.1", "10.0.0.1/8"]\n',
            (),
            'wsside.toml:1: key "forwarded_allow_ips": "10.0.0.1/8": a network has no host bits '
            "set: did you mean 10.0.0.0/8?",
        ),
        (
            "forwarded_allow_ips = 127\n",
            (),
            'wsside.toml:1: key "forwarded_allow_ips": expected a list of IP addresses and '
            'networks such as ["127.0.0.1", "10.0.0.0/8"], or "*" (any), got 127',
        ),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(
    project: Path, config: str | None, args: tuple[str, ...], said: str
) -> None:
    if config is not None:
        (project / "wsside.toml").write_text(config)
    port = str(free_port())
    done = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--port", port, "--no-reload", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert said in line, line
    # `wsside doctor --serve` reads the option as `wsside serve` does.
    checked = doctor_process(project, "--serve", "--no-live", "--", *args)
    if args:
        assert checked.returncode == 2, checked.stderr
        assert said.removeprefix("wsside: ") in checked.stderr, checked.stderr


async def test_every_worker_trusts_the_proxy(project: Path, client: aiohttp.ClientSession) -> None:
    serve, port, pids = await start_serve(
        project, "--workers", "2", "--forwarded-allow-ips", "127.0.0.1"
    )
    try:
        seen: dict[int, str] = {}
        for _ in range(200):
            answer = await who(client, port, "203.0.113.7")
            seen[answer["pid"]] = answer["remote"]
            if len(seen) == len(pids):
                break
        assert seen == dict.fromkeys(pids, "203.0.113.7")
        line = await serve.expect('"WebSocket /api/who" 101')
        assert '203.0.113.7 - "WebSocket /api/who" 101' in line, line
    finally:
        assert await serve.stop() == 0


async def test_behind_nginx_the_client_is_the_one_nginx_saw(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """docs/deploy.md's nginx block (`$proxy_add_x_forwarded_for`), a client on 127.0.0.2
    that sends an `X-Forwarded-For` of its own: wsside, trusting 127.0.0.1 (nginx), sees
    127.0.0.2, the address nginx appended, not the client's word."""
    serve, port, _ = await start_serve(project, "--forwarded-allow-ips", "127.0.0.1")
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), port)
    try:
        nginx.start()
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            seen = await who(session, nginx.port, "198.51.100.1")
        assert seen["remote"] == "127.0.0.2"
        await serve.expect('127.0.0.2 - "WebSocket /api/who" 101')
    finally:
        nginx.stop()
        assert await serve.stop() == 0
