"""Once the reader of the server's stdout and stderr has gone (Vite after Ctrl-C; `wsside serve
| tee log` likewise, the pipe's reader ending first), what handler code prints there is
dropped: a background task's `finally` run at the stop prints, and goes on to its end,
instead of raising BrokenPipeError. A real `wsside serve` whose pipes' read ends the test
closes before its SIGTERM; the task's last act, after its prints, writes a file. (Under Vite:
tests/shim/exit.test.js.)"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from serve_process import free_port

TASK = """\
import asyncio
import sys
from pathlib import Path

from wsside import Handler

ticker = Handler("/ws/ticker")
DONE = Path(__file__).resolve().parent.parent / "finally-done"


@ticker.background
async def tick(handler):
    print("task running", file=sys.stderr, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        print("stopping: a last line")  # stdout, whose reader has gone
        print("and one on stderr", file=sys.stderr)
        for _ in range(3):  # more than one write, after the first that failed
            print("x" * 70000)
        DONE.write_text("printed")
"""


def read_until(fd: int, fragments: tuple[str, ...], timeout: float) -> str:
    """Read `fd` until each of `fragments` has been read; what was read (AssertionError at the
    deadline or at the end of the output)."""
    deadline = time.monotonic() + timeout
    seen = b""
    while not all(fragment.encode() in seen for fragment in fragments):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        if not ready:
            raise AssertionError(f"no {fragments} within {timeout:g} s: {seen.decode()!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"the output ended with no {fragments}: {seen.decode()!r}")
        seen += chunk
    return seen.decode()


def test_a_finally_that_prints_after_the_reader_has_gone_runs_to_its_end(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "ticker.py").write_text(TASK)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsside", "serve", "--port", str(free_port()), "--no-reload"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        read_until(proc.stderr.fileno(), ("serving on", "task running"), 30)
        # The reader goes: no process holds the read ends of its pipes any more.
        proc.stdout.close()
        proc.stderr.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "finally-done").read_text() == "printed"
