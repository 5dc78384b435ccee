"""Fixture projects for `wsside doctor` and `wsside init` tests, and the real processes they
need: one shared npm install of Vite and the shim, a real Vite dev server, a real orphaned
sidecar-looking process. Everything is bounded in time and stopped by pid."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster import missing

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = sys.executable
SIMPLE_VITE_CONFIG = """\
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  plugins: [wsside()],
})
"""

# A `wsside serve` folder's one handler file.
CHAT_HANDLER = {"ws/chat.py": "from wsside import Handler\nchat = Handler('/ws/chat')\n"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def env_for(**extra: str) -> dict[str, str]:
    """The environment the shim would see: this venv's Python unless a test says otherwise."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "WSSIDE_PYTHON")}
    env["WSSIDE_PYTHON"] = VENV_PYTHON
    env.update(extra)
    return env


def run_doctor(
    root: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> tuple[int, dict[str, Any]]:
    """`wsside doctor --json` in a real subprocess: (exit code, parsed report)."""
    done = doctor_process(root, "--json", *args, env=env, stdin=stdin)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def doctor_process(
    root: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`wsside doctor --root ROOT ARGS` run to its end in a real subprocess."""
    return subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "doctor", "--root", str(root), "--timeout", "30", *args],
        capture_output=True,
        text=True,
        env=env or env_for(),
        timeout=90,
        input=stdin,
    )


def checks(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    found = [c for c in report["checks"] if c["name"] == name]
    assert found, f"no check named {name!r} in {[c['name'] for c in report['checks']]}"
    return found


def one(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = checks(report, name)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def vite_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node_modules with Vite and the shim (`file:` link to node_shim/), installed once."""
    where = tmp_path_factory.getbasetemp() / "wsside-vite-modules"
    if not (where / "node_modules" / "vite" / "package.json").is_file():
        write(
            where,
            {
                "package.json": json.dumps(
                    {
                        "name": "wsside-doctor-fixture",
                        "private": True,
                        "type": "module",
                        "devDependencies": {
                            "vite": "^8",
                            "vite-plugin-wsside": f"file:{REPO / 'node_shim'}",
                        },
                    }
                )
            },
        )
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=where,
            check=True,
            capture_output=True,
            timeout=240,
        )
    return where / "node_modules"


def link_modules(root: Path, modules: Path) -> None:
    (root / "node_modules").symlink_to(modules, target_is_directory=True)
    write(
        root,
        {
            "package.json": '{"name": "app", "private": true, "type": "module"}',
            "index.html": "<!doctype html><title>app</title>",
        },
    )


def start_vite(
    root: Path,
    port: int,
    env: dict[str, str],
    log: list[str] | None = None,
    host: str = "127.0.0.1",
    ready: str = "sidecar ready",
    command: tuple[str, ...] = (),
) -> Iterator[subprocess.Popen[str]]:
    """A real Vite dev server on `host`:`port` (or Vite's `command`, `("preview",)`), yielded
    once it prints `ready` (by default, once its sidecar is ready); `log` (when given)
    receives Vite's output up to then."""
    proc = subprocess.Popen(
        [
            "node",
            str(root / "node_modules" / "vite" / "bin" / "vite.js"),
            *command,
            "--host",
            host,
            "--port",
            str(port),
            "--strictPort",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = [] if log is None else log
    stdout = proc.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")  # Vite's output ended: it exited

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        # Without its colours: under CI=true Vite colours its output (`:\x1b[1m5173\x1b[22m/`).
        while not any(ready in _ANSI.sub("", ln) for ln in seen):
            line = lines.get(timeout=30)
            if not line:
                pytest.fail(f"Vite exited before it printed {ready!r}:\n" + "".join(seen))
            seen.append(line)
        yield proc
    except queue.Empty:
        pytest.fail(f"Vite did not print {ready!r} within 30 s:\n" + "".join(seen))
    finally:
        stop_group(proc)
        reader.join(timeout=5)  # EOF once Vite is gone
        stdout.close()


# A process that looks like a shim-mode sidecar to `ps`: `.../wsside serve --ipc`.
FAKE_SIDECAR = """\
import os, sys, time
print("ready", os.getpid(), flush=True)
time.sleep(120)  # bounded: gone by itself if a test dies before ending it
"""

# Starts the fake with our stdout and exits at once, so the fake loses its parent.
ORPHANER = """\
import subprocess, sys
subprocess.Popen([sys.executable, sys.argv[1], "serve", "--ipc"], start_new_session=True)
"""


def spawn_orphan(root: Path) -> int:
    """A real orphaned `wsside serve --ipc` lookalike working in `root`; returns its pid once
    it runs and its parent has exited."""
    script = write(root, {"fakebin/wsside": FAKE_SIDECAR}) / "fakebin" / "wsside"
    middle = subprocess.Popen(
        [VENV_PYTHON, "-c", ORPHANER, str(script)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert middle.stdout is not None
    word, pid = middle.stdout.readline().split()
    middle.wait(timeout=10)
    middle.stdout.close()
    assert word == "ready"
    return int(pid)


def certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 and localhost (its key beside it)."""
    if shutil.which("openssl") is None:
        missing("needs the openssl command for a self-signed certificate")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder / "cert.pem"


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """Stop the process group `proc` leads (started with `start_new_session`): SIGTERM, then
    SIGKILL after 15 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
