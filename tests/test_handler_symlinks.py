"""Symlinks in the handlers folder: one that leads nowhere (missing target, a loop) is one
line naming it, at start and when added while serving, and the other files serve on and keep
reloading; one to a file outside the folder loads like any handler file. (They crashed the
process at start with a traceback, and stopped every later reload when added while serving.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from serve_process import ServeProcess, free_port

ECHO = 'from wsside import Handler\n\necho = Handler("/ws/echo")\n'
OTHER = 'from wsside import Handler\n\nother = Handler("/ws/other")\n'
THREE = 'from wsside import Handler\n\nthree = Handler("/ws/three")\n'


async def opens(port: int, path: str) -> bool:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        try:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api{path}")
        except aiohttp.WSServerHandshakeError:
            return False
        await ws.close()
        return True


async def test_symlinks_that_lead_nowhere_are_one_line_and_the_rest_serves(tmp_path: Path) -> None:
    ws, elsewhere = tmp_path / "ws", tmp_path / "shared"
    ws.mkdir()
    elsewhere.mkdir()
    (ws / "echo.py").write_text(ECHO)
    (elsewhere / "other.py").write_text(OTHER)
    os.symlink("../shared/other.py", ws / "outside.py")
    os.symlink(tmp_path / "nonexistent.py", ws / "dangling.py")
    os.symlink("loop2.py", ws / "loop1.py")
    os.symlink("loop1.py", ws / "loop2.py")
    port = free_port()
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path)
    try:
        await serve.expect("serving on")
        started = "".join(serve.lines)
        assert (
            f"cannot load ws/dangling.py: a symlink to {tmp_path / 'nonexistent.py'}, "
            "which does not exist\n" in started
        ), started
        assert "cannot load ws/loop1.py: a symlink loop (through loop2.py)\n" in started, started
        assert "cannot load ws/loop2.py: a symlink loop (through loop1.py)\n" in started, started
        assert "loaded ws/outside.py (/ws/other)" in started, started
        assert "Traceback" not in started, started
        assert await opens(port, "/ws/echo") and await opens(port, "/ws/other")

        # Added while serving: one line, and the reloads after it still happen.
        os.symlink(tmp_path / "gone.py", ws / "late.py")
        line = await serve.expect("late.py")
        gone = tmp_path / "gone.py"
        expected = f"cannot load ws/late.py: a symlink to {gone}, which does not exist\n"
        assert line.endswith(expected), line
        (ws / "three.py").write_text(THREE)
        await serve.expect("added ws/three.py (/ws/three)")
        assert await opens(port, "/ws/three")
    finally:
        assert await serve.stop() == 0
    assert "Traceback" not in "".join(serve.lines), "".join(serve.lines)


def test_wsside_types_names_a_symlink_that_leads_nowhere_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    os.symlink(tmp_path / "nonexistent.py", tmp_path / "ws" / "dangling.py")
    done = subprocess.run(
        [sys.executable, "-m", "wsside", "types"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"wsside types: ws/dangling.py: a symlink to {tmp_path / 'nonexistent.py'}, "
        "which does not exist\n"
    )
