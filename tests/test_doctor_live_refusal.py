"""`wsside doctor`'s live probe against endpoints that refuse it or never answer it: an app
that closes an anonymous client with its own code (4000-4999, as the README shows for a client
that is not signed in) works, and a connection closed without a byte of answer is named for
what most likely closed it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from doctor_projects import (
    SIMPLE_VITE_CONFIG,
    env_for,
    free_port,
    link_modules,
    one,
    run_doctor,
    start_vite,
    stop_group,
    vite_modules,
    write,
)
from test_doctor import ECHO
from wsside.doctor.checks_live import CLOSED_FIX

__all__ = ["vite_modules"]  # the session fixture, imported for pytest


# The README's way to refuse a client that is not signed in: accept, then close with a code
# of the app's own. The probe has no cookie.
PRIVATE = """\
from wsside import Handler

private = Handler("/private")

@private.on_connect
async def signed_in(conn, request):
    if not request.headers.get("cookie"):
        await conn.close(4001, "not signed in")
"""

# Vite in middleware mode inside the user's own server, whose upgrade listener destroys every
# upgrade but its own path's, and no attachWsside: wsside's upgrades are closed unanswered.
SERVER = """\
import http from 'node:http'
import { createServer } from 'vite'

const vite = await createServer({ server: { middlewareMode: true, ws: false } })
const server = http.createServer(vite.middlewares)
server.on('upgrade', (req, socket) => {
  if (!req.url.startsWith('/legacy')) socket.destroy()
})
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'))
"""


def project(root: Path, modules: Path, **files: str) -> Path:
    write(
        root,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "wsside.toml": 'prefix = "/api"\n',
            "ws/echo.py": ECHO,
            **files,
        },
    )
    link_modules(root, modules)
    return root


@contextmanager
def own_server(root: Path, port: int, env: dict[str, str]) -> Iterator[list[str]]:
    """`node server.mjs PORT` in `root`, yielded once it listens; yields its output so far.
    Stopped by its process group's id."""
    proc = subprocess.Popen(
        ["node", "server.mjs", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:  # ends when the server exits
            seen.append(line)
            if line.strip() == "listening":
                break
        assert seen and seen[-1].strip() == "listening", "".join(seen)
        yield seen
    finally:
        stop_group(proc)
        seen.extend(proc.stdout.read().splitlines(keepends=True))
        proc.stdout.close()


@pytest.mark.slow
def test_an_endpoint_that_refuses_the_anonymous_probe_with_its_own_code_passes(
    tmp_path: Path, vite_modules: Path
) -> None:
    project(tmp_path, vite_modules, **{"ws/private.py": PRIVATE})
    env = env_for()
    for _ in start_vite(tmp_path, free_port(), env):
        code, report = run_doctor(tmp_path, env=env)
        live = one(report, "live /api/private")
        assert live["status"] == "pass", live
        assert live["message"].startswith("101 in "), live
        assert live["message"].endswith(
            ' ms, then the app refused the probe with 4001 "not signed in", a code of its own '
            "(the probe sends no cookie or token; its User-Agent is wsside-doctor)"
        ), live
        bad = [c for c in report["checks"] if c["status"] != "pass"]
        assert code == 0 and not bad, bad


@pytest.mark.slow
def test_an_upgrade_closed_without_an_answer_names_what_closes_it(
    tmp_path: Path, vite_modules: Path
) -> None:
    project(tmp_path, vite_modules, **{"server.mjs": SERVER})
    env = env_for()
    port = free_port()
    with own_server(tmp_path, port, env) as output:
        code, report = run_doctor(tmp_path, "--url", f"http://127.0.0.1:{port}", env=env)
    live = one(report, "live /api/echo")
    assert code == 1 and live["status"] == "fail", live
    assert live["message"] == "not an HTTP answer: ''", live
    assert live["fix"] == CLOSED_FIX
    assert CLOSED_FIX.startswith(
        "read the Vite terminal; when it says nothing of this path, something else closed the "
        "connection: another upgrade listener on the server"
    )
    # The server's terminal names no path: only the plugin's reminder for middleware mode.
    assert not any("/api/echo" in line for line in output), output
