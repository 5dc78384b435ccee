"""A SIGTERM that comes while `wsside serve` loads the handler files: it stops there, having
never listened (a deploy that gives up on a slow start leaves no window of accepted
connections to close again)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from serve_process import ServeProcess, free_port

# Its import is held at a named pipe of its own until the test opens the pipe's other end.
HELD_AT_IMPORT = """
import os
import pathlib
import sys

from wsside import Handler

pipe = pathlib.Path(__file__).resolve().parent.parent / f"loading-{os.getpid()}"
os.mkfifo(pipe)
print(f"loading, held at {pipe}", file=sys.stderr, flush=True)
with open(pipe) as held:
    held.read()

slow = Handler("/ws/slow")
"""


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_a_sigterm_while_the_handlers_load_stops_without_listening(
    tmp_path: Path, loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(loop)
    monkeypatch.setenv("WSSIDE_LOOP", loop)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "slow.py").write_text(HELD_AT_IMPORT)
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(free_port()), "--no-reload", cwd=tmp_path
    )
    try:
        held = (await serve.expect("loading, held at")).split("held at ", 1)[1].strip()
        # Delivered before the import goes on: the process is inside it, in this pipe's open().
        serve.proc.send_signal(signal.SIGTERM)
        os.close(os.open(held, os.O_WRONLY))
        assert await asyncio.wait_for(serve.proc.wait(), 15) == 0
    finally:
        await serve.stop()
    assert serve.proc.stderr is not None
    output = "".join(serve.lines) + (await serve.proc.stderr.read()).decode()
    assert "SIGTERM while starting: stopping without serving" in output, output
    assert "serving on" not in output, output
