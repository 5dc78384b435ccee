"""ASGI servers (uvicorn, hypercorn) as real subprocesses on 127.0.0.1, serving an `app.py`
written into a temp folder; tests wait on their log lines, never sleep. Stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import ClassVar


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_files(folder: Path, files: dict[str, str]) -> None:
    for name, code in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code))


class Server:
    """One server process; `lines` is its stderr so far (read by a thread)."""

    # What each server prints once it accepts connections.
    READY: ClassVar[dict[str, str]] = {"uvicorn": "Uvicorn running on", "hypercorn": "Running on"}

    def __init__(
        self,
        folder: Path,
        kind: str,
        *args: str,
        prefix: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.prefix = prefix
        self.lines: list[str] = []
        self._changed = threading.Condition()
        if kind == "uvicorn":
            cmd = ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            cmd = ["-m", "hypercorn", "app:app", "--bind", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(
            [sys.executable, *cmd, *args],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,  # its workers too are stopped by this pid (`stop`)
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.wait_for(self.READY[kind])
        except BaseException:
            self.stop()  # never ready: the caller gets no Server to stop
            raise

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # the end: nothing more will come
            self._changed.notify_all()

    def wait_for(self, fragment: str, timeout: float = 30.0) -> str:
        """The first line of stderr containing `fragment` (fails if the server exits first)."""
        return self.wait_for_all(fragment, 1, timeout)[0]

    def wait_for_all(self, fragment: str, count: int, timeout: float = 30.0) -> list[str]:
        """The first `count` lines of stderr containing `fragment` (e.g. one per worker);
        fails if the server exits first."""

        def found() -> list[str] | None:
            lines = [line for line in self.lines if fragment in line][:count]
            if len(lines) == count:
                return lines
            return [] if self.lines and self.lines[-1] == "" else None

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"{count} x {fragment!r} not seen in {timeout} s:\n{self.log}")
            lines = found()
        assert lines, f"the server exited before {count} x {fragment!r}:\n{self.log}"
        return lines

    def wait_listening(self, timeout: float = 30.0) -> None:
        """Until the port accepts connections. `uvicorn --workers N` logs no line for it: its
        parent binds the socket and logs "running on", and each worker calls `listen()` just
        after its "Application startup complete"; a refused connect fails at once."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout).close()
                return
            except ConnectionRefusedError:
                assert self.proc.poll() is None, f"the server exited:\n{self.log}"
                assert time.monotonic() < deadline, f"not listening in {timeout} s:\n{self.log}"

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}{path}"

    def stop(self) -> int:
        """SIGTERM, then wait (SIGKILL after 15 s); the exit code. A worker left running
        once the server's own process has exited (hypercorn's on CPython 3.13.0, which does
        not finish a SIGTERM) is killed too, by the process group this pid leads: it would
        hold stderr open, and the test would wait on its reader for ever."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._reader.join(15)
        assert not self._reader.is_alive(), (
            f"stderr still open after the server exited:\n{self.log}"
        )
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


def assert_stopped(server: Server) -> None:
    """Stop `server` by pid and check it shut down gracefully (uvicorn re-raises SIGTERM
    once done, so its exit status is the signal's)."""
    code = server.stop()
    assert code in (0, -signal.SIGTERM), server.log
