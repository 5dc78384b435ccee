"""`wsside serve` on several addresses at once (`--host` given more than once, `host` a list in
wsside.toml): one port on each, in one process and in every worker of `--workers N`, the start
line naming each; a host given twice or of the wrong type is one line and exit 2, in `wsside
serve` and in `wsside doctor --serve`. Real processes on 127.0.0.1 and ::1."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from doctor_projects import doctor_process, run_doctor
from serve_process import ServeProcess, free_port
from wsside import __version__

ECHO = """\
from wsside import Handler

echo = Handler("/echo")

@echo.on_message
async def message(conn, data):
    await conn.send(data)
"""
HOSTS = ("127.0.0.1", "::1")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")


def _url(host: str, port: int, path: str) -> str:
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    return tmp_path


async def _echo_through_each(port: int) -> None:
    """A WebSocket through each address of `HOSTS`, each answered with its own message."""
    async with aiohttp.ClientSession() as client:
        for host in HOSTS:
            async with client.ws_connect(_url(host, port, "/api/echo")) as ws:
                await ws.send_str(f"hello over {host}")
                assert await ws.receive_str(timeout=10) == f"hello over {host}"


def _served_on(port: int) -> str:
    return f"serving on ws://127.0.0.1:{port}/api/ and ws://[::1]:{port}/api/ ("


@pytest.mark.parametrize("given", ["options", "config"])
async def test_one_process_listens_on_each_host_on_one_port(project: Path, given: str) -> None:
    port = free_port()
    if given == "options":
        hosts = ["--host", "127.0.0.1", "--host", "::1"]
    else:
        (project / "wsside.toml").write_text('host = ["127.0.0.1", "::1"]\n')
        hosts = []
    server = await ServeProcess.start(*hosts, "--port", str(port), "--no-reload", cwd=project)
    try:
        line = await server.expect("serving on")
        assert f"wsside {__version__} {_served_on(port)}" in line, line
        await _echo_through_each(port)
    finally:
        assert await server.stop() == 0


async def test_port_0_is_one_port_on_every_host(project: Path) -> None:
    server = await ServeProcess.start(
        "--host", "127.0.0.1", "--host", "::1", "--port", "0", "--no-reload", cwd=project
    )
    try:
        line = await server.expect("serving on")
        found = re.search(r"ws://127\.0\.0\.1:(\d+)/api/ and ws://\[::1\]:(\d+)/api/ \(", line)
        assert found is not None and found[1] == found[2], line
        await _echo_through_each(int(found[1]))
    finally:
        assert await server.stop() == 0


async def test_every_worker_serves_every_host(project: Path) -> None:
    """Each address reaches both workers (their health answers say which one answered): the
    kernel spreads new connections over the workers' listeners of that address."""
    port = free_port()
    server = await ServeProcess.start(
        *("--host", "127.0.0.1", "--host", "::1", "--port", str(port), "--no-reload"),
        *("--workers", "2", "--health", "/healthz"),
        cwd=project,
    )
    try:
        line = await server.expect("serving on")
        assert f"{_served_on(port)[:-2]} with 2 workers (pids " in line, line
        await _echo_through_each(port)
        for host in HOSTS:
            seen: set[int] = set()
            # A new connection each time; 200 connections all to one of two workers would be
            # a chance of 2**-199.
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as client:
                for _ in range(200):
                    async with client.get(_url(host, port, "/healthz")) as answer:
                        seen.add((await answer.json())["worker"])
                    if seen == {0, 1}:
                        break
            assert seen == {0, 1}, (host, seen)
    finally:
        assert await server.stop() == 0


def _serve(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--no-reload", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("toml", "args", "line"),
    [
        (
            None,
            ("--host", "::1", "--host", "127.0.0.1", "--host", "::1"),
            "wsside: --host ::1: given twice: each address is listened on once",
        ),
        (
            'host = ["::1", "::1"]\n',
            (),
            'wsside: {toml}:1: key "host": "::1" is given twice: each address is listened on once',
        ),
        (
            'host = ["127.0.0.1", 1]\n',
            (),
            'wsside: {toml}:1: key "host": expected a host name or address (a string), or a '
            'non-empty list of them, got ["127.0.0.1", 1]',
        ),
        (
            "host = []\n",
            (),
            'wsside: {toml}:1: key "host": expected a host name or address (a string), or a '
            "non-empty list of them, got []",
        ),
    ],
    ids=["option-twice", "config-twice", "config-wrong-type", "config-empty-list"],
)
def test_a_bad_host_list_is_one_line_and_exit_2(
    project: Path, toml: str | None, args: tuple[str, ...], line: str
) -> None:
    if toml is not None:
        (project / "wsside.toml").write_text(toml)
    done = _serve(project, *args, "--port", str(free_port()))
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [line.format(toml=project / "wsside.toml")]


def test_a_host_that_cannot_listen_is_named(project: Path) -> None:
    """The second address's port is taken: the line names that address, not the list."""
    with socket.socket(socket.AF_INET6) as taken:
        taken.bind(("::1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(project, "--host", "127.0.0.1", "--host", "::1", "--port", str(port))
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"wsside: cannot listen on [::1]:{port}: the port is in use (stop what uses it, or "
        "--port N)"
    )


def test_doctor_serve_reads_several_hosts(project: Path) -> None:
    """`wsside doctor --serve` reads `--host` and `host` as `wsside serve` does."""
    done = doctor_process(project, "--serve", "--", "--host", "::1", "--host", "::1")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "wsside doctor: --host ::1: given twice: each address is listened on once"
    )
    (project / "wsside.toml").write_text('host = ["127.0.0.1", "::1"]\n')
    _, report = run_doctor(project, "--serve", "--no-live", "--", "--host", "127.0.0.1")
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["config"]["status"] == "pass", checks["config"]
    _, report = run_doctor(project, "--serve", "--no-live")
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["config"]["status"] == "pass", checks["config"]
