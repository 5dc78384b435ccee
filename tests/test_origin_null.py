"""Allowed origins in production that admit more than they seem to: "null" (the Origin of every
sandboxed iframe, on any website: in the Vite plugin, `null` means requests without Origin
instead) is warned of at start; a wildcard, which browsers never send, is refused. The real
`wsside serve` on a free loopback port, and `ASGIApp` as an app makes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside import ASGIApp, Handler

SAID = 'the allowed origin "null" is the Origin of every sandboxed frame and file:// page'


def _handlers(tmp_path: Path) -> Path:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "chat.py").write_text("from wsside import Handler\nchat = Handler('/ws/chat')\n")
    return handlers


@pytest.mark.parametrize("null", [True, False])
async def test_wsside_serve_warns_of_null_at_start_and_still_serves_it(
    tmp_path: Path, null: bool
) -> None:
    port = free_port()
    origins = ["--allow-origin", "https://example.com"] + (["--allow-origin", "null"] * null)
    args = ("--handlers", str(_handlers(tmp_path)), "--port", str(port), *origins)
    serve = await ServeProcess.start(*args, cwd=tmp_path)
    try:
        await serve.expect("serving on")
        if null:  # a sandboxed frame's socket: accepted, as configured
            async with aiohttp.ClientSession() as client:
                url = f"http://127.0.0.1:{port}/api/ws/chat"
                async with client.ws_connect(url, headers={"Origin": "null"}) as ws:
                    assert not ws.closed
    finally:
        await serve.stop()
    said = [line for line in serve.lines if SAID in line]
    assert len(said) == int(null), "".join(serve.lines)
    if null:
        assert (
            said[0]
            .rstrip()
            .endswith(
                "take it out of --allow-origin (config: allowed_origins) unless your pages are "
                "file:// pages"
            )
        )


def test_asgi_app_warns_of_null(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="wsside"):
        ASGIApp([Handler("/ws/one")], allowed_origins=["https://example.com", "null"])
        ASGIApp([Handler("/ws/two")], allowed_origins=["https://example.com"])
    said = [r.getMessage() for r in caplog.records if SAID in r.getMessage()]
    assert len(said) == 1, caplog.text
    assert "take it out of ASGIApp(..., allowed_origins=[...])" in said[0]


def test_a_wildcard_origin_is_refused_in_one_line(tmp_path: Path) -> None:
    args = ["--handlers", str(_handlers(tmp_path)), "--allow-origin", "https://*.example.com"]
    done = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "wsside: --allow-origin https://*.example.com: not an origin: a wildcard matches "
        "nothing, since browsers send one origin; list each (https://app.example.com)"
    )
    with pytest.raises(ValueError, match=r"'https://\*\.example\.com': not an origin: a wildcard"):
        ASGIApp([], allowed_origins=["https://*.example.com"])
