"""How the process of a `wsside` command that imports handler files (`serve`, Vite's sidecar,
the workers of `--workers N`, `types`, `doctor`) ends: once its own work is done, whatever
threads the handler code left running; and, while it serves, without a write to a stdout or
stderr whose reader has gone raising into the handler code that wrote.

Python waits at exit for every thread that is not a daemon, and a thread is none unless made
one: a handler file that starts `threading.Thread(target=train).start()` at its top level would
keep `wsside types` running after its output and `wsside serve` after its stop, for good.
`end_now` ends the process at once instead, after doing what Python would still have done for
wsside at exit: the log handlers and stdout/stderr flushed (wsside registers no atexit
function of its own). It is for the command line only: under an ASGI server (`ASGIApp`) the
process is the server's, and `wsside.testing` runs in the test's.
"""

from __future__ import annotations

import concurrent.futures.thread
import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["drop_output_to_gone_readers", "end_now", "threads_left"]


def threads_left() -> list[threading.Thread]:
    """The threads that Python would wait for at exit: alive, not daemons, not the main one,
    and not an idle worker of a `ThreadPoolExecutor`, which Python's exit stops at once (as
    asgiref's `sync_to_async` leaves one, under Django: no handler code of the user's)."""
    main = threading.main_thread()
    frames = sys._current_frames()
    return [
        t
        for t in threading.enumerate()
        if t is not main and not t.daemon and t.is_alive() and not _idle_pool_worker(t, frames)
    ]


def _idle_pool_worker(thread: threading.Thread, frames: dict[int, FrameType]) -> bool:
    """Whether `thread` is a `ThreadPoolExecutor` worker waiting for work: its innermost
    Python frame is the worker loop itself, blocked on the queue (one running a task has the
    task's frames below it)."""
    frame = frames.get(thread.ident or -1)
    return (
        frame is not None
        and frame.f_code.co_name == "_worker"  # the loop of every ThreadPoolExecutor's threads
        and frame.f_code.co_filename == concurrent.futures.thread.__file__
    )


def _named(threads: list[threading.Thread]) -> str:
    """`the thread "trainer"`, `the threads "trainer" and "loader"`."""
    # The default executor's threads (`_edge/loop.py`) are named by what starts them.
    names = [
        f'"{thread.name}"'
        + (" (asyncio.to_thread's)" if thread.name.startswith("asyncio_") else "")
        for thread in threads
    ]
    if len(names) == 1:
        return f"the thread {names[0]}"
    return f"the threads {', '.join(names[:-1])} and {names[-1]}"


def end_now(code: int, say: Callable[[str], None]) -> None:
    """Exit with `code` now, without waiting for threads, when threads that Python would wait
    for are left: `say` gets them named (`the thread "trainer"`) to write its line. Returns
    when none are, and the process exits as Python makes it."""
    left = threads_left()
    if not left:
        return
    _flush(sys.stdout, sys.__stdout__)  # the command's output first, whole
    try:
        say(_named(left))
    finally:
        logging.shutdown()  # what atexit would do: every log handler flushed (a file's too)
        _flush(sys.stderr, sys.__stderr__, sys.stdout, sys.__stdout__)
        os._exit(code)


def _flush(*streams: TextIO | Any) -> None:
    for stream in streams:
        with contextlib.suppress(Exception):  # None (no console), closed, or its reader gone
            stream.flush()


def drop_output_to_gone_readers() -> None:
    """Make `sys.stdout` and `sys.stderr` line-buffered writers that drop what their reader is
    no longer there to read, instead of raising BrokenPipeError into the code that wrote.

    Vite's sidecar writes to pipes that Vite reads: on Ctrl-C in Vite's terminal both get
    SIGINT, Vite exits at once and the sidecar (which ignores it) stops once it reads the end
    of its IPC channel. The `finally` of a background task then runs with no reader left,
    and its `print()` would raise and skip the rest of the block (so would `wsside serve |
    tee log` on Ctrl-C, the pipe's reader gone first). A write that fails is the one sure sign
    that the reader has gone: the pipe may break before the sidecar reads the channel's end,
    so no moment of the stop comes early enough for sure. So the writers are made once, at
    start (no handler file has kept a reference to the old ones yet), and on the first such
    failure the descriptor (1 or 2) is pointed at os.devnull: from then on every write to it
    goes nowhere, those of the old stream objects, of C code and of child processes too.
    While the reader is there, nothing changes but the objects."""
    sys.stdout = _dropping(sys.stdout, 1)
    sys.stderr = _dropping(sys.stderr, 2)


def _dropping(stream: TextIO | Any, fd: int) -> TextIO | Any:
    """A text writer to `fd` like `stream` (its encoding and errors, line-buffered), over
    `_DropsWhenGone`; `stream` itself when it is not a text file on `fd` (None under pythonw,
    a test runner's capture)."""
    if not isinstance(stream, io.TextIOWrapper):
        return stream
    try:
        if stream.fileno() != fd:
            return stream
        raw = _DropsWhenGone(fd, "w", closefd=False)
    except (OSError, ValueError):
        return stream
    try:
        stream.flush()  # what it holds goes out before anything written through the new one
    except (BrokenPipeError, ConnectionResetError):
        _to_devnull(fd)
        _flush(stream)
    raw.name = stream.name  # "<stdout>", as before
    # Unbuffered (`python -u`, PYTHONUNBUFFERED) as before: the text layer over the raw file.
    buffer = raw if isinstance(stream.buffer, io.RawIOBase) else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffer,
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=True,  # a handler's print goes out line by line, also to a pipe
        write_through=stream.write_through,
    )


class _DropsWhenGone(io.FileIO):
    """Descriptor `fd`, written through: when its reader has gone (EPIPE on a pipe, or a
    reset on a socket: Node's stdio pipes are socket pairs), `fd` becomes os.devnull's, and
    the write succeeds there."""

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except (BrokenPipeError, ConnectionResetError):
            _to_devnull(self.fileno())
            return super().write(data)


def _to_devnull(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
