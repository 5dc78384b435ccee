"""Fixtures for the end-to-end tests of `examples/`: a real Vite with the shim and a real
sidecar, driven by Debian's Chromium through Playwright.

Each test module names its example (`EXAMPLE = "chat"`); the module gets one Vite dev server
(started in its own process group, stopped by that group) and one browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VITE_READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
WAIT_MS = 10_000  # Playwright's bound for each wait on the page


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def npm_install(folder: Path) -> None:
    """`npm install` once per checkout (node_modules is git-ignored); the shim is a symlink."""
    if (folder / "node_modules" / "vite").is_dir() and (
        folder / "node_modules" / "vite-plugin-wsside"
    ).exists():
        return
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"npm install in {folder} failed:\n{done.stdout}\n{done.stderr}")


class Vite:
    """`vite --host 127.0.0.1 --port N` in one example folder, in a process group of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.lines: list[str] = []
        self._changed = threading.Condition()
        env = dict(os.environ, WSSIDE_PYTHON=sys.executable, NO_COLOR="1", FORCE_COLOR="0")
        self.proc = subprocess.Popen(
            [
                "node",
                str(folder / "node_modules" / "vite" / "bin" / "vite.js"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--strictPort",
            ],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout as lines:
            for line in lines:
                with self._changed:
                    self.lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> None:
        """Wait until Vite printed `text`; fail with its output if it exits or takes too long."""
        with self._changed:
            self._changed.wait_for(
                lambda: text in self.output or self.proc.poll() is not None, timeout
            )
        if text not in self.output:
            state = "exited" if self.proc.poll() is not None else f"no {text!r} in {timeout:.0f} s"
            pytest.fail(f"vite in {self.folder.name} {state}:\n{self.output}", pytrace=False)

    def handshake_status(self, path: str, timeout: float = 20.0) -> int:
        """The HTTP status Vite answers to a WebSocket upgrade of `path` (101 when accepted)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(
                (
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            try:
                head = sock.recv(4096).decode("latin-1")
            except TimeoutError:
                pytest.fail(
                    f"no answer to a WebSocket upgrade of {path} through vite in {timeout:.0f} s: "
                    f"is the shim (node_shim/) forwarding {path.split('/')[1]!r}?\n{self.output}",
                    pytrace=False,
                )
        if not head.startswith("HTTP/1.1 "):
            pytest.fail(
                f"upgrade of {path}: unexpected answer {head[:200]!r}\n{self.output}", pytrace=False
            )
        return int(head.split()[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)


@contextlib.contextmanager
def running_vite(folder: Path, endpoint: tuple[str, int]) -> Iterator[Vite]:
    """Vite serving `folder`, once its sidecar answers `endpoint` (a path, the expected status)."""
    npm_install(folder)
    server = Vite(folder)
    try:
        server.wait_for("Local:", VITE_READY_TIMEOUT)
        path, expected = endpoint
        status = server.handshake_status(path)
        if status != expected:
            pytest.fail(
                f"upgrade of {path} through vite: HTTP {status}, expected {expected}\n"
                f"{server.output}",
                pytrace=False,
            )
        yield server
    finally:
        server.stop()


def copy_example(name: str, dest: Path) -> Path:
    """A copy of an example that a test may edit, sharing the original's node_modules."""
    source = EXAMPLES / name
    npm_install(source)
    folder = dest / name
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("node_modules"))
    (folder / "node_modules").symlink_to(source / "node_modules", target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def vite(request: pytest.FixtureRequest) -> Iterator[Vite]:
    """Vite serving the module's example: the module sets `EXAMPLE` (its folder name) and
    `ENDPOINT` (a path and the status its upgrade must get once the sidecar is up)."""
    with running_vite(EXAMPLES / request.module.EXAMPLE, request.module.ENDPOINT) as server:
        yield server


@pytest.fixture
def own_vite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vite]:
    """Vite serving a copy of the module's example, which the test may edit (`vite.folder`)."""
    folder = copy_example(request.module.EXAMPLE, tmp_path)
    with running_vite(folder, request.module.ENDPOINT) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty Vite project folder sharing the examples' installed node_modules."""
    npm_install(EXAMPLES / "chat")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "node_modules").symlink_to(
        EXAMPLES / "chat" / "node_modules", target_is_directory=True
    )
    return folder


@pytest.fixture
def start_vite() -> Callable[[Path, tuple[str, int]], contextlib.AbstractContextManager[Vite]]:
    """`with start_vite(folder, ("/api/ws/x", 101)) as vite:` for a test's own project."""
    return running_vite


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (never a downloaded browser), one per test module."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: run `make chromium` (apt-get install -y chromium)",
            pytrace=False,
        )
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Browser, vite: Vite) -> Iterator[Callable[..., Page]]:
    """`open_page("?username=Alice")`: a fresh page of the example; fails on any page error."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(query: str = "") -> Page:
        context = browser.new_context()
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(vite.url + query)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, f"errors on the page: {errors}"
