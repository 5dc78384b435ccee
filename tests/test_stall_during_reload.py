"""A reload holds the event loop while wsside reads and imports the changed files (a `git
checkout` of ten handler files, on a loaded machine): that is wsside's own work, not handler
code that blocks, so the stall watchdog warns of nothing (one debug line per batch). Handler
code that blocks during the load (a file's top level) is still named, even when wsside's part
of the same load was long enough to be sampled first."""

from __future__ import annotations

import time
from pathlib import Path

from serve_process import ServeProcess, free_port, read_until

BLOCKED = "the event loop is blocked"
OWN = "has held the event loop for over 0.5 s"


def slow_to_compile(seconds: float) -> str:
    """A tuple of ints that takes about `seconds` or more to compile here (compiling grows
    with its length): the loader compiles each handler file at each load, holding the loop
    without any handler code on the stack; executing it is instant (one constant)."""
    count = 100_000
    started = time.perf_counter()
    compile("X = (" + ",".join(map(str, range(count))) + ",)\n", "calibration", "exec")
    count = int(count * 1.2 * seconds / (time.perf_counter() - started))
    return "X = (" + ",".join(map(str, range(count))) + ",)\n"


def said(lines: list[str], *fragments: str) -> bool:
    return any(fragment in line for line in lines for fragment in fragments)


ECHO = "from wsside import Handler\n\nHandler('/ws/{name}', on_message=lambda c, d: c.send(d))\n"


async def test_a_reload_that_holds_the_loop_is_no_stall_of_the_users_code(
    tmp_path: Path,
) -> None:
    big = slow_to_compile(1.0)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "chat.py").write_text(ECHO.format(name="chat"))
    serve = await ServeProcess.start(
        "--handlers", "ws", "--port", str(free_port()), "--log-level", "debug", cwd=tmp_path
    )
    try:
        await serve.expect("serving on")

        # Only wsside's work (compiling the file): no warning, one debug line.
        (ws / "big.py").write_text(big + ECHO.format(name="big"))
        # The watchdog's line and the load's line come in either order.
        assert serve.proc.stderr is not None
        await read_until(
            serve.proc.stderr,
            serve.lines,
            lambda _: said(serve.lines, "added ws/big.py") and said(serve.lines, OWN, BLOCKED),
            "line of the load and one about the stall",
            60,
            "wsside serve",
        )
        line = next(x for x in serve.lines if OWN in x or BLOCKED in x)
        assert "wsside: reloading ws/big.py has held the event loop" in line, line
        assert line.rstrip().endswith("wsside's own work, not handler code"), line
        assert not [x for x in serve.lines if BLOCKED in x], "".join(serve.lines)
        assert len([x for x in serve.lines if OWN in x]) == 1, "".join(serve.lines)

        # wsside's work first, then the file's top level sleeps: that line is named, once.
        seen = len(serve.lines)
        (ws / "sleepy.py").write_text(
            big + "import time\ntime.sleep(1.5)  # TOP\n" + ECHO.format(name="sleepy")
        )
        line = await serve.expect(BLOCKED, timeout=60)
        assert "in <module> (ws/sleepy.py:3); importing ws/sleepy.py holds every" in line, line
        await serve.expect("added ws/sleepy.py", timeout=60)
        await serve.expect("the event loop was blocked for")  # the stall event, on resume
        blocked = [x for x in serve.lines[seen:] if BLOCKED in x]
        assert len(blocked) == 1, "".join(serve.lines[seen:])
        # A new batch: its own part may be said again, once (when the watchdog ran during it).
        own = [x for x in serve.lines[seen:] if OWN in x]
        assert len(own) <= 1, "".join(serve.lines[seen:])
    finally:
        assert await serve.stop() == 0
