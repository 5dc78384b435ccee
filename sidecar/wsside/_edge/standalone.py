"""`wsside serve` without Vite: one process serving the handler files on a TCP port.

It serves until SIGINT or SIGTERM (the connections get 1001), and re-creates the sidecar
in-process when the config file changes or on SIGHUP (the connections get 1012). The same
loop runs each worker of `--workers N`, listening beside the others and reporting to the
parent (`WorkerLink`), which replaces the workers for SIGHUP itself: asked by the parent, an
old worker first stops accepting (the others serve the new connections), and closes its
connections with 1001 when told to stop.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from .._runtime.config import ConfigError, OptionError, setting_error
from .._runtime.config_watch import changed_file, config_error_event, next_settings
from .._runtime.events import emit, log
from .._runtime.settings import Settings
from ..closecodes import CloseCode, CloseReason
from .health import Health, health_clash
from .logs import configure_logging
from .not_found import NotFoundNotes
from .open_files import AcceptFailures, watch_open_files
from .same_port import CannotBind, check_port
from .served_files import served_files
from .server import Sidecar
from .worker_link import WorkerLink

__all__ = [
    "EXIT_CANNOT_LISTEN",
    "EXIT_CONFIG",
    "EXIT_NOT_LOADED",
    "NotServing",
    "cannot_listen",
    "serve_standalone",
]

# `wsside serve`'s exit status for options or a config file it cannot serve with.
EXIT_CONFIG = 2
# `wsside serve --no-reload`'s exit status when a handler file does not load at start.
EXIT_NOT_LOADED = 3
# A worker's exit status when it cannot listen on the port (one process's is 1): at the start
# its parent then stops, with status 1, instead of restarting it again and again.
EXIT_CANNOT_LISTEN = 4
# Why a worker stops when its supervisor died (killed, crashed): not an operator's stop, and
# its line is a warning (docs/deploy.md's "Lines worth an alert").
PARENT_GONE = "the parent process is gone"


class NotServing(Exception):
    """The sidecar did not serve: why (a sentence, for its console), and the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


