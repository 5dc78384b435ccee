"""Handlers that block the event loop, raise, or hang: the stall is detected and reported at
the blocking line, and no other connection is taken down."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from serve_process import ServeProcess, free_port

from .harness import SidecarProcess
from .rawws import Stream

BLOCKING = """
import asyncio
import time

from wsside import Handler

block = Handler("/ws/block", transform_raw_data=lambda raw: raw)

@block.on_message
def sleepy(conn, data):
    time.sleep(float(data))  # BLOCKS
    conn.send("woke")

echo = Handler("/ws/echo", transform_raw_data=lambda raw: raw, on_message=lambda c, d: c.send(d))
"""
BLOCK_LINE = BLOCKING.splitlines().index("    time.sleep(float(data))  # BLOCKS") + 1


async def test_a_blocked_loop_is_reported_at_the_handler_line_and_others_resume(serve) -> None:
    s = await serve(BLOCKING)
    other = await s.connect("/api/ws/echo")
    await other.send_str("before")
    assert await other.receive_str() == "before"
    blocker = await s.connect("/api/ws/block")
    await blocker.send_str("1.2")
    assert await blocker.receive_str(timeout=10) == "woke"
    await other.send_str("after")
    assert await other.receive_str() == "after"  # the other connection resumed
    stalls = [e for e in s.events if e["type"] == "stall"]
    assert len(stalls) == 1, stalls
    stall = stalls[0]
    assert Path(stall["file"]).name == "h0.py" and stall["line"] == BLOCK_LINE
    assert stall["function"] == "sleepy"
    assert 1.1 <= stall["seconds"] < 2.5
    assert "time.sleep(float(data))" in stall["traceback"]
    assert f"h0.py:{BLOCK_LINE}" in stall["message"]


# Callbacks of "/ws/block" that block for `float(data)` seconds, then send "woke".
ASYNC_SLEEP = """
import time

from wsside import Handler

block = Handler("/ws/block", transform_raw_data=lambda raw: raw)

@block.on_message
async def napping(conn, data):
    time.sleep(float(data))
    await conn.send("woke")
"""
HELPER_SLEEP = """
import time

from wsside import Handler

block = Handler("/ws/block", transform_raw_data=lambda raw: raw)

def wait(seconds):
    time.sleep(seconds)

@block.on_message
async def napping(conn, data):
    wait(float(data))
    await conn.send("woke")
"""
BUSY = """
import time

from wsside import Handler

block = Handler("/ws/block", transform_raw_data=lambda raw: raw)

@block.on_message
def spin(conn, data):
    end = time.monotonic() + float(data)
    while time.monotonic() < end:
        pass
    conn.send("woke")
"""
LAMBDA = """
import time

from wsside import Handler

Handler(
    "/ws/block",
    transform_raw_data=lambda raw: raw,
    on_message=lambda conn, data: (time.sleep(float(data)), conn.send("woke")),
)
"""
COMPREHENSION = """
import time

from wsside import Handler

block = Handler("/ws/block", transform_raw_data=lambda raw: raw)

@block.on_message
async def napping(conn, data):
    [time.sleep(float(data)) for _ in range(1)]
    await conn.send("woke")
"""
ELSEWHERE = (
    "await an async version of what blocks, or run it (blocking calls, long computations) in "
    "a thread: await asyncio.to_thread(function, *args)"
)


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (
            BLOCKING,
            "time.sleep() blocks the loop: make sleepy async def, then await "
            "asyncio.sleep(seconds)",
        ),
        (ASYNC_SLEEP, "time.sleep() blocks the loop: await asyncio.sleep(seconds) instead"),
        (
            HELPER_SLEEP,
            "time.sleep() blocks the loop: make wait async def (and await it where "
            "it is called), then await asyncio.sleep(seconds)",
        ),
        (BUSY, "make spin async def, then " + ELSEWHERE),
        (
            LAMBDA,
            "time.sleep() blocks the loop: make the lambda an async def, then await "
            "asyncio.sleep(seconds)",
        ),
        (COMPREHENSION, "time.sleep() blocks the loop: await asyncio.sleep(seconds) instead"),
    ],
    ids=["plain-def", "async-def", "plain-helper", "plain-def-busy", "lambda", "comprehension"],
)
async def test_a_stall_s_advice_fits_what_blocks(serve, code: str, advice: str) -> None:
    """time.sleep gets asyncio.sleep, not "use await" (`await time.sleep(1)` raises); in a
    plain def, `await` is a SyntaxError: the advice says to make that function async first."""
    s = await serve(code)
    blocker = await s.connect("/api/ws/block")
    await blocker.send_str("0.8")
    assert await blocker.receive_str(timeout=10) == "woke"
    # The handler file's (a loaded host can stall the loop elsewhere too: the test's own code)
    [stall] = [e for e in s.events if e["type"] == "stall" and e["file"].endswith("h0.py")]
    assert stall["advice"] == advice


def test_time_inside_wsside_s_own_code_is_not_blamed_on_a_blocking_call(tmp_path: Path) -> None:
    """A sample whose innermost frame is wsside's (a broadcast to thousands, a huge message
    compressed) names that function, called from the handler's line or run by the loop."""
    from wsside._runtime.events import PACKAGE
    from wsside._runtime.stall import StallWatchdog

    handlers = tmp_path / "ws"
    handlers.mkdir()
    package: dict[str, Any] = {}  # functions of a file in wsside's folder
    exec(
        compile(
            "def broadcast(then):\n    return _deliver(then)\n\n"
            "def _deliver(then):\n    return then()\n\n"
            "def write_frame(then):\n    return then()\n",
            PACKAGE + "connection.py",
            "exec",
        ),
        package,
    )
    handler_file = handlers / "chat.py"
    handler_file.write_text("def joined(broadcast, then):\n    return broadcast(then)\n")
    handler: dict[str, Any] = {}
    exec(compile(handler_file.read_text(), str(handler_file), "exec"), handler)
    inside = {
        "called": handler["joined"](package["broadcast"], lambda: sys._getframe(1)),
        "loop": package["write_frame"](lambda: sys._getframe(1)),
    }
    dog = StallWatchdog(handlers)
    assert dog._advice(inside["called"], str(handler_file), 2).startswith(
        "the time went into wsside's broadcast() called there: many calls in a loop, or one "
        "with much work"
    )
    assert dog._advice(inside["loop"], PACKAGE + "connection.py", 2).startswith(
        "the time went into wsside's write_frame(): "
    )


