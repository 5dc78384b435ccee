"""`wsside init` in a project whose dev script runs a server of its own that creates Vite in
middleware mode: vite.config still gets the plugin (that Vite reads it), init says what that
server must add (attachWsside) and to run the dev script, not `npx vite`; the server edited as
it says serves the sample handler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from doctor_projects import (
    VENV_PYTHON,
    env_for,
    free_port,
    link_modules,
    vite_modules,
    write,
)
from wsside.doctor.probe import handshake

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

# The README's middleware-mode server, without attachWsside yet.
SERVER = """\
import http from 'node:http'
import { createServer } from 'vite'

const vite = await createServer({ server: { middlewareMode: true, ws: false } })
const server = http.createServer(vite.middlewares)
server.listen(Number(process.env.PORT ?? 5173), '127.0.0.1', () => console.log('listening'))
"""

CJS_SERVER = """\
const http = require('node:http')

async function main() {
  const { createServer } = await import('vite')
  const vite = await createServer({ server: { middlewareMode: true } })
  http.createServer(vite.middlewares).listen(5173)
}
main()
"""

RUN_DEV = "  npm run dev     # runs server.js, with the handlers at /api/echo on its port\n"


def run_init(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "init", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def package(dev: str, module: bool = True) -> str:
    return json.dumps(
        {
            "name": "app",
            "private": True,
            **({"type": "module"} if module else {}),
            "scripts": {"dev": dev},
        }
    )


def test_init_names_the_server_file_and_the_dev_script(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package("node server.js"), "server.js": SERVER})
    done = run_init(tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    # vite.config still gets the plugin: the server's Vite reads it.
    assert "wrote vite.config.js with the plugin\n" in out
    assert "plugins: [wsside()]" in (tmp_path / "vite.config.js").read_text()
    assert (
        "  → server.js, which the dev script runs, creates Vite in middleware mode: the plugin "
        "cannot see WebSocket upgrades there, so that server hands them to wsside.\n"
        "    Add these lines to server.js yourself:\n"
        "      import { attachWsside } from 'vite-plugin-wsside'    (with the other imports)\n"
        "      attachWsside(server)    (`server`: your http.Server, the one Vite's middlewares "
        "serve; under Express, what app.listen() returns)\n"
    ) in out
    assert out.endswith(f"\nNext:\n  npm install -D vite-plugin-wsside\n{RUN_DEV}  wsside doctor\n")
    assert "npx vite" not in out


def test_a_commonjs_server_gets_a_require_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"package.json": package("node server.cjs", module=False), "server.cjs": CJS_SERVER},
    )
    done = run_init(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "      const { attachWsside } = require('vite-plugin-wsside')    (with the other imports)\n"
    ) in done.stdout
    assert "  npm run dev     # runs server.cjs, with the handlers at /api/echo on its port\n" in (
        done.stdout
    )


@pytest.mark.slow
def test_the_server_edited_as_init_says_serves_the_sample(
    tmp_path: Path, vite_modules: Path
) -> None:
    link_modules(tmp_path, vite_modules)
    write(tmp_path, {"package.json": package("node server.js"), "server.js": SERVER})
    assert run_init(tmp_path).returncode == 1
    # The two lines init printed, where it said.
    server = tmp_path / "server.js"
    text = server.read_text().replace(
        "import { createServer } from 'vite'\n",
        "import { createServer } from 'vite'\nimport { attachWsside } from 'vite-plugin-wsside'\n",
    )
    server.write_text(text.replace("server.listen(", "attachWsside(server)\nserver.listen("))
    again = run_init(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "  ✓ kept server.js: it calls attachWsside() on its server\n" in again.stdout
    assert again.stdout.endswith(f"\nNext:\n{RUN_DEV}  wsside doctor\n")
    # What `npm run dev` runs, on a free port.
    port = free_port()
    proc = subprocess.Popen(
        ["node", "server.js"],
        cwd=tmp_path,
        env=env_for(PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        # attachWsside's lines: the sidecar is ready once its endpoint table is printed.
        for line in proc.stdout:
            seen.append(line)
            if "sidecar ready" in line:
                break
        assert seen and "sidecar ready" in seen[-1], "".join(seen)
        shake = handshake(f"http://127.0.0.1:{port}", "/api/echo", 10)
        assert shake.status == 101 and shake.closed is None, (shake, "".join(seen))
        assert shake.headers.get("x-wsside-forwarding") == "handover"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        proc.stdout.close()
