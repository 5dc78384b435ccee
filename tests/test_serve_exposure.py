"""`wsside serve` listening beyond loopback with no allowed_origins says so in one warning line
at start (what it takes from the network, and the options that narrow it); on loopback it says
nothing. The real CLI; the servers beyond loopback run in a network namespace of their own
(`unshare -n`, loopback only), so nothing outside this machine's tests can reach them."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from serve_process import ServeProcess, free_port

EXPOSED = "beyond loopback, with no allowed_origins"


def _namespaces() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10
    )
    return done.returncode == 0


needs_namespace = pytest.mark.skipif(
    not _namespaces(), reason="unshare -n (a network namespace) needs root here"
)


def _handlers(tmp_path: Path) -> Path:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "chat.py").write_text("from wsside import Handler\nchat = Handler('/ws/chat')\n")
    return handlers


async def _isolated(tmp_path: Path, *args: str) -> ServeProcess:
    """`wsside serve ARGS` in a new network namespace whose only interface is loopback
    (`unshare` and `sh` exec it: the process is the server's own)."""
    script = 'ip link set lo up && exec "$0" -m wsside serve "$@"'
    proc = await asyncio.create_subprocess_exec(
        "unshare",
        "-n",
        "sh",
        "-c",
        script,
        sys.executable,
        *args,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return ServeProcess(proc)


async def _start_lines(serve: ServeProcess) -> list[str]:
    """The lines it wrote up to its banner, once it serves; then it is stopped."""
    try:
        await serve.expect("serving on")
    finally:
        await serve.stop()
    return serve.lines


def _exposure_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "beyond loopback" in line]


@needs_namespace
@pytest.mark.parametrize(("host", "loopback"), [("0.0.0.0", "127.0.0.1"), ("::", "localhost")])
async def test_beyond_loopback_without_allowed_origins_warns_once_and_on_loopback_not(
    tmp_path: Path, host: str, loopback: str
) -> None:
    handlers = _handlers(tmp_path)
    serve = await _isolated(tmp_path, "--handlers", str(handlers), "--host", host, "--port", "8765")
    lines = await _start_lines(serve)
    said = _exposure_lines(lines)
    assert len(said) == 1, "".join(lines)
    line = said[0]
    assert f"listening on {host}, {EXPOSED}:" in line
    assert "clients that are not browsers (no Origin header) are accepted" in line
    assert "pages served from localhost are accepted too" in line
    assert "--allow-origin https://your.site (config: allowed_origins)" in line
    assert "--no-loopback-origins (config: loopback_origins = false)" in line
    args = ("--handlers", str(handlers), "--host", loopback, "--port", str(free_port()))
    lines = await _start_lines(await ServeProcess.start(*args, cwd=tmp_path))
    assert not _exposure_lines(lines), "".join(lines)


@needs_namespace
async def test_the_line_names_what_is_still_open_and_goes_once_it_is_closed(
    tmp_path: Path,
) -> None:
    handlers = _handlers(tmp_path)
    args = ("--handlers", str(handlers), "--host", "0.0.0.0", "--no-loopback-origins")
    lines = await _start_lines(await _isolated(tmp_path, *args))
    said = _exposure_lines(lines)
    assert len(said) == 1, "".join(lines)
    assert "--allow-origin" in said[0]
    assert "localhost" not in said[0] and "--no-loopback-origins" not in said[0]
    # The site's origins allowed, local pages off: nothing left to say.
    site = ("--allow-origin", "https://example.com")
    lines = await _start_lines(await _isolated(tmp_path, *args, *site))
    assert not _exposure_lines(lines), "".join(lines)


def _error_details_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "error frame carries str(exc)" in line]


async def test_a_site_s_server_that_sends_exception_text_to_clients_says_so_at_start(
    tmp_path: Path,
) -> None:
    """`error_details` is on unless turned off; a server for a site (an https:// allowed
    origin) says once at start that error frames carry `str(exc)`, and where to turn it off."""
    handlers = _handlers(tmp_path)
    base = ("--handlers", str(handlers), "--port", str(free_port()))
    site = ("--allow-origin", "https://example.com")
    lines = await _start_lines(await ServeProcess.start(*base, *site, cwd=tmp_path))
    said = _error_details_lines(lines)
    assert len(said) == 1, "".join(lines)
    expected = (
        "wsside: a raising callback's error frame carries str(exc) to the client, which may "
        "hold what a client must not see (a database URL in a connection error): in "
        "production, [defaults] error_details = false in wsside.toml"
    )
    assert said[0].rstrip().endswith(expected), said
    # A development server (loopback, no site named) is told nothing,
    lines = await _start_lines(await ServeProcess.start(*base, cwd=tmp_path))
    assert not _error_details_lines(lines), "".join(lines)
    # nor an https dev setup on this machine,
    local = ("--allow-origin", "https://localhost:5173")
    lines = await _start_lines(await ServeProcess.start(*base, *local, cwd=tmp_path))
    assert not _error_details_lines(lines), "".join(lines)
    # nor one whose config file turned it off.
    (tmp_path / "wsside.toml").write_text("[defaults]\nerror_details = false\n")
    lines = await _start_lines(await ServeProcess.start(*base, *site, cwd=tmp_path))
    assert not _error_details_lines(lines), "".join(lines)
    # The table to set is named as the config file has it.
    (tmp_path / "wsside.toml").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.wsside]\nlog_level = "info"\n')
    lines = await _start_lines(await ServeProcess.start(*base, *site, cwd=tmp_path))
    said = _error_details_lines(lines)
    assert said and said[0].rstrip().endswith(
        "[tool.wsside.defaults] error_details = false in pyproject.toml"
    ), "".join(lines)