def test_top_level_code_that_blocks_is_told_that_its_import_blocks(tmp_path: Path) -> None:
    """A handler file's top level runs as the file loads (a reload runs on the loop), where
    neither `await` nor `async def` of it can be: the import is what blocks."""
    from wsside._runtime.stall import StallWatchdog

    handlers = tmp_path / "ws"
    handlers.mkdir()
    handler_file = handlers / "slow.py"
    handler_file.write_text("import sys\nimport time\nframe = sys._getframe(); time.sleep(0)\n")
    module: dict[str, Any] = {}
    exec(compile(handler_file.read_text(), str(handler_file), "exec"), module)
    assert StallWatchdog(handlers)._advice(module["frame"], str(handler_file), 3) == (
        f"importing {handler_file} holds every connection until its top level has run: do "
        "slow set-up (a model, a heavy library) lazily, on first use, or in a @h.background "
        "task (blocking work through asyncio.to_thread), or accept the wait in development"
    )


async def test_short_pauses_are_not_stalls(serve) -> None:
    s = await serve(BLOCKING)
    ws = await s.connect("/api/ws/block")
    for _ in range(3):
        await ws.send_str("0.2")
        assert await ws.receive_str() == "woke"
    assert not [e for e in s.events if e["type"] == "stall"]


def test_the_sidecar_process_logs_a_stall_while_it_lasts(tmp_path: Path) -> None:
    """A loop blocked for good never gets to emit an event: the watchdog thread's warning
    is what the terminal shows, while the block is still going on."""
    (tmp_path / "h.py").write_text(BLOCKING)
    proc = SidecarProcess(tmp_path)
    try:

        async def go() -> None:
            blocker = await Stream.open(proc.port, "/api/ws/block")
            blocker.send_text("1.5")
            assert await blocker.recv_text(10) == "woke"
            other = await Stream.open(proc.port, "/api/ws/echo")
            other.send_text("x")
            assert await other.recv_text() == "x"
            await other.close()
            await blocker.close()

        asyncio.run(go())
        # The warning is printed during the block; the reader thread may take it in after.
        line = proc.wait_for("event loop is blocked")
        assert re.search(rf"event loop is blocked .* in sleepy \(.*h\.py:{BLOCK_LINE}\)", line), (
            "".join(proc.output)
        )
    finally:
        proc.stop()


def test_a_stopped_process_is_no_stall(tmp_path: Path) -> None:
    """SIGSTOP (a debugger, a paused terminal job) holds the loop as long as any blocking
    callback, but no code of the user's does: no warning blames the loop's own frames. A real
    block after it is still reported, once."""
    (tmp_path / "h.py").write_text(BLOCKING)
    proc = SidecarProcess(tmp_path)
    try:

        async def go() -> None:
            other = await Stream.open(proc.port, "/api/ws/echo")
            proc.proc.send_signal(signal.SIGSTOP)
            try:
                # Work waiting for it when it resumes: the watchdog looks while it is done.
                for n in range(3000):
                    other.send_text(str(n))
                time.sleep(1.0)  # the pause itself, twice the stall threshold
            finally:
                proc.proc.send_signal(signal.SIGCONT)
            for n in range(3000):
                assert await other.recv_text() == str(n)
            blocker = await Stream.open(proc.port, "/api/ws/block")
            blocker.send_text("0.8")
            assert await blocker.recv_text(10) == "woke"
            await blocker.close()
            await other.close()

        asyncio.run(go())
        proc.wait_for("in sleepy")  # the reader thread's, once it has taken the line in
        blocked = [line for line in proc.output if "event loop is blocked" in line]
        assert len(blocked) == 1 and "in sleepy" in blocked[0], blocked
    finally:
        proc.stop()


