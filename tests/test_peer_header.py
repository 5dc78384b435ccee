"""The shim's `x-wsside-peer` header (the client's address, which the shim adds to the requests
it pipes to the sidecar's Unix socket) is believed only beside the run's secret
(`_edge/intake.py`, `_piped_client`): a client sending its own, on `wsside serve`'s port or on
a Unix socket without a secret, stays the address its socket comes from, in `request.remote`
and the access lines, and user code never sees the header. Real `wsside serve` processes:
standalone, and under a stand-in for the shim (`--ipc`: JSON lines on a socketpair, as
tests/test_handoff.py plays it)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster import start_serve
from serve_process import ServeProcess

PEER = """\
from wsside import Handler

peer = Handler("/peer")

@peer.on_connect
async def hello(conn, request):
    await conn.send({
        "remote": request.remote,
        "peer_header_seen": "x-wsside-peer" in request.headers,
        "conn_header_seen": "x-wsside-peer" in conn.headers,
    })
"""
FORGED = "203.0.113.9:4444"
SECRET = "s" * 43
# An access line naming the socket's peer: `127.0.0.1:PORT - "WebSocket /api/peer" ...`.
PEER_LINE = re.compile(r' 127\.0\.0\.1:\d+ - "WebSocket /api/peer" ')
NOT_SEEN = {"peer_header_seen": False, "conn_header_seen": False}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "peer.py").write_text(PEER)
    return tmp_path


async def told(session: aiohttp.ClientSession, url: str, **headers: str) -> dict[str, Any]:
    """What `on_connect` told a client that sent `headers` with its upgrade."""
    async with session.ws_connect(url, headers=headers) as ws:
        seen: dict[str, Any] = await ws.receive_json(timeout=10)
    return seen


async def test_a_client_s_own_peer_header_is_not_believed_on_the_port(project: Path) -> None:
    serve, port, _ = await start_serve(project)
    url = f"http://127.0.0.1:{port}/api/peer"
    try:
        async with aiohttp.ClientSession() as session:
            assert await told(session, url, **{"X-Wsside-Peer": FORGED}) == {
                "remote": "127.0.0.1",
                **NOT_SEEN,
            }
            # A secret of its own guess beside it changes nothing: wsside serve has none.
            guessed = {"X-Wsside-Peer": FORGED, "X-Wsside-Secret": SECRET}
            assert await told(session, url, **guessed) == {"remote": "127.0.0.1", **NOT_SEEN}
        for _ in range(2):  # each connection's 101 line, then its close line
            await serve.expect('"WebSocket /api/peer" closed 1000', timeout=10)
    finally:
        assert await serve.stop() == 0
    access = [line for line in serve.lines if '"WebSocket /api/peer"' in line]
    assert len(access) == 4 and all(PEER_LINE.search(line) for line in access), access
    assert not [line for line in serve.lines if "203.0.113.9" in line], serve.lines


class Sidecar:
    """`wsside serve --ipc` as the shim starts it (with `secret` as WSSIDE_SECRET, if any),
    its access lines on stderr: the parent end of its channel, and its Unix socket."""

    def __init__(self, serve: ServeProcess, channel: asyncio.StreamWriter, path: str) -> None:
        self.serve = serve
        self.channel = channel  # kept open: at its end the sidecar stops
        self.path = path

    @classmethod
    async def start(cls, project: Path, secret: str | None) -> Sidecar:
        channel, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {**os.environ, "NODE_CHANNEL_FD": str(child.fileno()), "PYTHONUNBUFFERED": "1"}
        env.pop("WSSIDE_SECRET", None)
        if secret is not None:
            env["WSSIDE_SECRET"] = secret
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "wsside", "serve", "--ipc", "--no-reload"),
            *("--handlers", "ws", "--log-level", "debug"),
            cwd=project,
            env=env,
            pass_fds=(child.fileno(),),
            stderr=asyncio.subprocess.PIPE,
        )
        child.close()
        serve = ServeProcess(proc)
        reader, writer = await asyncio.open_unix_connection(sock=channel)
        try:
            while (ready := json.loads(await asyncio.wait_for(reader.readline(), 30))).get(
                "type"
            ) != "ready":
                pass
        except BaseException:
            await serve.stop()
            writer.close()
            raise
        return cls(serve, writer, ready["socket"])

    async def stop(self) -> None:
        assert await self.serve.stop() == 0
        self.channel.close()
        await self.channel.wait_closed()


@pytest.fixture
async def sidecar(project: Path, request: pytest.FixtureRequest) -> AsyncIterator[Sidecar]:
    started = await Sidecar.start(project, request.param)
    yield started
    await started.stop()


@pytest.fixture
async def on_socket(sidecar: Sidecar) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the sidecar's Unix socket, where the shim pipes."""
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(sidecar.path)) as session:
        yield session


URL = "http://localhost/api/peer"


@pytest.mark.parametrize("sidecar", [SECRET], indirect=True)
async def test_beside_the_run_s_secret_the_peer_header_names_the_client(
    sidecar: Sidecar, on_socket: aiohttp.ClientSession
) -> None:
    shim_s = {"X-Wsside-Secret": SECRET, "X-Wsside-Peer": FORGED}
    assert await told(on_socket, URL, **shim_s) == {"remote": "203.0.113.9", **NOT_SEEN}
    await sidecar.serve.expect_all(
        f'{FORGED} - "WebSocket /api/peer" 101', f'{FORGED} - "WebSocket /api/peer" closed 1000'
    )
    # IPv6, in brackets as the shim writes it: the address alone.
    shim_s["X-Wsside-Peer"] = "[2001:db8::9]:4444"
    assert (await told(on_socket, URL, **shim_s))["remote"] == "2001:db8::9"
    await sidecar.serve.expect('[2001:db8::9]:4444 - "WebSocket /api/peer" 101')


@pytest.mark.parametrize("sidecar", [SECRET], indirect=True)
async def test_with_a_wrong_secret_the_request_is_refused(
    sidecar: Sidecar, on_socket: aiohttp.ClientSession
) -> None:
    for guessed in ({"X-Wsside-Secret": "t" * 43}, {}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await told(on_socket, URL, **guessed, **{"X-Wsside-Peer": FORGED})
        assert refused.value.status == 403
        await sidecar.serve.expect('"WebSocket /api/peer" 403')
    assert not [line for line in sidecar.serve.lines if "203.0.113.9" in line]


@pytest.mark.parametrize("sidecar", [None], indirect=True)
async def test_without_a_secret_the_unix_socket_s_peer_header_is_not_believed(
    sidecar: Sidecar, on_socket: aiohttp.ClientSession
) -> None:
    # The guard `settings.secret is None` alone keeps this one out: the request is on the
    # Unix socket, and with no secret to check any header would pass. The socket's peer has
    # no address: the remote is empty, as it was on the pipe before the shim named clients.
    seen = await told(on_socket, URL, **{"X-Wsside-Peer": FORGED})
    assert seen == {"remote": "", **NOT_SEEN}
    line = await sidecar.serve.expect('"WebSocket /api/peer" 101')
    assert "203.0.113.9" not in line, line
