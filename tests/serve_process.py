"""`wsside serve` as a real subprocess on 127.0.0.1; tests wait on its stderr lines, never sleep."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, *args: str, cwd: Path, env: dict[str, str] | None = None) -> ServeProcess:
        """`wsside serve ARGS` in `cwd`, with `env` (this process's environment by default)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wsside",
            "serve",
            *args,
            cwd=cwd,
            stderr=asyncio.subprocess.PIPE,
            env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        )
        return cls(proc)

    async def expect(self, fragment: str, timeout: float = 15.0) -> str:
        """Read stderr until a line contains `fragment`; that line. `timeout` bounds the whole
        wait, however many other lines come meanwhile."""
        assert self.proc.stderr is not None
        return await read_until(
            self.proc.stderr,
            self.lines,
            lambda line: fragment in line,
            f"line containing {fragment!r}",
            timeout,
            "wsside serve",
        )

    async def expect_all(self, *fragments: str, timeout: float = 15.0) -> list[str]:
        """Read stderr until each of `fragments` has been in a line, in any order; the lines
        that held them, in the order read. One `timeout` for them all."""
        assert self.proc.stderr is not None
        waiting = set(fragments)
        found: list[str] = []

        def holds_the_last(line: str) -> bool:
            held = {fragment for fragment in waiting if fragment in line}
            if held:
                waiting.difference_update(held)
                found.append(line)
            return not waiting

        await read_until(
            self.proc.stderr,
            self.lines,
            holds_the_last,
            "line for each of " + ", ".join(repr(f) for f in fragments),
            timeout,
            "wsside serve",
        )
        return found

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
        return await self.proc.wait()


async def read_until(
    reader: asyncio.StreamReader,
    lines: list[str],
    matches: Callable[[str], bool],
    awaited: str,
    timeout: float,
    writer: str,
) -> str:
    """Read lines from `reader` (each kept in `lines`) until one `matches`; that line.

    `timeout` is a deadline for the whole wait, not for each line: a process that keeps
    writing other lines cannot hold a test past it. On the deadline or the end of the output,
    AssertionError naming `awaited` ("line containing ...", what the test waited for) and the
    last lines `writer` (whose output it is) wrote. A line cut short by the deadline stays in
    `reader`'s buffer.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            raw = await asyncio.wait_for(reader.readline(), max(deadline - loop.time(), 0))
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{writer} wrote no {awaited} within {timeout:g} s; {last_lines(lines)}"
            ) from None
        if not raw:
            raise AssertionError(f"{writer}'s output ended with no {awaited}; {last_lines(lines)}")
        line = raw.decode()
        lines.append(line)
        if matches(line):
            return line


def last_lines(lines: list[str], count: int = 30) -> str:
    """The end of `lines`, for a failure message."""
    if not lines:
        return "it wrote no line"
    shown = lines[-count:]
    of = f" of {len(lines)}" if len(lines) > count else ""
    return f"its last {len(shown)} lines{of}:\n" + "".join(shown)