FAULTY = """
import asyncio

import probe
from wsside import Handler

boom = Handler("/ws/boom", transform_raw_data=lambda raw: raw)

@boom.on_message
def explode(conn, data):
    raise RuntimeError(f"handler failed on {data}")

bad_connect = Handler("/ws/bad-connect", on_connect=lambda c, r: 1 / 0)

hang = Handler("/ws/hang", transform_raw_data=lambda raw: raw)

@hang.on_message
async def forever(conn, data):
    probe.record("hung", conn.id)
    await probe.release  # a future the test resolves at the very end

@hang.on_close
def closed(conn, code, reason, by_client):
    probe.record("closed", conn.id, code)

echo = Handler("/ws/echo", transform_raw_data=lambda raw: raw, on_message=lambda c, d: c.send(d))
"""


async def test_raising_handlers_never_take_down_other_connections(serve) -> None:
    s = await serve(FAULTY)
    other = await s.connect("/api/ws/echo")
    boom = await s.connect("/api/ws/boom")
    for i in range(3):
        await boom.send_str(str(i))
        assert await boom.receive_json() == {"type": "error", "message": f"handler failed on {i}"}
    bad = await s.connect("/api/ws/bad-connect")
    assert (await bad.receive_json())["type"] == "error"
    msg = await bad.receive()
    assert (msg.data, msg.extra) == (1011, "Internal error")
    await other.send_str("still here")
    assert await other.receive_str() == "still here"
    assert not boom.closed
    errors = [e for e in s.events if e["type"] == "runtime_error"]
    assert [e["callback"] for e in errors] == ["on_message"] * 3 + ["on_connect"]


async def test_a_hanging_handler_never_takes_down_other_connections(serve, probe) -> None:
    probe.release = asyncio.get_running_loop().create_future()
    s = await serve(FAULTY)
    other = await s.connect("/api/ws/echo")
    hung = await s.connect("/api/ws/hang", autoping=False)
    await hung.send_str("a")
    await hung.send_str("b")  # queued behind the hung callback
    await probe.wait("hung")
    # its frames are still read: pings are answered and the closing handshake completes
    await hung.ping(b"alive")
    pong = await hung.receive(timeout=5)
    assert pong.data == b"alive"
    for i in range(20):
        await other.send_str(str(i))
        assert await other.receive_str() == str(i)
    await hung.close()
    assert hung.close_code == 1000
    await other.send_str("after")
    assert await other.receive_str() == "after"
    # on_close is ordered after the callbacks: it runs once the hung one returns
    assert not probe.all("closed")
    probe.release.set_result(None)
    closed = await probe.wait("closed")
    assert len(closed) == 1 and len(probe.all("hung")) == 2


SPIN = """
from wsside import Handler

spin = Handler("/ws/spin", transform_raw_data=lambda raw: raw)

@spin.on_message
def turn(conn, data):
    while data == "spin":
        pass  # SPINS
    conn.send("{version}:" + data)
"""


async def test_saving_a_handler_file_interrupts_a_callback_that_never_returns(
    tmp_path: Path,
) -> None:
    """The reload a save asks for waits for the event loop, which a `while True:` holds for
    good: the save interrupts the callback where it spins (HandlerInterrupted, the error frame
    for its client), and the new code loads. Every socket stays open."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "spin.py").write_text(SPIN.format(version="v1"))
    serve = await ServeProcess.start("--handlers", "ws", "--port", str(free_port()), cwd=tmp_path)
    try:
        port = int((await serve.expect("serving on")).split(":")[2].split("/")[0])
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/spin")
            await ws.send_str("a")
            assert await ws.receive_str(timeout=5) == "v1:a"
            await ws.send_str("spin")
            line = await serve.expect("event loop is blocked")
            assert "in turn (" in line and "save the handler file to interrupt it" in line, line
            # One line more at the top: each line of the old code is one line lower now.
            (handlers / "spin.py").write_text("# v2\n" + SPIN.format(version="v2"))
            line = await serve.expect("was saved while turn (")
            assert "ws/spin.py:" in line and "interrupting it (HandlerInterrupted)" in line, line
            frame = await ws.receive_json(timeout=10)
            assert frame["type"] == "error", frame
            assert re.fullmatch(
                r"interrupted: it had blocked the event loop for \d+\.\d s when spin\.py was "
                r"saved",
                frame["message"],
            ), frame
            await serve.expect("reloaded ws/spin.py")
            await ws.send_str("b")
            assert await ws.receive_str(timeout=5) == "v2:b"  # the same socket, the new code
            await ws.close()
        # the traceback, at the user's line, quoting the code that ran, not the file saved
        output = "".join(serve.lines)
        assert "wsside.HandlerInterrupted: " in output
        at = re.search(r'File "[^"]*spin\.py", line (\d+), in turn\n +(.*)\n', output)
        assert at, output
        assert at.group(2) == SPIN.splitlines()[int(at.group(1)) - 1].strip(), output
    finally:
        assert await serve.stop() == 0
