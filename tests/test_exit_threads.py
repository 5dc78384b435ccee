"""A thread that a handler file starts and never stops (not a daemon: Python waits for it at
exit) does not keep a wsside command running: `wsside serve` exits on SIGTERM with its usual
status, each worker of `--workers 2` too, and `wsside types` / `wsside doctor` once their
output is written, each with a line naming the thread. Real processes; every wait is on a line
or on the exit, bounded."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from serve_process import ServeProcess, free_port

# The newcomer's training loop, started at the file's top level; and a daemon thread, which
# Python never waits for, so no line names it.
TRAINER = """\
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from wsside import Handler

train = Handler("/ws/train", receives=dict)


def loop():
    while True:
        time.sleep(0.1)


threading.Thread(target=loop, name="trainer").start()
threading.Thread(target=threading.Event().wait, name="helper", daemon=True).start()
# An executor's worker waiting for work (asgiref's sync_to_async leaves one, under Django):
# Python's exit stops it at once, so no line names it.
idle = ThreadPoolExecutor(1, thread_name_prefix="idle")
idle.submit(int).result()
"""

LEFT = 'exiting without waiting for the thread "trainer", which handler code started'


def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "trainer.py").write_text(TRAINER)
    return tmp_path


async def line_at_sigterm(cwd: Path) -> str:
    """`wsside serve` in `cwd`, stopped by SIGTERM: its line naming the threads it did not
    wait for, once it has exited with status 0."""
    serve = await ServeProcess.start("--port", str(free_port()), "--no-reload", cwd=cwd)
    try:
        await serve.expect("serving on")
        serve.proc.send_signal(signal.SIGTERM)
        await serve.expect("stopped in")
        line = await serve.expect("exiting without waiting")
        assert await asyncio.wait_for(serve.proc.wait(), 30) == 0
        return line
    finally:
        if serve.proc.returncode is None:
            serve.proc.kill()
            await serve.proc.wait()


async def test_serve_exits_on_sigterm_naming_the_thread_it_does_not_wait_for(
    tmp_path: Path,
) -> None:
    line = await line_at_sigterm(project(tmp_path))
    assert LEFT in line, line
    assert "helper" not in line  # a daemon thread: nothing waits for it anyway
    assert "idle" not in line  # an executor's idle worker: Python's exit stops it
    assert "@handler.background task's finally" in line


async def test_each_worker_exits_and_the_parent_with_status_0(tmp_path: Path) -> None:
    serve = await ServeProcess.start(
        "--port",
        str(free_port()),
        "--no-reload",
        "--workers",
        "2",
        "--shutdown-timeout",
        "5",
        cwd=project(tmp_path),
    )
    try:
        await serve.expect("serving on")
        serve.proc.send_signal(signal.SIGTERM)
        lines = await serve.expect_all(
            f"wsside[0]: {LEFT}", f"wsside[1]: {LEFT}", "every worker stopped in"
        )
        # Stopped as told, not killed at the deadline: the parent says no worker was late.
        assert "every worker stopped in" in lines[-1], lines
        assert await asyncio.wait_for(serve.proc.wait(), 30) == 0
        assert not any("did not stop within" in line for line in serve.lines), serve.lines
    finally:
        if serve.proc.returncode is None:
            serve.proc.kill()
            await serve.proc.wait()


def wsside(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsside", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,  # a process that waits for the thread fails the test here
    )


def test_types_writes_its_output_and_exits_0(tmp_path: Path) -> None:
    done = wsside("types", "--handlers", "ws", cwd=project(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "'/ws/train': { receives: WsTrain.Receives" in done.stdout, done.stdout
    assert done.stderr.strip().splitlines() == [
        'wsside types: not waiting for the thread "trainer", which importing the handler '
        "files started"
    ]


def test_types_without_threads_left_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "trainer.py").write_text(
        TRAINER.replace('name="trainer")', 'name="trainer", daemon=True)')
    )
    done = wsside("types", "--handlers", "ws", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'/ws/train': { receives: WsTrain.Receives" in done.stdout, done.stdout
    assert done.stderr == ""


def test_doctor_prints_its_table_and_exits_with_its_status(tmp_path: Path) -> None:
    done = wsside("doctor", "--no-live", cwd=project(tmp_path))
    summary = re.search(r"\d+ passed, \d+ warning\(s\), (\d+) failed", done.stdout)
    assert summary, done.stdout
    # Its status as its table says: 1 when a check failed, else 0.
    assert done.returncode == (1 if int(summary.group(1)) else 0), done.stdout
    assert (
        'wsside doctor: not waiting for the thread "trainer", which importing the handler '
        "files started"
    ) in done.stderr.splitlines()


# A background task that runs a blocking loop with no way to stop it in asyncio's executor:
# asyncio itself would wait for that thread at the end of the loop, for good (Python 3.11).
TO_THREAD = """\
import asyncio
import json
import time

from wsside import Handler

train = Handler("/ws/train")


def forever():
    while True:
        time.sleep(0.1)


@train.background
async def run(handler):
    await asyncio.to_thread(forever)
"""


async def test_serve_does_not_wait_for_a_to_thread_that_never_returns(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "train.py").write_text(TO_THREAD)
    line = await line_at_sigterm(tmp_path)
    assert 'the thread "asyncio_0" (asyncio.to_thread\'s), which handler code' in line


def test_doctors_import_probe_answers_and_exits_past_the_thread(tmp_path: Path) -> None:
    # What `wsside doctor` runs in the sidecar's Python when that is another interpreter: its
    # answer would come, then the process would wait for the trainer, and doctor time out.
    root = project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "wsside.doctor.imports", str(root / "ws"), "10"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    answer = json.loads(done.stdout)
    assert [(r["patterns"], r["error"]) for r in answer["results"]] == [(["/ws/train"], None)]
    assert 'not waiting for the thread "trainer"' in done.stderr
