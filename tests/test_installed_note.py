"""`pip install -U wsside` while `wsside serve` (or Vite's sidecar) runs: the process keeps the
wsside it imported, and the next save says so once. The other install is a distribution's
metadata placed first on the path (as a new install's would be found), with the running code
unchanged; a real `wsside serve` with hot reload."""

from __future__ import annotations

import os
from pathlib import Path

from serve_process import ServeProcess, free_port
from wsside import __version__

HANDLER = "from wsside import Handler\n\nchat = Handler('/ws/chat')\n"


async def test_a_save_after_another_wsside_is_installed_says_to_restart(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    handler = tmp_path / "ws" / "chat.py"
    handler.write_text(HANDLER)
    newer = tmp_path / "newer" / "wsside-9.9.9.dist-info"
    newer.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(newer.parent)}
    serve = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path, env=env)
    try:
        await serve.expect("serving on")
        # Installed while it serves (before that the metadata said this version).
        (newer / "METADATA").write_text("Metadata-Version: 2.1\nName: wsside\nVersion: 9.9.9\n")
        handler.write_text(HANDLER + "# saved\n")
        line = await serve.expect("is installed now")
        await serve.expect("reloaded ws/chat.py")
        handler.write_text(HANDLER + "# saved again\n")
        await serve.expect("reloaded ws/chat.py")  # the second save: said once only
    finally:
        await serve.stop()
    pid = serve.proc.pid
    assert line.rstrip().endswith(
        f"wsside 9.9.9 is installed now, and this process (pid {pid}) runs wsside {__version__}, "
        "which it keeps until it starts again: restart it (under Vite: restart Vite, or stop "
        f"the sidecar with kill {pid}, which Vite starts again)"
    ), line
    assert sum("is installed now" in line for line in serve.lines) == 1
