"""A client that sends many upgrades with Origins the server refuses (a script trying every
subdomain, a page on a loop) gets a 403 each, and the log a few warning lines, not one per
request: the first distinct refusals are named, the rest counted in one line per window while
they come and at the stop (as the Vite plugin and the backplane summarise theirs). A real
`wsside serve`, raw upgrades."""

from __future__ import annotations

import re
from pathlib import Path

from serve_process import ServeProcess, free_port
from support import raw_upgrade

ECHO = "from wsside import Handler\n\nHandler('/echo')\n"
NAMED = "allowed_origins"  # in each line naming one refused Origin
COUNTED = re.compile(r"refused (\d+) more upgrades? for their Origin in the last 5 s")


async def refuse(port: int, first: int, count: int) -> None:
    for n in range(first, first + count):
        head = await raw_upgrade(port, "/api/echo", f"Origin: https://evil{n}.example\r\n")
        assert head.startswith(b"HTTP/1.1 403 "), head


def tally(lines: list[str]) -> tuple[list[str], int]:
    """The warning lines about refused Origins, and how many refusals they account for."""
    about = [line for line in lines if NAMED in line or COUNTED.search(line)]
    counted = sum(int(m.group(1)) for line in about if (m := COUNTED.search(line)))
    return about, counted + sum(NAMED in line for line in about)


async def test_200_refused_origins_make_a_few_lines_that_count_them_all(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await serve.expect("serving on")
        await refuse(port, 0, 200)
        # The window's count line comes when the window ends, 5 s after the first refusal.
        await serve.expect("more upgrades for their Origin", timeout=15)
        await refuse(port, 200, 50)
    finally:
        assert await serve.stop() == 0  # the stop writes what the open window counted
    assert serve.proc.stderr is not None
    serve.lines += (await serve.proc.stderr.read()).decode().splitlines(keepends=True)
    about, accounted = tally(serve.lines)
    assert accounted == 250, "".join(about)
    assert len(about) <= 14, "".join(about)  # 5 named, a count, maybe 5 named again, a count
    named = [line for line in about if NAMED in line]
    assert "refused /api/echo: Origin 'https://evil0.example' is not a loopback" in named[0]
    # The access line of each request stays as it was.
    assert sum('"WebSocket /api/echo" 403' in line for line in serve.lines) == 250
