"""The per-run secret: required on a Unix-socket listener, compared in constant time,
and never visible to handler code."""

from pathlib import Path

import aiohttp
from aiohttp import web

from wsside._edge.server import Sidecar
from wsside._runtime.settings import Settings


async def test_unix_listener_requires_the_secret_and_hides_it(tmp_path: Path) -> None:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "h.py").write_text(
        "from wsside import Handler\n"
        "Handler('/ws/h', on_connect=lambda c, r: c.send(sorted(k.lower() for k in c.headers)))\n"
    )
    sidecar = Sidecar(Settings(handlers_dir=handlers, reload=False, secret="s3cret-value"))
    await sidecar.start()
    path = str(tmp_path / "sidecar.sock")
    await web.UnixSite(sidecar.runner, path).start()
    tcp = await sidecar.serve_tcp("127.0.0.1", 0)
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path)) as unix:
            for headers in ({}, {"x-wsside-secret": "wrong"}, {"x-wsside-secret": "s3cret-valu"}):
                async with unix.get("http://sidecar/api/ws/h", headers=headers) as resp:
                    assert resp.status == 403
            ws = await unix.ws_connect(
                "http://sidecar/api/ws/h", headers={"x-wsside-secret": "s3cret-value"}
            )
            assert ws._response.headers["X-Wsside-Forwarding"] == "pipe"
            seen = await ws.receive_json()
            assert "x-wsside-secret" not in seen and "host" in seen
            await ws.close()
        async with aiohttp.ClientSession() as client:  # TCP is not a listener others share
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/h")
            # handed-over sockets never reach aiohttp (handoff.take_over), so this one is direct
            assert ws._response.headers["X-Wsside-Forwarding"] == "direct"
            assert "host" in await ws.receive_json()
            await ws.close()
    finally:
        await sidecar.close()
