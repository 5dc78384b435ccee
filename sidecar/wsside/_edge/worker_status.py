"""What the parent of `wsside serve --workers N` says of a worker: how it exited and what comes
of that, and that it is slow to start (`workers.py`, and a SIGHUP round's `rolling.py`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .standalone import EXIT_CANNOT_LISTEN, EXIT_CONFIG, EXIT_NOT_LOADED

__all__ = [
    "SLOW_START",
    "cannot_serve",
    "exit_cause",
    "failed_round",
    "noted_if_slow",
    "slow_start",
    "stopped_as_told",
]

T = TypeVar("T")

# A worker that has not served this long after it started is said once (not stopped: an
# import may be slow on purpose, a model loaded, say).
SLOW_START = 30.0


def exit_cause(code: int) -> str:
    """`was killed by SIGKILL`, `exited with code 1`."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def cannot_serve(code: int) -> str | None:
    """What a worker that served before and then exited with `code` says of the files on
    disk now, or None: its restarts fail alike until they are fixed."""
    if code == EXIT_NOT_LOADED:
        return "its handler files do not load now (fix them; SIGHUP rolls them out)"
    if code == EXIT_CONFIG:
        return "it cannot serve with the config file as it is now (fix it)"
    if code == EXIT_CANNOT_LISTEN:
        return "it cannot listen on the port now"
    return None


def stopped_as_told(code: int | None) -> bool:
    """Whether a worker told to stop (SIGTERM) and gone with `code` stopped as told: exit 0,
    or ended by SIGTERM/SIGINT itself, which only a process without its handlers (still
    importing, or past its event loop) dies of. A crash, a failure or a kill is not."""
    return code in (0, -signal.SIGTERM, -signal.SIGINT)


def failed_round(index: int, pid: int | None, code: int | None) -> str:
    """The line of a SIGHUP round called off because worker `index`'s replacement (`pid`, None
    when it could not be started) did not serve: it exited with `code`. What to do next
    follows from why: the files' errors (the replacement said them) or anything else."""
    head = f"SIGHUP: a replacement (worker {index}'s) did not start (above)"
    advice = "send SIGHUP again"
    if pid is not None and code is not None and code not in (EXIT_NOT_LOADED, EXIT_CONFIG):
        said = " (above)" if code == EXIT_CANNOT_LISTEN else ""
        head = f"SIGHUP: worker {index}'s replacement (pid {pid}) {exit_cause(code)}{said} "
        head += "before it served"
    elif pid is not None:
        advice = (
            "fix the files and send SIGHUP again (until then, a worker that dies is restarted "
            "from them, and fails as its replacement did)"
        )
    return (
        f"{head}: every worker serves on with what it loaded, and the replacements that "
        f"started are stopped; {advice}"
    )


def slow_start(index: int, pid: int, replacement: bool) -> str:
    """The warning for worker `index` (`pid`) not serving `SLOW_START` s after it started."""
    who = f"SIGHUP: worker {index}'s replacement" if replacement else f"worker {index}"
    then = (
        "the old workers serve on until every replacement serves"
        if replacement
        else "it is not stopped"
    )
    return (
        f"{who} (pid {pid}) has not started serving {SLOW_START:g} s after it started (its "
        f"handler files still loading? an import that hangs?): {then}; SIGTERM stops every "
        "worker"
    )


async def noted_if_slow(ready: Awaitable[T], note: Callable[[], None]) -> T:
    """What `ready` gives; `note()` once if that takes more than `SLOW_START` s."""
    waiting = asyncio.ensure_future(ready)
    try:
        done, _ = await asyncio.wait({waiting}, timeout=SLOW_START)
        if not done:
            note()
        return await waiting
    finally:
        waiting.cancel()  # (when this wait is cancelled)
