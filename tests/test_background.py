"""Background tasks (`@h.background`) at the end of a real `wsside serve`: cancelled, and
their clean-up (`finally`, which may await) runs before the process exits."""

from __future__ import annotations

import textwrap
from pathlib import Path

from serve_process import ServeProcess, free_port

HANDLER = """
    import asyncio
    import os

    from wsside import Handler

    tick = Handler("/ws/tick")

    @tick.background
    async def task(handler):
        try:
            os.write(2, b"EVENT task-started\\n")
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.05)  # a clean-up that awaits: a last write, a commit
            os.write(2, b"EVENT task-ended\\n")
"""


async def test_sigterm_waits_for_a_background_task_s_clean_up(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "tick.py").write_text(textwrap.dedent(HANDLER))
    serve = await ServeProcess.start("--port", str(free_port()), "--no-reload", cwd=tmp_path)
    try:
        # Both, in either order: the task runs and SIGTERM is the server's to handle.
        await serve.expect_all("EVENT task-started", "serving on")
    finally:
        code = await serve.stop()
    assert serve.proc.stderr is not None
    rest = (await serve.proc.stderr.read()).decode()
    output = "".join(serve.lines) + rest
    assert code == 0, output
    assert "EVENT task-ended" in rest, output


async def test_a_plain_def_is_a_load_error_saying_how_to_run_blocking_work(tmp_path: Path) -> None:
    # A training loop written as a plain function: the way to it is an async task around it.
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "train.py").write_text(
        "from wsside import Handler\n\ntrain = Handler('/ws/train')\n\n\n"
        "@train.background\ndef loop(handler):\n    pass\n"
    )
    serve = await ServeProcess.start("--port", str(free_port()), "--no-reload", cwd=tmp_path)
    try:
        line = await serve.expect("cannot load ws/train.py")
    finally:
        await serve.stop()
    assert line.rstrip().endswith(
        "cannot load ws/train.py:6: TypeError: background: expected an async function taking "
        "the handler (async def loop(handler)); blocking work (a training loop) runs in it "
        "with await asyncio.to_thread(function, *args)"
    )
