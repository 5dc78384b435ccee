"""`wsside serve --workers N`: N worker processes on one port, under a supervising parent.

Each worker is `wsside serve` again (same command line), told by `WSSIDE_WORKER` that it is
worker `i` of a parent: it listens with SO_REUSEPORT, so the kernel spreads new connections
over the workers' listeners and a dead worker's share goes to the others at once. The
parent loads no handler file and serves no connection: it checks that the port is free,
starts the workers, restarts one that dies (with backoff, after a log line saying why),
passes SIGTERM/SIGINT on, and exits once they have. SIGHUP replaces the workers (new
processes: the handler files and the config file read again), starting the new ones beside
the old, which stop once every new one serves (`rolling.py`).

Parent and worker share a socket pair (`worker_link.py`): the worker writes one line when it
serves (its pid, endpoints and files), answers the parent's requests in a SIGHUP round, and
reads EOF from it when the parent is gone, which stops it gracefully (even after a `kill -9`
of the parent). A restarted worker that serves files other than the other workers' (an
edit not yet rolled out with SIGHUP) is logged (`served_files.py`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._runtime.events import log
from .rolling import Rollover
from .served_files import changed_files
from .standalone import EXIT_CANNOT_LISTEN, EXIT_CONFIG, EXIT_NOT_LOADED
from .worker_link import ENV, ParentEnd
from .worker_status import cannot_serve, exit_cause, noted_if_slow, slow_start, stopped_as_told

__all__ = ["Workers"]

# A worker that dies again soon after a restart waits longer before the next one: the first
# restart after RESTART_FIRST seconds, then twice as long each time, up to RESTART_CAP; a
# worker that served STABLE seconds starts the count again.
RESTART_FIRST = 0.1
RESTART_CAP = 5.0
STABLE = 30.0
# After the shutdown budget, workers still running are killed after this much more.
KILL_GRACE = 1.0


@dataclass
class _Slot:
    index: int
    proc: asyncio.subprocess.Process | None = None
    # The first ready message of this slot's workers (later ones are logged instead).
    first_ready: asyncio.Future[dict[str, Any]] | None = None


class Workers:
    """The supervising parent of `count` workers, each started as `command` (the same
    `wsside serve` command line) on each address of `host` (every worker on each) and `port`;
    `shutdown_timeout` as the workers have it; `check()` says what is wrong with the config
    file a SIGHUP's workers would read, or None (`Rollover`)."""

    def __init__(
        self,
        command: Sequence[str],
        count: int,
        host: tuple[str, ...],
        port: int,
        shutdown_timeout: float,
        check: Callable[[], str | None],
    ) -> None:
        self.command = list(command)
        self.host = host
        self.port = port
        self.shutdown_timeout = shutdown_timeout
        self.slots = [_Slot(i) for i in range(count)]
        self._stop = asyncio.Event()
        self._readers: set[asyncio.Task[None]] = set()
        # Each running worker's end of its pair, and the files it serves (once it serves).
        self._ends: dict[asyncio.subprocess.Process, ParentEnd] = {}
        self._files: dict[asyncio.subprocess.Process, dict[str, dict[str, str]]] = {}
        # A worker's exit status that no restart can cure (its handler files do not load).
        self._fatal: int | None = None
        self._rollover = Rollover(
            count,
            lambda index: self.slots[index].proc,
            self._spawn_replacement,
            self._stop_accepting,
            check,
            shutdown_timeout + KILL_GRACE,
        )

    async def run(self, on_ready: Callable[[list[dict[str, Any]]], None]) -> int:
        """Serve until SIGTERM/SIGINT; `on_ready` gets each worker's ready message (pid,
        endpoints) once all serve. Returns the exit status: 0 when every worker exited
        cleanly in time."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop_for, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self._restart_all)
        for slot in self.slots:
            slot.first_ready = loop.create_future()
        keepers = [asyncio.ensure_future(self._keep(slot)) for slot in self.slots]
        stopping = asyncio.ensure_future(self._stop.wait())
        ready = asyncio.gather(*(s.first_ready for s in self.slots if s.first_ready))
        either: set[asyncio.Future[Any]] = {stopping, ready}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            on_ready(ready.result())
        else:
            # Stopped before every worker served: nobody waits for the rest (and retrieving
            # the outcome keeps asyncio from logging it as never retrieved).
            ready.cancel()
            ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        await stopping
        await self._rollover.stop()
        started = time.monotonic()
        status, killed = await self._shutdown(keepers)
        if self._fatal is None:
            took = f"every worker stopped in {time.monotonic() - started:.2f} s"
            if killed:
                log(f"{took} ({killed} killed after the shutdown timeout)", "warning")
            else:
                log(took)
        return self._fatal if self._fatal is not None else status

    def _stop_for(self, signame: str) -> None:
        if not self._stop.is_set():
            log(
                f"{signame}: stopping the {len(self.slots)} workers (within "
                f"{self.shutdown_timeout:g} s, killed {KILL_GRACE:g} s after that)"
            )
        self._stop.set()

    async def _keep(self, slot: _Slot) -> None:
        """Run the slot's worker, and a new one each time it dies, until stopped; a SIGHUP
        round's replacement takes the place of the worker it replaces as that one exits."""
        restarts = 0
        proc: asyncio.subprocess.Process | None = None
        adopted = False  # `proc` is a replacement taken over (it may not serve yet)
        started = time.monotonic()
        while not self._stop.is_set():
            if proc is None:
                started = time.monotonic()
                proc = await self._spawn(slot, restarted=restarts > 0)
                adopted = False
                if self._stop.is_set():  # started while stopping: `_shutdown` may not see it
                    proc.send_signal(signal.SIGTERM)
            code = await proc.wait()
            if self._stop.is_set():
                return
            taken = self._rollover.take_over(slot.index, proc)
            if taken is not None:
                new, retired = taken
                if not retired:
                    log(
                        f"worker {slot.index} (pid {proc.pid}) {exit_cause(code)}; its "
                        f"replacement for SIGHUP (pid {new.pid}) takes its place",
                        "warning",
                    )
                slot.proc, proc, adopted, restarts = new, new, True, 0
                started = time.monotonic()
                continue
            gone, proc = proc, None
            # (a replacement taken over is restarted, as the worker it replaced would be)
            why = None if adopted else self._incurable(slot, code)
            if why is not None:
                # It said why; the others would say the same.
                if self._fatal is None:
                    log(
                        f"worker {slot.index} (pid {gone.pid}) {exit_cause(code)}: {why}; "
                        "stopping every worker",
                        "error",
                    )
                # (one process that cannot listen exits 1: so does the service)
                self._fatal = 1 if code == EXIT_CANNOT_LISTEN else code
                self._stop.set()
                return
            if time.monotonic() - started >= STABLE:
                restarts = 0
            delay = min(RESTART_CAP, RESTART_FIRST * 2**restarts)
            restarts += 1
            cannot = cannot_serve(code)
            log(
                f"worker {slot.index} (pid {gone.pid}) {exit_cause(code)}"
                + (f": {cannot} (above): the other workers serve on" if cannot else "")
                + f"; restarting it in {delay:.1f} s",
                "error" if cannot else "warning",
            )
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except asyncio.TimeoutError:
                pass

    def _incurable(self, slot: _Slot, code: int) -> str | None:
        """Why no restart would cure worker `slot`'s exit with `code`, or None. Only before
        any worker of the slot served: a deploy that cannot start fails where a supervisor
        sees it. Later (a worker that died after a SIGHUP that did not roll out, reading the
        same broken files) the other workers serve on, and it is restarted with the backoff
        until the files are fixed: stopping them would make one empty place a whole outage."""
        first = slot.first_ready
        if first is None or first.done():
            return None
        if code == EXIT_NOT_LOADED:
            return "its handler files do not load (above)"
        if code == EXIT_CONFIG:  # its options do not fit its handler files (a health path
            return "it cannot serve with these options (above)"  # that hides an endpoint)
        if code == EXIT_CANNOT_LISTEN:  # the port was taken after the parent's check
            return "it cannot listen on the port (above)"
        stopped = {-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM}
        if code in stopped or any(s.first_ready and s.first_ready.done() for s in self.slots):
            return None  # a stop from outside (Ctrl-C), or the others serve: restarted
        # No worker has served yet: a handler file (or what it imports) that ends the process
        # or crashes it at import would do the same at every restart, each time unsaid.
        return (
            "it ended before it served, with no reason of wsside's: does a handler file, or "
            "what it imports, end or crash the process as it loads? (--log-level debug names "
            "each file as it imports)"
        )

    def _restart_all(self) -> None:
        """SIGHUP: replace the workers."""
        if self._stop.is_set():
            return
        starting = not all(slot.first_ready and slot.first_ready.done() for slot in self.slots)
        self._rollover.start(starting)

    async def _stop_accepting(self, proc: asyncio.subprocess.Process) -> None:
        """Have the worker `proc` stop accepting; returns once it has, or has exited."""
        end = self._ends.get(proc)
        if end is not None:
            await end.stop_accepting()

    async def _spawn_replacement(self, index: int) -> asyncio.subprocess.Process:
        """A replacement for worker `index`, beside it (`Rollover`)."""
        return await self._spawn(self.slots[index], restarted=False, replacement=True)

    async def _spawn(
        self, slot: _Slot, restarted: bool, replacement: bool = False
    ) -> asyncio.subprocess.Process:
        mine, theirs = socket.socketpair()
        hosts = ",".join(self.host)  # no address has a comma (`address_values.is_host`)
        env = {**os.environ, ENV: f"{slot.index}:{self.port}:{theirs.fileno()}:{hosts}"}
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                env=env,
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        if not replacement:
            slot.proc = proc
        # Holds `mine` open for the worker's life: its EOF is how the worker sees us go.
        reader = asyncio.ensure_future(self._read_ready(slot, proc, mine, restarted, replacement))
        self._readers.add(reader)
        reader.add_done_callback(self._readers.discard)
        return proc

    async def _read_ready(
        self,
        slot: _Slot,
        proc: asyncio.subprocess.Process,
        pair: socket.socket,
        restarted: bool,
        replacement: bool,
    ) -> None:
        end = self._ends[proc] = ParentEnd(pair)
        try:
            # Said, not stopped: the other workers (or the old ones) serve meanwhile.
            info = await noted_if_slow(
                end.ready(), lambda: log(slow_start(slot.index, proc.pid, replacement), "warning")
            )
            if info is None:
                return  # exited before serving: `_keep` sees the exit
            self._files[proc] = info.get("files", {})
            self._rollover.serves(slot.index, proc)
            if slot.first_ready is not None and not slot.first_ready.done():
                slot.first_ready.set_result(info)
            elif restarted:
                self._restarted(slot, proc)
            await end.follow()
            await proc.wait()
        finally:
            end.close()
            del self._ends[proc]
            self._files.pop(proc, None)

    def _restarted(self, slot: _Slot, proc: asyncio.subprocess.Process) -> None:
        """Say that worker `slot` serves again, and whether it serves files the other workers
        do not (changed on disk since they started: a SIGHUP rolls them out)."""
        others = [
            self._files[s.proc] for s in self.slots if s is not slot and s.proc in self._files
        ]
        changed = changed_files(self._files[proc], others)
        if changed is None or self._rollover.busy():  # (a round replaces them all anyway)
            log(f"worker {slot.index} restarted (pid {proc.pid})")
            return
        log(
            f"worker {slot.index} restarted (pid {proc.pid}) with {changed}: it serves them, "
            "the other workers the ones they read before; send SIGHUP to roll them out "
            "everywhere",
            "warning",
        )

    async def _shutdown(self, keepers: list[asyncio.Task[None]]) -> tuple[int, int]:
        """Stop every worker: the exit status, and how many had to be killed."""
        spawned = {slot.index: slot.proc for slot in self.slots}
        replacements = self._rollover.replacements()  # a SIGHUP round's, not taken over
        running = [
            (slot.index, slot.proc)
            for slot in self.slots
            if slot.proc is not None and slot.proc.returncode is None
        ] + replacements
        for _, proc in running:
            # One the round stopped already is not signalled again: past its event loop it
            # has no handler left, and a second SIGTERM would kill it (-15) as it exits.
            if not self._rollover.told(proc):
                proc.send_signal(signal.SIGTERM)
        deadline = self.shutdown_timeout + KILL_GRACE
        waits = [*keepers, *(asyncio.ensure_future(proc.wait()) for _, proc in replacements)]
        _, late = await asyncio.wait(waits, timeout=deadline)
        status = killed = 0
        # Those running at the stop, and any that started after it (`_keep` signals those).
        late_starts = [
            (s.index, s.proc)
            for s in self.slots
            if s.proc is not None and s.proc is not spawned[s.index]
        ]
        for index, proc in running + late_starts:
            if proc.returncode is None:
                log(
                    f"worker {index} (pid {proc.pid}) did not stop within "
                    f"{deadline:.1f} s: killing it",
                    "warning",
                )
                proc.kill()
                killed += 1
                await proc.wait()
            if not stopped_as_told(proc.returncode):
                status = 1
        for waiting in late:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        return status, killed
