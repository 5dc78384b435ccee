"""Background tasks (`@h.background`) at the end of a real `wsside serve`: cancelled, and
their clean-up (`finally`, which may await) runs before the process exits."""

from __future__ import annotations

import textwrap
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside import ASGIApp, Handler

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


LATE = """
    import asyncio

    from wsside import Handler

    dyn = Handler("/ws/dyn")

    @dyn.on_message
    def start(conn, data):
        async def loop(handler):  # one per match, the user thought
            while True:
                await asyncio.sleep(0.1)

        dyn.background(loop)
        conn.send("started")
"""


async def test_a_task_added_once_the_file_is_served_is_an_error_saying_where_it_goes(
    tmp_path: Path,
) -> None:
    # It would never start (the tasks start when the file loads), and nothing said so.
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "dyn.py").write_text(textwrap.dedent(LATE))
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await serve.expect("serving on")
        async with (
            aiohttp.ClientSession() as client,
            client.ws_connect(f"http://127.0.0.1:{port}/api/ws/dyn") as ws,
        ):
            await ws.send_json({"match": "x"})
            frame = await ws.receive_json(timeout=10)
        line = await serve.expect("error in on_message of ws/dyn.py")
    finally:
        await serve.stop()
    said = (
        "background: the background tasks of Handler('/ws/dyn') have started (when its file "
        "loaded, or when ASGIApp took it), so loop would never run; declare it with "
        "@dyn.background at the top level of the file, above any ASGIApp(...). For a loop per "
        "room (a game's tick), one background task can serve every room that has members: "
        'docs/patterns.md, "A loop per room"; for one connection, asyncio.create_task from '
        'its callback ("A stream per connection")'
    )
    assert frame == {"type": "error", "message": said}
    assert line.rstrip().endswith(f"RuntimeError: {said}"), line


async def test_a_task_declared_below_the_asgi_app_in_a_running_loop_is_an_error() -> None:
    # uvicorn imports the app in its running loop, where ASGIApp([...]) starts the tasks at
    # once: a declaration below it would never run (it did not, without a word).
    late = Handler("/ws/late")
    app = ASGIApp([late])

    async def task(handler: Handler) -> None:
        pass

    with pytest.raises(RuntimeError, match=r"^background: the background tasks of Handler"):
        late.background(task)
    await app._registry.close(timeout=1)
