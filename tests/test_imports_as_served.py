"""`wsside doctor` and `wsside types` import the handler files as the server does: inside a
running event loop. A library that refuses to work inside one (Django's ORM raises
`SynchronousOnlyOperation` for a query at a file's top level) fails there as it does when
served, instead of doctor passing the file that Vite's terminal says did not load. Real
`wsside serve`, `wsside doctor` and `wsside types` processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from doctor_projects import CHAT_HANDLER, run_doctor, write
from serve_process import ServeProcess, free_port

# What Django's async-unsafe guard does, without Django: refuse when a loop is running.
GUARDED = """\
import asyncio

from wsside import Handler

try:
    asyncio.get_running_loop()
except RuntimeError:
    STAFF = {"ada"}  # the query at the top level, run where no loop runs
else:
    raise RuntimeError("You cannot call this from an async context - use a thread")

staff = Handler("/ws/staff")
"""
REFUSED = "RuntimeError: You cannot call this from an async context"


async def test_a_file_that_refuses_a_running_loop_fails_in_doctor_and_types_as_served(
    tmp_path: Path,
) -> None:
    write(tmp_path, {**CHAT_HANDLER, "ws/staff.py": GUARDED})
    serve = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        served = await serve.expect("cannot load ws/staff.py:")
    finally:
        await serve.stop()
    assert REFUSED in served, served

    code, report = run_doctor(tmp_path, "--no-live")
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert code == 1 and [c["name"] for c in failed] == ["handler ws/staff.py"], report
    assert REFUSED in failed[0]["message"], failed

    types = subprocess.run(
        [sys.executable, "-m", "wsside", "types"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert types.returncode == 1, types
    assert "ws/staff.py:" in types.stderr and REFUSED in types.stderr, types.stderr
