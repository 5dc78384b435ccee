"""Fixtures for the client's browser tests: a throw-away Vite project whose page connects
with `vite-plugin-wsside/client` to tests/client/handlers/echo.py, served by a real Vite (dev,
or `vite build` then `vite preview`) with the real shim and sidecar, in Debian's Chromium.

The page records everything it sees in `window.seen`, so tests wait on that (Playwright's
wait_for_function), never on time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from examples.conftest import (  # noqa: F401  (browser is a fixture used by the tests)
    ROOT,
    VITE_READY_TIMEOUT,
    Vite,
    browser,
    free_port,
    npm_install,
)

# echo.py, and live.py (which shows from the server's side which sockets are open).
HANDLERS = Path(__file__).parent / "handlers"
# The shim's tests install every Vite major the plugin supports (npm aliases vite5..vite7,
# and vite itself, the newest).
SHIM_TESTS = ROOT / "tests" / "shim"
VITE_PACKAGES = {5: "vite5", 6: "vite6", 7: "vite7", 8: "vite"}

PAGE = """\
import { connect } from 'vite-plugin-wsside/client'

window.seen = []
window.connect = connect
const socket = connect('/ws/echo', {
  query: { username: 'Ada Lovelace' },
  protocols: ['v1'],
  reconnect: { minDelay: 50, maxDelay: 200 },
})
window.socket = socket
seen.push(['status', socket.status])
socket.onStatus((status, close) => seen.push(['status', status, close?.code ?? null]))
socket.on('*', (message) =>
  seen.push(['message', message instanceof ArrayBuffer ? [...new Uint8Array(message)] : message]),
)
"""


class VitePreview(Vite):
    """`vite preview` of a built project, with the same waits and stop as `Vite`."""

    # Not super().__init__(), which would start the dev server.
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [
                *vite_command(folder),
                "preview",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--strictPort",
            ],
            cwd=folder,
            env=vite_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


def vite_command(folder: Path) -> list[str]:
    return ["node", str(folder / "node_modules" / "vite" / "bin" / "vite.js")]


def vite_env() -> dict[str, str]:
    return dict(os.environ, WSSIDE_PYTHON=sys.executable, NO_COLOR="1", FORCE_COLOR="0")


def write_project(folder: Path, major: int, plugin_options: str = "", config: str = "") -> Path:
    """A Vite project in `folder` whose page is PAGE, on Vite `major` and this checkout's shim
    (links into tests/shim/node_modules; Vite's cache stays in the project)."""
    npm_install(SHIM_TESTS)
    modules = folder / "node_modules"
    modules.mkdir(parents=True)
    (modules / "vite").symlink_to(SHIM_TESTS / "node_modules" / VITE_PACKAGES[major])
    (modules / "vite-plugin-wsside").symlink_to(ROOT / "node_shim")
    # As Vite's templates have it; Vite 5 would load vite.config.js as CommonJS otherwise.
    (folder / "package.json").write_text('{ "private": true, "type": "module" }\n')
    (folder / "ws").mkdir()
    for handler in HANDLERS.glob("*.py"):
        shutil.copy(handler, folder / "ws" / handler.name)
    (folder / "index.html").write_text(
        '<!doctype html>\n<title>client</title>\n<script type="module" src="/main.js"></script>\n'
    )
    (folder / "main.js").write_text(PAGE)
    (folder / "vite.config.js").write_text(
        "import { defineConfig } from 'vite'\nimport wsside from 'vite-plugin-wsside'\n\n"
        f"export default defineConfig({{ plugins: [wsside({plugin_options})], {config} }})\n"
    )
    return folder


@contextlib.contextmanager
def serving(server: Vite, probe: str) -> Iterator[Vite]:
    """`server` once its sidecar accepts a WebSocket upgrade of `probe`; stopped afterwards."""
    try:
        server.wait_for("Local:", VITE_READY_TIMEOUT)
        status = server.handshake_status(probe)
        if status != 101:
            pytest.fail(f"upgrade of {probe}: HTTP {status}\n{server.output}", pytrace=False)
        yield server
    finally:
        server.stop()


def build(folder: Path) -> None:
    done = subprocess.run(
        [*vite_command(folder), "build"],
        cwd=folder,
        env=vite_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(f"vite build failed:\n{done.stdout}\n{done.stderr}", pytrace=False)


def sidecar_pids(server: Vite) -> list[int]:
    """The pid of each sidecar that reported ready, oldest first."""
    return [int(pid) for pid in re.findall(r"sidecar ready: pid (\d+)", server.output)]


HELLO = "seen.some(([kind, m]) => kind === 'message' && m.type === 'hello')"


def statuses(page: Page) -> list[list]:
    return page.evaluate("seen.filter(([kind]) => kind === 'status').map(([, ...s]) => s)")


def messages(page: Page) -> list:
    return page.evaluate("seen.filter(([kind]) => kind === 'message').map(([, m]) => m)")


def wait_for_status(page: Page, status: str, count: int = 1) -> None:
    """Until the page has gone into `status` `count` times in all."""
    page.wait_for_function(
        "([status, count]) => "
        "seen.filter(([k, s]) => k === 'status' && s === status).length >= count",
        arg=[status, count],
    )


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Vite]:
    """The newest Vite's dev server, for a project with the default prefix."""
    folder = write_project(tmp_path / "project", max(VITE_PACKAGES))
    with serving(Vite(folder), "/api/ws/echo") as server:
        yield server


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[Vite], Page]]:  # noqa: F811
    """`open_page(vite)`: a fresh page of the project; fails the test on any page error."""
    pages: list[Page] = []
    errors: list[str] = []

    def open_(server: Vite) -> Page:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        pages.append(page)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # What the page logged (Vite's client says "[vite] connected." once its HMR socket is
        # open): see `hmr_connected`.
        logged: list[str] = []
        page.on("console", lambda message: logged.append(message.text))
        page.logged = logged  # type: ignore[attr-defined]
        page.goto(server.url)
        return page

    yield open_
    for page in pages:
        page.close()
    assert not errors, f"errors on the page: {errors}"
