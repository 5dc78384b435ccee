"""Under uvicorn, as under `wsside serve`: upgrades refused for their Origin are named in
the log five times, then counted, and the lifespan shutdown writes the count of the window
still open (a stop within 5 s of the last refusal would otherwise lose it). Real uvicorn,
raw upgrades."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from asgi_server import Server, write_files
from support import raw_upgrade

APP = """
    from wsside import ASGIApp

    app = ASGIApp("ws")
"""


async def test_the_count_of_refused_origins_is_written_at_the_lifespan_shutdown(
    tmp_path: Path,
) -> None:
    write_files(
        tmp_path, {"app.py": APP, "ws/echo.py": "from wsside import Handler\n\nHandler('/echo')\n"}
    )
    server = Server(tmp_path, "uvicorn")
    try:
        for n in range(7):
            head = await raw_upgrade(server.port, "/echo", f"Origin: https://evil{n}.example\r\n")
            assert head.startswith(b"HTTP/1.1 403 "), head
        server.wait_for("'https://evil4.example'")  # the fifth, the last one named
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            pass  # stop() below kills it, and the assertion says what was missing
    finally:
        server.stop()
    named = [line for line in server.lines if "is not a loopback origin nor in" in line]
    assert len(named) == 5, server.log
    assert any("refused 2 more upgrades for their Origin" in line for line in server.lines), (
        server.log
    )
