"""SIGHUP under `wsside serve --workers N`: the workers replaced one at a time.

Each worker in turn is stopped gracefully (its clients get 1001 and reconnect to the others)
and the supervisor starts a new process in its place, which reads the handler files and the
config file again; the next worker is stopped once the replacement serves. A replacement
that exits before it serves (its files do not load) stops the round: the supervisor retries
it, and the workers not replaced yet keep serving what they loaded. The config file is read
first, by the supervisor: with an error in it, no worker is stopped.

The supervisor (`Workers` in `workers.py`) owns the processes; it tells a `Rollover` what
becomes of them (`retired`, `exited`, `serves`) and asks whether an exit is a replacement's
(`replacing`).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._runtime.events import log

__all__ = ["Rollover"]


@dataclass
class _Turn:
    # The worker stopped to be replaced (its exit is no failure), and whether a later one
    # serves (True) or exited before it did (False); the turn ends once one serves.
    old: asyncio.subprocess.Process
    replaced: asyncio.Future[bool]


class Rollover:
    """SIGHUP's replacement of `count` workers; `current(i)` is worker `i`'s process now
    (None before its first start), and `check()` what is wrong with the config file the
    replacements would read (a sentence naming file, key and value), or None."""

    def __init__(
        self,
        count: int,
        current: Callable[[int], asyncio.subprocess.Process | None],
        check: Callable[[], str | None],
    ) -> None:
        self.count = count
        self.current = current
        self.check = check
        self._turns: dict[int, _Turn] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self, starting: bool) -> None:
        """SIGHUP: replace the workers one at a time (not while a round is under way, nor
        while they are `starting`)."""
        if self._task is not None and not self._task.done():
            log("SIGHUP: the workers are being replaced already; this one changes nothing")
            return
        if starting:
            log("SIGHUP: the workers are still starting (they read the files now); ignored")
            return
        problem = self.check()
        if problem is not None:
            # Each replacement would exit with it, one worker fewer until the file is fixed.
            log(
                f"SIGHUP: not replacing the workers, which serve on with what they loaded: "
                f"{problem}",
                "error",
            )
            return
        self._task = asyncio.ensure_future(self._replace_all())

    def cancel(self) -> None:
        """Stopping: no worker is replaced any more."""
        if self._task is not None:
            self._task.cancel()

    def retired(self, index: int, proc: asyncio.subprocess.Process) -> bool:
        """Whether `proc`, worker `index`'s process that exited, was stopped to be replaced."""
        turn = self._turns.get(index)
        return turn is not None and proc is turn.old

    def replacing(self, index: int) -> bool:
        """Whether worker `index` is being replaced (its replacement does not serve yet)."""
        return index in self._turns

    def exited(self, index: int) -> None:
        """Worker `index`'s process exited (not `retired`): a replacement that did not serve."""
        turn = self._turns.get(index)
        if turn is not None and not turn.replaced.done():
            turn.replaced.set_result(False)

    def serves(self, index: int, proc: asyncio.subprocess.Process) -> None:
        """Worker `index`'s process `proc` serves: a replacement's turn ends."""
        turn = self._turns.get(index)
        if turn is not None and proc is not turn.old:
            if not turn.replaced.done():
                turn.replaced.set_result(True)
            elif index + 1 < self.count:  # the round stopped here; its retries serve now
                log(
                    f"SIGHUP: worker {index} serves the files as they are now; the workers "
                    "not replaced yet serve what they loaded: send SIGHUP again to replace them",
                    "warning",
                )
            del self._turns[index]

    async def _replace_all(self) -> None:
        """Stop each worker gracefully (its clients get 1001 and reconnect to the others) and
        go on to the next once its replacement serves; stop at one that does not."""
        loop = asyncio.get_running_loop()
        log(f"SIGHUP: replacing the {self.count} workers one at a time{_queue_note()}")
        for index in range(self.count):
            old = self.current(index)
            if old is None or old.returncode is not None:
                continue  # restarting already: its next start reads the files anyway
            replaced = loop.create_future()
            self._turns[index] = _Turn(old, replaced)
            old.send_signal(signal.SIGTERM)
            if not await replaced:
                log(
                    f"SIGHUP: worker {index}'s replacement did not start (above), and is "
                    "retried; the workers not replaced yet keep serving what they loaded",
                    "error",
                )
                return
            new = self.current(index)
            log(f"worker {index} replaced (pid {old.pid} -> {new.pid if new else '?'})")
        log("SIGHUP: every worker replaced")


# Linux's switch for moving what waits in a closing SO_REUSEPORT listener's accept queue to
# the other listeners of its port (5.14+); off, those connections are reset.
MIGRATE_REQ = Path("/proc/sys/net/ipv4/tcp_migrate_req")


def _queue_note() -> str:
    """A word on the connections a stopping worker's listener resets, when Linux would
    reset them (docs/deploy.md measured it); nothing where it moves them, or cannot."""
    try:
        migrating = MIGRATE_REQ.read_text().strip() != "0"
    except OSError:  # not Linux, or a kernel without the switch
        return ""
    if migrating:
        return ""
    return (
        " (connections waiting on a stopping worker are reset, and retried by clients: "
        "net.ipv4.tcp_migrate_req=1 moves them to the others)"
    )
