"""`wsside serve` as a real subprocess on 127.0.0.1; tests wait on its stderr lines, never sleep."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
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
    async def start(cls, *args: str, cwd: Path) -> ServeProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wsside",
            "serve",
            *args,
            cwd=cwd,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return cls(proc)

    async def expect(self, fragment: str, timeout: float = 15.0) -> str:
        """Read stderr until a line contains `fragment`; that line."""
        assert self.proc.stderr is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stderr.readline(), timeout)
            assert raw, f"wsside serve exited before {fragment!r}:\n" + "".join(self.lines)
            line = raw.decode()
            self.lines.append(line)
            if fragment in line:
                return line

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
        return await self.proc.wait()
