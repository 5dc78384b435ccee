"""`wsside serve`'s lines in systemd's journal: each line starts with its syslog priority when
stderr is the stream `JOURNAL_STREAM` names (journald's socket: here a socket pair), and with
nothing otherwise."""

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from serve_process import free_port, read_until

HANDLER = (
    "import logging\n"
    "from wsside import Handler\n"
    "boom = Handler('/ws/boom')\n"
    "@boom.on_connect\n"
    "def hello(conn):\n"
    "    logging.getLogger('app').warning('disk almost full')\n"
    "@boom.on_message\n"
    "def fail(conn, data):\n"
    "    raise ValueError('no such room')\n"
)


class Stream:
    """One end of a socket pair as a service's stderr; the test reads the other end."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair()
        stat = os.fstat(self.theirs.fileno())
        self.id = f"{stat.st_dev}:{stat.st_ino}"
        self.lines: list[str] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None  # kept: its end closes the socket

    async def expect(self, pattern: str, timeout: float = 20.0) -> str:
        """Read lines until one matches `pattern` (a regular expression); that line.
        `timeout` bounds the whole wait, not each line."""
        if self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(sock=self.ours)
        return await read_until(
            self._reader,
            self.lines,
            lambda line: re.search(pattern, line) is not None,
            f"line matching {pattern!r}",
            timeout,
            "the service",
        )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.ours.close()


async def serve(
    tmp_path: Path, stream: Stream, journal: str, *args: str
) -> tuple[asyncio.subprocess.Process, int]:
    handlers = tmp_path / "ws"
    handlers.mkdir(exist_ok=True)
    (handlers / "boom.py").write_text(HANDLER)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "JOURNAL_STREAM": journal}
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "wsside", "serve", "--handlers", str(handlers)),
        *("--port", str(port), "--no-reload", *args),
        stderr=stream.theirs.fileno(),
        env=env,
    )
    stream.theirs.close()
    return proc, port


async def error_and_warning(port: int, stream: Stream) -> None:
    """A connection (its access line, the handler's warning), then a message its handler
    fails on (the error's headline and traceback)."""
    async with aiohttp.ClientSession() as client:
        ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/boom")
        await ws.send_str("hi")
        await stream.expect(
            r"^(<\d>)?(wsside\[\d\]: )?ValueError: no such room$"
        )  # the traceback's end
        await ws.close()


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


async def test_in_the_journal_every_line_carries_its_priority(tmp_path: Path) -> None:
    stream = Stream()
    proc, port = await serve(tmp_path, stream, stream.id)
    try:
        await stream.expect("serving on")
        await error_and_warning(port, stream)
        await stop(proc)
        text = "".join(stream.lines)
        assert re.search(r"^<4>\d\d:\d\d:\d\d disk almost full$", text, re.M), text
        assert re.search(
            r'^<6>\d\d:\d\d:\d\d 127\.0\.0\.1:\d+ - "WebSocket /api/ws/boom" 101$', text, re.M
        ), text
        headline = re.search(
            r"^<3>\d\d:\d\d:\d\d wsside: error in on_message of .*boom\.py:9 "
            r'\(127\.0\.0\.1:\d+ - "WebSocket /api/ws/boom"\): ValueError: no such room$',
            text,
            re.M,
        )
        assert headline, text
        # the traceback's lines are filed with their headline, not at the stream's default
        traceback = text[headline.end() :].split("ValueError: no such room\n", 1)[0]
        assert "Traceback" in traceback and 'boom.py", line 9' in traceback, text
        assert all(line.startswith("<3>") for line in traceback.strip("\n").split("\n")), traceback
    finally:
        await stop(proc)
        stream.close()


async def test_under_workers_each_process_marks_its_own_lines(tmp_path: Path) -> None:
    stream = Stream()
    proc, port = await serve(tmp_path, stream, stream.id, "--workers", "2")
    try:
        line = await stream.expect(r"serving on .* with 2 workers \(pids (\d+), (\d+);")
        pids = [int(p) for p in re.search(r"pids (\d+), (\d+)", line).groups()]  # type: ignore[union-attr]
        await error_and_warning(port, stream)
        os.kill(pids[0], signal.SIGKILL)
        died = await stream.expect(rf"worker \d \(pid {pids[0]}\) was killed by SIGKILL")
        assert died.startswith("<4>") and "wsside: worker" in died, died
        await stream.expect(r"worker \d restarted")
        text = "".join(stream.lines)
        assert re.search(r"^<4>\d\d:\d\d:\d\d wsside\[\d\]: disk almost full$", text, re.M), text
        assert re.search(r"^<3>\d\d:\d\d:\d\d wsside\[\d\]: error in on_message of ", text, re.M), (
            text
        )
        assert re.search(r"^<3>wsside\[\d\]: Traceback", text, re.M), text
    finally:
        await stop(proc)
        stream.close()


async def test_a_stderr_that_is_not_the_journal_gets_plain_lines(tmp_path: Path) -> None:
    # JOURNAL_STREAM is inherited by whatever a service starts, stderr redirected or not:
    # only a stderr that is the stream it names is the journal.
    stream = Stream()
    elsewhere = tmp_path.stat()
    proc, port = await serve(tmp_path, stream, f"{elsewhere.st_dev}:{elsewhere.st_ino}")
    try:
        await stream.expect("serving on")
        await error_and_warning(port, stream)
        await stop(proc)
        text = "".join(stream.lines)
        assert "disk almost full" in text and "Traceback" in text, text
        assert not re.search(r"^<\d>", text, re.M), text
    finally:
        await stop(proc)
        stream.close()


async def test_what_a_client_sent_cannot_act_on_the_terminal_or_forge_a_line(
    tmp_path: Path,
) -> None:
    """An exception's message may carry a client's text: its escape sequences are written
    out (`\\x1b`), and its own lines are indented under the error's first line."""
    from serve_process import ServeProcess

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(
        "from wsside import Handler\n"
        "h = Handler('/ws/echo')\n"
        "@h.on_message\n"
        "def fail(conn, data):\n"
        "    raise ValueError(f'unknown command {data}')\n"
    )
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await serve.expect("serving on")
        url = f"http://127.0.0.1:{port}/api/ws/echo"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_str("\x1b[2J\x1b]0;owned\x07\n09:00:00 wsside: all is well")
            assert (await ws.receive_json(timeout=10))["type"] == "error"
        first = await serve.expect("error in on_message")
        assert first.rstrip("\n").endswith(
            "ValueError: unknown command \\x1b[2J\\x1b]0;owned\\x07"
        ), first
        await serve.expect("  09:00:00 wsside: all is well")
        assert not [line for line in serve.lines if "\x1b" in line or "\x07" in line]
        assert not [line for line in serve.lines if line.startswith("09:00:00 wsside: all")]
    finally:
        await serve.stop()
