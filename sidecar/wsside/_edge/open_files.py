"""The open-file limit of a server process: raised at start, watched while serving, and said
in one line when it is reached. Every connection is a descriptor."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from .._runtime.events import log

__all__ = ["AcceptFailures", "low_open_file_limit", "raise_open_file_limit", "watch_open_files"]

# What to do about it, at the end of each warning.
_RAISE_IT = "Raise the hard limit (LimitNOFILE= in systemd, --ulimit nofile= in Docker, ulimit -Hn)"


def raise_open_file_limit() -> None:
    """Raise the soft limit on open files to the hard one, as Node does when it starts: every
    connection is a descriptor, and shells still set 1024 as the soft limit. (Under the shim
    the sidecar inherits Node's raised limit already.)"""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # macOS reports an infinite hard limit but refuses more than OPEN_MAX (10240).
    for target in (hard, 10240) if hard == resource.RLIM_INFINITY else (hard,):
        if soft != resource.RLIM_INFINITY and soft >= target:
            return
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return
        except (ValueError, OSError):
            continue


# Below this many open files (once raised to the hard limit), `wsside serve` says so at start:
# a shell's `ulimit -n 1024` sets the hard limit too, and a server then holds about a
# thousand connections per process, which a load test finds before a warning would.
LOW_OPEN_FILES = 4096


def low_open_file_limit() -> str | None:
    """What to say at start when the open-file limit, raised to the hard one, is below
    `LOW_OPEN_FILES`; None when it is not (or there is no such limit)."""
    soft = _soft_limit()
    if soft is None or soft >= LOW_OPEN_FILES:
        return None
    return (
        f"the open-file limit is {soft}, and its hard limit too: every connection is a "
        f"descriptor, so each process serves at most about {soft} connections. {_RAISE_IT}"
    )


class AcceptFailures:
    """The loop's exception handler: at the open-file limit, asyncio's own loop reports every
    failed `accept()` with a traceback, and retries once per backlog slot each time (tens of
    thousands of lines a second, gigabytes of log in minutes). One warning a minute at most
    says what is wrong instead; everything else goes to the default handler."""

    MESSAGE = "socket.accept() out of system resource"
    EVERY = 60.0

    def __init__(self) -> None:
        self._warned = -self.EVERY

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != self.MESSAGE:
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self._warned < self.EVERY:
            return
        self._warned = now
        exc = context.get("exception")
        log(
            f"cannot accept new connections: {getattr(exc, 'strerror', None) or exc} "
            f"(open-file limit {_soft_limit() or 'unlimited'}); clients wait or are refused "
            f"until connections close. {_RAISE_IT}",
            "warning",
        )


# How often the open descriptors are counted, from what share of the limit it is said, and
# how often at most.
OPEN_FILES_EVERY = 5.0
OPEN_FILES_SHARE = 0.9
OPEN_FILES_WARN_EVERY = 60.0


async def watch_open_files(every: float = OPEN_FILES_EVERY) -> None:
    """Warn (once a minute at most) while this process holds 90 % of its open-file limit or
    more. At the limit uvloop's libuv accepts and closes new connections without a word, and
    asyncio's loop leaves them waiting: either way the log should say why, and before.
    Linux only (/proc/self/fd); counting 60,000 descriptors takes milliseconds."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return
    warned = -OPEN_FILES_WARN_EVERY
    while True:
        await asyncio.sleep(every)
        soft = _soft_limit()
        if soft is None:
            continue
        try:
            count = sum(1 for _ in os.scandir(fds))
        except OSError:  # at the limit itself, opening the folder fails too
            count = soft
        now = time.monotonic()
        if count >= OPEN_FILES_SHARE * soft and now - warned >= OPEN_FILES_WARN_EVERY:
            warned = now
            log(
                f"{count} open files of the limit of {soft}: at the limit new connections "
                f"are not served (they wait in the kernel's queue; uvloop closes them at "
                f"once). {_RAISE_IT}",
                "warning",
            )


def _soft_limit() -> int | None:
    """The soft limit on open files; None when it is unlimited (or there is no such limit:
    Windows, where `wsside serve` does not run)."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft
