"""A config file created where it comes before the one in use (a monorepo: vite.config in
apps/web, the handlers and `[tool.wsside]` in apps/api): the sidecar restarts with it at once,
as it does for a config file created where none was; and `wsside init`, writing a wsside.toml
that does so, says which file is no longer read. Through a real `wsside serve` and a real
`wsside init`."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from doctor_projects import VENV_PYTHON, write
from serve_process import ServeProcess, free_port

CHAT = """\
from wsside import Handler

chat = Handler("/chat")


@chat.on_message
async def reply(conn, data):
    await conn.send({"said": data})
"""
PYPROJECT = '[project]\nname = "api"\n\n[tool.wsside]\nprefix = "/api"\n'
VITE_CONFIG = """\
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  plugins: [wsside({ handlers: '../api/ws' })],
})
"""


def monorepo(tmp_path: Path) -> Path:
    """apps/web (vite.config's folder, where the sidecar runs) and apps/api (the handlers,
    and pyproject.toml with [tool.wsside]); apps/web."""
    write(
        tmp_path / "apps",
        {
            "web/package.json": '{"name": "web", "private": true, "type": "module"}',
            "web/vite.config.js": VITE_CONFIG,
            "api/pyproject.toml": PYPROJECT,
            "api/ws/chat.py": CHAT,
        },
    )
    return tmp_path / "apps" / "web"


@contextlib.asynccontextmanager
async def serving(web: Path, port: int) -> AsyncIterator[ServeProcess]:
    """`wsside serve` in apps/web with the handlers of apps/api, as the plugin runs it (its
    `handlers` option is `--handlers`); it must stop with 0."""
    server = await ServeProcess.start(
        "--handlers", str(web.parent / "api" / "ws"), "--port", str(port), cwd=web
    )
    try:
        yield server
    finally:
        assert await server.stop() == 0


async def said(ws: aiohttp.ClientWebSocketResponse, text: str) -> object:
    await ws.send_str(text)
    return (await ws.receive_json(timeout=5))["said"]


@pytest.mark.parametrize(
    "created",
    [
        "web/wsside.toml",  # beside vite.config: searched before the handlers' folder
        "api/wsside.toml",  # beside the pyproject.toml in use: read before it
    ],
)
async def test_a_config_file_that_comes_before_the_one_in_use_restarts_with_it(
    tmp_path: Path, created: str
) -> None:
    web = monorepo(tmp_path)
    apps = web.parent
    port = free_port()
    async with serving(web, port) as server, aiohttp.ClientSession() as client:
        await server.expect(f"serving on ws://127.0.0.1:{port}/api/")
        ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/chat")
        assert await said(ws, "hi") == "hi"
        # A pyproject.toml without [tool.wsside] comes before nothing, and is passed over.
        (web / "pyproject.toml").write_text('[project]\nname = "web"\n')
        (apps / created).write_text("prefix = '/rt'\nhandlers = '../api/ws'\n")
        msg = await ws.receive(timeout=5)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1012)
        line = await server.expect("changed: restarting")
        # The line names the file created, not the one it now stands in front of.
        named = "wsside.toml" if created.startswith("web/") else str(apps / created)
        assert f" {named} changed: restarting" in line, line
        await server.expect(f"serving on ws://127.0.0.1:{port}/rt/")
        again = await client.ws_connect(f"http://127.0.0.1:{port}/rt/chat")
        assert await said(again, "back") == "back"
        await again.close()


def run_init(web: Path) -> str:
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "init"],
        cwd=web,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("beside", "overridden"),
    [
        ({"api/pyproject.toml": PYPROJECT}, "[tool.wsside] in ../api/pyproject.toml"),
        ({"api/wsside.toml": 'prefix = "/api"\n'}, "../api/wsside.toml"),
    ],
)
def test_init_says_which_config_its_wsside_toml_overrides(
    tmp_path: Path, beside: dict[str, str], overridden: str
) -> None:
    web = monorepo(tmp_path)
    (web.parent / "api" / "pyproject.toml").unlink()
    write(web.parent, beside)
    out = run_init(web)
    assert (
        f"  ✓ wrote wsside.toml, which overrides {overridden}: that one is no longer read "
        "(move any other settings it has into wsside.toml)\n"
    ) in out, out
    assert 'handlers = "../api/ws"' in (web / "wsside.toml").read_text()


def test_init_says_nothing_more_when_nothing_is_overridden(tmp_path: Path) -> None:
    """A pyproject.toml without [tool.wsside] beside the handlers is no config."""
    web = monorepo(tmp_path)
    (web.parent / "api" / "pyproject.toml").write_text('[project]\nname = "api"\n')
    assert "  ✓ wrote wsside.toml\n" in run_init(web)
