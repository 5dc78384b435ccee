"""Slow code at a handler file's top level (loading a model, a heavy library) blocks the event
loop while the file is imported, at each reload: the stall warning says that the import is
what holds every connection, and how to start the slow part later or off the loop. It does
not tell to move the line into an async def, which would never run it at import.

`wsside serve` as a process, with reload on; waits are on its lines, bounded.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from serve_process import ServeProcess, free_port

ECHO = "from wsside import Handler\n\nHandler('/ws/{name}', on_message=lambda c, d: c.send(d))\n"
ADVICE = (
    "holds every connection until its top level has run: do slow set-up (a model, a heavy "
    "library) lazily, on first use, or in a @h.background task (blocking work through "
    "asyncio.to_thread), or accept the wait in development (or save the handler file to "
    "interrupt it at its next line of Python)"
)


async def test_a_slow_import_is_named_as_an_import_that_blocks(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "echo.py").write_text(ECHO.format(name="echo"))
    port = free_port()
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(port), cwd=tmp_path)
    try:
        await serve.expect("serving on")
        async with aiohttp.ClientSession() as session:
            echo = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo")

            # The top level sleeps: its line.
            (ws / "clock.py").write_text("import time\ntime.sleep(1)\n" + ECHO.format(name="clock"))
            line = await serve.expect("the event loop is blocked")
            assert line.rstrip().endswith(
                "wsside: the event loop is blocked (over 0.5 s) in <module> (ws/clock.py:2); "
                f"importing ws/clock.py {ADVICE}"
            ), line
            await serve.expect("added ws/clock.py")
            stall = await serve.expect("the event loop was blocked for")
            assert "in <module> (ws/clock.py:2)" in stall, stall
            await echo.send_str("after")  # the other connections resume
            assert await echo.receive_str(timeout=5) == "after"

            # A function its top level calls (a model's loader): the import is named, at the
            # line that waits.
            (ws / "model.py").write_text(
                "import time\n\n\ndef load():\n    time.sleep(1)\n    return 1\n\n\n"
                "MODEL = load()\n" + ECHO.format(name="model")
            )
            line = await serve.expect("the event loop is blocked")
            assert line.rstrip().endswith(
                "wsside: the event loop is blocked (over 0.5 s) in load (ws/model.py:5); "
                f"importing ws/model.py {ADVICE}"
            ), line
            await serve.expect("added ws/model.py")
        assert not [x for x in serve.lines if "async def" in x], "".join(serve.lines)
    finally:
        assert await serve.stop() == 0
