"""SIGHUP under `wsside serve --workers N`: new workers first, then the old ones stop.

The supervisor starts a new process beside each worker (the handler files and the config
file read again), while the old ones serve on; once every new one serves, the old ones stop
accepting (each closes its listener, and says so on its pair with the supervisor), and once
every one has (or has exited), they are stopped together: their clients get 1001 and
reconnect, spread by the kernel over the new workers only, as no old worker listens any more.
Each client is thus moved once, and no old worker stops before a new one serves in its
place. A replacement that exits before it serves (its files do not load) ends the round: the
replacements that started are stopped, and every old worker serves on with what it loaded.
The config file is read first, by the supervisor: with an error in it, nothing starts and
nothing stops.

For a while each index has two processes (the old one and its replacement, both named
`wsside[i]` in the log and `"worker": i` in health answers, with their own pids); the
supervisor (`Workers` in `workers.py`) keeps the old one as the slot's, and takes the
replacement over (`take_over`) when the old one exits.
"""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._runtime.events import log
from .worker_status import failed_round

__all__ = ["Rollover"]

Process = asyncio.subprocess.Process


@dataclass
class _Turn:
    # Worker `index`'s process when the round began, and its replacement (None until
    # started); `serves` is done once the replacement serves; `retiring` once the round
    # told the old one to stop, `dropping` once it told the replacement to; `adopted` once
    # the supervisor took the replacement over.
    index: int
    old: Process
    serves: asyncio.Future[None]
    new: Process | None = None
    retiring: bool = False
    dropping: bool = False
    adopted: bool = False
    # Done once the old one exited and the supervisor had its say (`take_over`).
    gone: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Rollover:
    """SIGHUP's replacement of `count` workers; `current(i)` is worker `i`'s process now
    (None before its first start), `spawn(i)` starts a replacement for it, `stop_accepting(p)`
    returns once worker process `p` has closed its listener (or exited), and `check()` says
    what is wrong with the config file the replacements would read (a sentence naming file,
    key and value), or None; a replacement told to stop is killed after `stop_within` s."""

    def __init__(
        self,
        count: int,
        current: Callable[[int], Process | None],
        spawn: Callable[[int], Awaitable[Process]],
        stop_accepting: Callable[[Process], Awaitable[None]],
        check: Callable[[], str | None],
        stop_within: float,
    ) -> None:
        self.count = count
        self.stop_within = stop_within
        self.current = current
        self.spawn = spawn
        self.stop_accepting = stop_accepting
        self.check = check
        self._turns: dict[int, _Turn] = {}
        self._task: asyncio.Task[None] | None = None
        self._spawning: asyncio.Future[Process] | None = None

    def start(self, starting: bool) -> None:
        """SIGHUP: replace the workers (not while a round is under way, nor while they are
        `starting`)."""
        if self._task is not None and not self._task.done():
            log("SIGHUP: the workers are being replaced already; this one changes nothing")
            return
        if starting:
            log("SIGHUP: the workers are still starting (they read the files now); ignored")
            return
        problem = self.check()
        if problem is not None:
            # Each replacement would exit with it.
            log(
                f"SIGHUP: not replacing the workers, which serve on with what they loaded: "
                f"{problem}",
                "error",
            )
            return
        self._task = asyncio.ensure_future(self._replace_all())

    async def stop(self) -> None:
        """Stopping: no worker is replaced any more. Once this returns, every replacement
        started is in `replacements()` (or taken over), for the supervisor to stop."""
        if self._task is None or self._task.done():
            return
        if self._spawning is not None:
            await asyncio.wait([self._spawning])  # a fork under way: let it be known
        self._task.cancel()
        await asyncio.wait([self._task])

    def busy(self) -> bool:
        """Whether a round is under way."""
        return self._task is not None and not self._task.done()

    def replacements(self) -> list[tuple[int, Process]]:
        """The replacements started and not taken over (worker index, process)."""
        return [
            (turn.index, turn.new)
            for turn in self._turns.values()
            if turn.new is not None and not turn.adopted and turn.new.returncode is None
        ]

    def told(self, proc: Process) -> bool:
        """Whether the round told `proc` to stop (a second SIGTERM could kill it as it exits)."""
        return any(
            (turn.retiring and proc is turn.old) or (turn.dropping and proc is turn.new)
            for turn in self._turns.values()
        )

    def take_over(self, index: int, proc: Process) -> tuple[Process, bool] | None:
        """Worker `index`'s process `proc` exited: its replacement, which takes its place, and
        whether the round stopped `proc` (else it ended on its own meanwhile); None when it
        has none (no round, or one whose replacement is gone or being stopped)."""
        turn = self._turns.get(index)
        if turn is None or proc is not turn.old:
            return None
        if not turn.gone.done():
            turn.gone.set_result(None)
        new = turn.new
        if new is None or new.returncode is not None or turn.dropping:
            return None
        turn.adopted = True
        return new, turn.retiring

    def serves(self, index: int, proc: Process) -> None:
        """Worker `index`'s process `proc` serves (a replacement, unless it is the old one)."""
        turn = self._turns.get(index)
        if turn is not None and proc is not turn.old and not turn.serves.done():
            turn.serves.set_result(None)

    async def _replace_all(self) -> None:
        """Start a replacement beside each worker; once every one serves, stop the old ones
        together; at one that does not, stop the replacements instead."""
        loop = asyncio.get_running_loop()
        log(
            f"SIGHUP: replacing the {self.count} workers: new ones start beside them, and the "
            f"old ones stop once every new one serves{_queue_note()}"
        )
        turns: list[_Turn] = []
        for index in range(self.count):
            old = self.current(index)
            if old is None or old.returncode is not None:
                continue  # restarting already: its next start reads the files anyway
            turn = _Turn(index, old, loop.create_future())
            self._turns[index] = turn
            turns.append(turn)
            # Shielded: a stop (which cancels the round) waits for the fork to be known.
            self._spawning = asyncio.ensure_future(self.spawn(index))
            self._spawning.add_done_callback(functools.partial(_started, turn))
            try:
                await asyncio.shield(self._spawning)
            except OSError as exc:  # no process (out of memory or of processes)
                log(f"SIGHUP: cannot start worker {index}'s replacement: {exc}", "error")
                break
            finally:
                self._spawning = None
        failed = await _first_failure(turns)
        if failed is None:
            await self._retire(turns)
            log("SIGHUP: every worker replaced")
        else:
            await self._drop(turns)  # said once they are gone: a SIGHUP then starts a round
            new = failed.new
            code = None if new is None else new.returncode
            log(failed_round(failed.index, None if new is None else new.pid, code), "error")
        for turn in turns:  # (a stop keeps them, for the supervisor to stop the processes)
            del self._turns[turn.index]

    async def _retire(self, turns: list[_Turn]) -> None:
        """Every replacement serves: the old workers stop accepting, then they are stopped,
        each taken over as it exits."""
        await self._quiet([turn for turn in turns if not turn.adopted and not turn.gone.done()])
        restarted = []
        for turn in turns:
            if turn.adopted:
                continue  # it exited meanwhile, and its replacement took its place
            if turn.gone.done():  # it exited before its replacement started: restarted
                restarted.append(turn)
                continue
            turn.retiring = True
            _terminate(turn.old)
            new = turn.new.pid if turn.new is not None else "?"
            log(f"worker {turn.index} replaced (pid {turn.old.pid} -> {new})")
        await self._drop(restarted)
        await asyncio.gather(*(turn.gone for turn in turns))

    async def _quiet(self, turns: list[_Turn]) -> None:
        """Have the old workers of `turns` stop accepting: returns once each has, or has
        exited, or after `stop_within` s (one whose event loop is blocked, say)."""
        waits = {asyncio.ensure_future(self.stop_accepting(turn.old)): turn for turn in turns}
        if not waits:
            return
        try:
            _, late = await asyncio.wait(waits, timeout=self.stop_within)
        finally:  # (a stop cancels the round: the supervisor stops them all)
            for waiting in waits:
                waiting.cancel()
        for waiting in late:
            turn = waits[waiting]
            log(
                f"SIGHUP: worker {turn.index} (pid {turn.old.pid}) did not stop accepting "
                f"within {self.stop_within:.1f} s: stopping it anyway (a client it closes may "
                "reconnect to an old worker, and be closed again)",
                "warning",
            )
        await asyncio.gather(*waits, return_exceptions=True)

    async def _drop(self, turns: list[_Turn]) -> None:
        """Stop the replacements of `turns` that run (not those taken over)."""
        dropped = []
        for turn in turns:
            if turn.new is not None and not turn.adopted and turn.new.returncode is None:
                turn.dropping = True
                _terminate(turn.new)
                dropped.append(turn.new)
        if not dropped:
            return
        waits = [asyncio.ensure_future(proc.wait()) for proc in dropped]
        await asyncio.wait(waits, timeout=self.stop_within)
        for proc in dropped:
            if proc.returncode is None:  # an import that blocks, say
                log(
                    f"SIGHUP: a replacement (pid {proc.pid}) did not stop within "
                    f"{self.stop_within:.1f} s: killing it",
                    "warning",
                )
                proc.kill()
        await asyncio.gather(*waits)


def _terminate(proc: Process) -> None:
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:  # exited already: its supervisor sees that
        pass


def _started(turn: _Turn, spawned: asyncio.Future[Process]) -> None:
    if not spawned.cancelled() and spawned.exception() is None:
        turn.new = spawned.result()


async def _first_failure(turns: list[_Turn]) -> _Turn | None:
    """Wait until every replacement serves (None), or the first that exits before it does
    (all are waited for together: one that dies is said at once, whichever it is)."""
    for turn in turns:
        if turn.new is None:
            return turn
    exits = {turn.index: asyncio.ensure_future(turn.new.wait()) for turn in turns if turn.new}
    try:
        while waiting := [turn for turn in turns if not turn.serves.done()]:
            waits: list[asyncio.Future[Any]] = [turn.serves for turn in waiting]
            waits += [exits[turn.index] for turn in waiting]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for turn in waiting:
                if exits[turn.index].done() and not turn.serves.done():
                    return turn
        return None
    finally:
        for exited in exits.values():
            exited.cancel()


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