async def serve_standalone(
    settings: Settings,
    rebuild: Callable[[], Settings],
    link: WorkerLink | None,
    announce: Callable[[Sidecar, Settings, int], None],
) -> None:
    """Serve until SIGINT/SIGTERM; a config change or SIGHUP re-creates the sidecar in-process.
    As a worker (`link`), listen beside the other workers and report to the parent (which
    replaces the workers for SIGHUP: a worker ignores it, as when a terminal's hangup reaches
    the whole process group); else `announce` the sidecar and its port each time it serves.
    Raises `NotServing` when the handler files do not load with reload off, or the port
    cannot be listened on."""
    stop = asyncio.Event()
    stopped_by: list[str] = []  # what stopped it, for the log line

    def stop_for(reason: str) -> None:
        stopped_by.append(reason)
        stop.set()

    loop = asyncio.get_running_loop()
    loop.set_exception_handler(AcceptFailures())
    watch = asyncio.ensure_future(watch_open_files())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_for, sig.name)
    hup = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, hup.set if link is None else _ignore)
    quiet = asyncio.Event()  # a worker asked by the parent to stop accepting (a SIGHUP round)
    if link is not None:
        link.watch(lambda: stop_for(PARENT_GONE), quiet.set)
    chosen = 0  # with `--port 0`: the port the system chose, kept across restarts
    while True:
        sidecar = Sidecar(settings)
        # A typo in a client's URL gets a line naming the endpoint meant, besides the 404 in
        # the access log (files outside the handlers folder are Vite's case: no `root`).
        sidecar.intake.not_found = NotFoundNotes(
            sidecar.registry, settings.prefixes, settings.handlers_dir
        )
        with _signals_noted(stopped_by, signal.SIGINT, signal.SIGTERM):
            await sidecar.start()
        if stopped_by:
            # Told to stop while the handlers loaded: no listener opens only to close.
            log(f"{stopped_by[0]} while starting: stopping without serving", _level(stopped_by))
            await sidecar.close()
            watch.cancel()
            return
        if not settings.reload and sidecar.registry.errors:
            # Nothing would ever load the file while serving: a deploy fails here, where a
            # supervisor or an orchestrator sees it, not with 404s later.
            await sidecar.close()
            count = len(sidecar.registry.errors)
            files, them = (
                ("a handler file", "it") if count == 1 else (f"{count} handler files", "them")
            )
            # A worker's line is followed by its parent's, which says what comes of it (the
            # deploy stops, a SIGHUP round is called off, or the worker is tried again).
            why = (
                f"and with reload off nothing would reload {them}: not serving"
                if link is None
                else "so this worker does not serve"
            )
            raise NotServing(f"{files} did not load (above), {why}", EXIT_NOT_LOADED)
        if settings.health is not None:
            clash = health_clash(settings.health, settings.prefixes, sidecar.registry)
            if clash is not None:
                await sidecar.close()
                raise NotServing(str(setting_error(settings, "health", clash)), EXIT_CONFIG)
            worker = None if link is None else link.index
            sidecar.intake.answer_health(Health(settings.health, sidecar.backplane, worker))
        try:
            if link is None or link.accepting:
                chosen = await _listen(sidecar, settings, chosen, reuse_port=link is not None)
        except CannotBind as exc:
            await sidecar.close()
            code = 1 if link is None else EXIT_CANNOT_LISTEN
            raise NotServing(cannot_listen(settings, exc.error, exc.host, exc.port), code) from None
        if link is None:
            announce(sidecar, settings, chosen)
            restart = await _until_restart(stop, hup, sidecar, settings, rebuild)
        else:
            link.ready(sidecar.describe(), served_files(settings), sidecar.background())
            quieting = asyncio.ensure_future(_stop_accepting(quiet, sidecar, link))
            restart = await _until_restart(stop, hup, sidecar, settings, rebuild)
            if quiet.is_set():
                await quieting  # its listener closes, whatever comes next
            else:
                quieting.cancel()
        if restart is None:
            # What a log reader needs to tell a stop from a crash, how long it took, and how
            # many clients were cut off without their closing handshake.
            closing = tuple(sidecar.intake.sessions)
            count = len(closing)
            # A worker that SIGHUP replaced is stopped by its parent's SIGTERM: said as the
            # roll's, so that a search for who stopped the service finds no stop here.
            replaced = quiet.is_set() and stopped_by[0] == "SIGTERM"
            head = "SIGHUP: replaced, now stopping" if replaced else f"{stopped_by[0]}: stopping"
            log(
                f"{head}; closing {count} connection{'s' * (count != 1)} "
                f'with 1001 "{CloseReason.GOING_AWAY}" (within {settings.shutdown_timeout:g} s)',
                _level(stopped_by),
            )
            started = time.monotonic()
            # Probes get 503 from now on. One process keeps its listener open for them while
            # the connections close (new upgrades get 503); a worker closes its own at once,
            # so that the kernel gives new connections (probes too) to the other workers.
            sidecar.intake.draining = True
            await sidecar.close(keep_listening=link is None and settings.health is not None)
            watch.cancel()
            took = time.monotonic() - started
            cut = _cut(sum(session.cut for session in closing))
            if link is None:
                log(f"stopped in {took:.2f} s{'; ' * bool(cut)}{cut}")
            elif cut:  # the parent says when every worker stopped
                log(cut)
            return
        settings, why = restart
        configure_logging(settings.log_level, name="wsside" if link is None else link.name)
        log(f"{why}: restarting")
        await sidecar.close(CloseCode.SERVICE_RESTART, CloseReason.SERVICE_RESTART)


async def _listen(sidecar: Sidecar, settings: Settings, chosen: int, *, reuse_port: bool) -> int:
    """Listen on `settings.port` on each of `settings.host`'s addresses, all on one port; with
    port 0, on `chosen` once the system chose one (0 before the first start). Returns the
    port listened on. Raises `CannotBind`, naming the address that could not listen."""
    hosts = settings.host
    port = settings.port or chosen
    if port == 0 and len(hosts) > 1:
        port = check_port(hosts, 0)  # one port free on every address
    for host in hosts:
        try:
            await sidecar.serve_tcp(host, port, reuse_port=reuse_port)
        except OSError as exc:
            raise CannotBind(host, port, exc) from None
        port = port or sidecar.runner.addresses[0][1]
    return port


