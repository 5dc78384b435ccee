"""A save of the same length within the same second (one character changed; a `git checkout`
between branches that differ so) reloads the bytes on disk, for a handler file and for a helper
it imports. Python's own loader would reuse the `__pycache__` file written for the previous
version (it compares the size and the whole-second modification time), and the terminal would
say `reloaded` over the old code. A real `wsside serve` with reload on, writing bytecode as a
user's Python does (without PYTHONDONTWRITEBYTECODE); the new file's modification time is set
to the old one's, so that the two saves fall in one second whatever the machine's speed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aiohttp

from serve_process import ServeProcess, free_port

HANDLER = """from wsside import Handler

import _shared

probe = Handler("/ws/probe")


@probe.on_connect
def hello(conn, request):
    conn.send({"handler": "VERSION-A", "helper": _shared.TAG})
"""
HELPER = 'TAG = "TAG-A"\n'


def rewrite_keeping_time(file: Path, old: str, new: str) -> None:
    """`file` with `old` replaced by `new` (the same length), its times as they were."""
    before = file.stat()
    text = file.read_text()
    assert len(old) == len(new) and old in text
    file.write_text(text.replace(old, new))
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size


async def greeting(port: int) -> dict[str, str]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/probe")
        got: dict[str, str] = await ws.receive_json()
        await ws.close()
        return got


async def test_a_same_size_save_in_the_same_second_reloads_what_is_on_disk(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "probe.py").write_text(HANDLER)
    (ws / "_shared.py").write_text(HELPER)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    port = free_port()
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path, env=env)
    try:
        await serve.expect("serving on")
        assert await greeting(port) == {"handler": "VERSION-A", "helper": "TAG-A"}
        rewrite_keeping_time(ws / "probe.py", "VERSION-A", "VERSION-B")
        await serve.expect("reloaded ws/probe.py")
        assert await greeting(port) == {"handler": "VERSION-B", "helper": "TAG-A"}
        rewrite_keeping_time(ws / "_shared.py", "TAG-A", "TAG-B")
        await serve.expect("reloaded ws/probe.py")
        assert await greeting(port) == {"handler": "VERSION-B", "helper": "TAG-B"}
    finally:
        assert await serve.stop() == 0
    # Nothing of the handlers folder went through `__pycache__`.
    assert not (ws / "__pycache__").exists(), sys.version