@contextmanager
def _signals_noted(stopped_by: list[str], *signals: signal.Signals) -> Iterator[None]:
    """Within the block, the name of each of `signals` goes to `stopped_by` as it arrives.
    The event loop's own handlers for them (which note them too) run only once the loop turns,
    which loading the handler files (imports, in this thread) holds up; its wake-up descriptor
    still hears them. A second SIGINT (Ctrl-C again) ends the process at once: an import
    that never returns would otherwise hold the stop for ever."""

    def noted(number: int, _frame: object) -> None:
        name = signal.Signals(number).name
        if number == signal.SIGINT and name in stopped_by:
            log("SIGINT again while starting: exiting now, before the handler files loaded")
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # killed by it, as a shell expects
            os.kill(os.getpid(), signal.SIGINT)
            os._exit(130)  # (where a signal to oneself does not end it)
        stopped_by.append(name)

    previous = [(sig, signal.getsignal(sig)) for sig in signals]
    for sig in signals:
        signal.signal(sig, noted)
    try:
        yield
    finally:
        for sig, handler in previous:
            signal.signal(sig, handler)


def _cut(count: int) -> str:
    """How many connections were cut off at a stop ("" for none)."""
    if count == 0:
        return ""
    if count == 1:
        return "1 connection did not answer the close and was cut"
    return f"{count} connections did not answer the close and were cut"


def _ignore() -> None:
    pass


def _level(stopped_by: list[str]) -> str:
    """How loud the line saying why the process stops is: a signal is an operator's stop, a
    supervisor that died is not."""
    return "warning" if stopped_by[0] == PARENT_GONE else "info"


async def _stop_accepting(quiet: asyncio.Event, sidecar: Sidecar, link: WorkerLink) -> None:
    """Once the parent asks (SIGHUP replaces this worker): close the listener, so that the
    kernel gives every new connection to the other workers, and tell the parent. The open
    connections stay until the parent tells this worker to stop (once every old worker has
    stopped accepting, none of their clients can reconnect to an old one)."""
    await quiet.wait()
    sidecar.intake.draining = True  # an upgrade on a connection open here gets 503
    for site in tuple(sidecar.runner.sites):
        await site.stop()
    link.not_accepting()
    count = len(sidecar.intake.sessions)
    log(
        f"SIGHUP: replaced; no longer accepting connections (its {count} open "
        f"{'connection gets' if count == 1 else 'connections get'} 1001 once no old worker "
        "accepts)"
    )


async def _until_restart(
    stop: asyncio.Event,
    hup: asyncio.Event,
    sidecar: Sidecar,
    settings: Settings,
    rebuild: Callable[[], Settings],
) -> tuple[Settings, str] | None:
    """Wait for SIGTERM/SIGINT (None), or for what restarts the sidecar: a valid change of
    the config file, or SIGHUP (the settings to restart with, and why)."""
    while True:
        stopping = asyncio.ensure_future(stop.wait())
        changed = asyncio.ensure_future(next_settings(sidecar.config_changed, settings, rebuild))
        hupped = asyncio.ensure_future(hup.wait())
        waiters = (stopping, changed, hupped)
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if stop.is_set():
            return None
        if changed.done() and not changed.cancelled():
            new = changed.result()
            return new, f"{changed_file(settings, new)} changed"
        hup.clear()
        try:
            return rebuild(), "SIGHUP (handler files and config file read again)"
        except (ConfigError, OptionError) as exc:
            emit(config_error_event(exc))
            log("SIGHUP: not restarting: the config file has an error (above)", "error")


def cannot_listen(settings: Settings, exc: OSError, host: str, port: int) -> str:
    """Why the sidecar (or `--workers`' check of the port) cannot listen on `host` (one of
    `settings.host`'s addresses) and `port`, in a sentence."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is in use (stop what uses it, or --port N)"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    if isinstance(exc, socket.gaierror):  # not an address, nor a name that resolves
        problem = f"cannot listen there: {exc.strerror or exc}"
        return str(setting_error(replace(settings, host=(host,)), "host", problem))
    return f"cannot listen on {where}: {exc.strerror or exc}"
