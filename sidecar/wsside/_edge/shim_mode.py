"""Shim mode (`wsside serve --ipc`): the sidecar as a child of Vite's Node process.

The control channel is Node's IPC channel (`NODE_CHANNEL_FD`); the same channel carries
handed-over client sockets. Connections the shim cannot hand over (HTTPS dev server) arrive
on a Unix socket in a private temporary folder, guarded by the per-run secret in
`WSSIDE_SECRET`. The sidecar stops on a `shutdown` message (clients get 1001), and also
when the channel reaches EOF or its parent process changes, so a `kill -9` of Vite never
leaves it behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import __version__
from .._places import folder_problem
from .._runtime.backplane_url import safe_url
from .._runtime.config import ConfigError, OptionError, setting_error
from .._runtime.config_watch import changed_file, first_valid_settings, next_settings
from .._runtime.events import log, logger, subscribe, unsubscribe
from .._runtime.missing_module import under_vite
from .._runtime.repeats import flush_all
from .._runtime.settings import Settings
from .._runtime.stray_handlers import kept_elsewhere
from ..closecodes import CloseCode, CloseReason
from .control import PROTOCOL_VERSION, ProtocolMismatch, message, parse
from .environ import take_from_environment
from .handoff import take_over
from .logs import configure_logging, own_line, take_mark
from .loop import LoopChoiceError
from .loop import run as run_loop
from .node_ipc import NodeChannel
from .not_found import NotFoundNotes
from .server import NODE_HEAD_LIMITS, Sidecar
from .shim_events import ShimEvents
from .socket_folder import SOCKET_NAME, private_folder
from .unseen_types import note_unseen_types

__all__ = ["run_ipc"]

# The `family` of a `connection` message (Node's names) as socket families.
_FAMILIES = {"IPv4": socket.AF_INET, "IPv6": socket.AF_INET6}
PARENT_POLL = 0.25
# Graceful close budgets: on `shutdown` the shim waits for us; on EOF the contract is to be
# gone within 2 s of Vite's death.
CLOSE_BUDGET_SHUTDOWN = 5.0
CLOSE_BUDGET_ORPHANED = 1.5
# Beyond its budget, how long a close stuck in user code may go on before the process leaves.
CLOSE_GUARD = 0.4


def run_ipc(
    settings: Settings | ConfigError | OptionError,
    rebuild: Callable[[], Settings] | None = None,
) -> None:
    """Serve under the Vite shim until told to stop; exits the process.

    `rebuild` reads the settings again as start-up did; given it, a changed config file
    restarts serving in-process with the new settings. `settings` may be the error that
    start-up found in the config instead: it goes to Vite's terminal and overlay, and the
    sidecar serves once the file is fixed (with `rebuild`).
    """
    fd = os.environ.pop("NODE_CHANNEL_FD", None)
    os.environ.pop("NODE_CHANNEL_SERIALIZATION_MODE", None)
    if fd is None:
        sys.exit(
            "wsside serve --ipc is started by vite-plugin-wsside; run `wsside serve` "
            "to serve without Vite."
        )
    under_vite(Path.cwd())  # the plugin runs it in vite.config's folder
    # Taken out so that user code (and its subprocesses) never sees the secret, nor another
    # process of this user through /proc/<pid>/environ. So is the mark of wsside's own lines
    # (`logs.py`; `configure_logging` took it already when `serve` called it).
    secret = take_from_environment("WSSIDE_SECRET")
    take_mark()
    if isinstance(settings, Settings):
        secret = settings.secret = secret or settings.secret
    if rebuild is not None:
        read_config = rebuild
        rebuild = lambda: dataclasses.replace(read_config(), secret=secret)  # noqa: E731
    # Ctrl-C reaches the whole terminal process group; Vite decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = run_loop(_ShimMode(settings, int(fd), rebuild).run())
    except LoopChoiceError as exc:  # WSSIDE_LOOP or WSSIDE_JSON: one line in Vite's terminal
        sys.exit(own_line(str(exc)))
    flush_all()  # the counts of the last windows (a restarting Vite still shows them)
    sys.exit(code)


class _ShimMode:
    """One sidecar process under the shim: its control channel, its Unix socket, and the
    sidecar it serves (again after each config change) until the shim or Vite goes."""

    def __init__(
        self,
        settings: Settings | ConfigError | OptionError,
        fd: int,
        rebuild: Callable[[], Settings] | None,
    ) -> None:
        # Until the config is valid (start-up found an error in it), the error.
        self.error = settings if not isinstance(settings, Settings) else None
        self.settings = settings if isinstance(settings, Settings) else Settings()
        self.rebuild = rebuild
        self.fd = fd
        self.stop = asyncio.Event()
        self.budget = CLOSE_BUDGET_SHUTDOWN
        self.exit_code = 0
        self.sidecar: Sidecar | None = None
        self.channel: NodeChannel | None = None
        # Made once the handler files have loaded (see _serve_once).
        self.folder: str | None = None
        # Set when the shim is gone (the channel's EOF, or a new parent process).
        self.orphaned = threading.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        self.channel = NodeChannel(self.fd, self._on_message, self._on_handle, self._on_eof)
        events = ShimEvents(self.channel, lambda: self.sidecar)
        subscribe(events.relay)
        threading.Thread(
            target=self._watch_parent, args=(loop, os.getppid()), name="wsside-parent", daemon=True
        ).start()
        try:
            if self.error is not None:
                assert self.rebuild is not None
                first = await first_valid_settings(self.error, self.rebuild, self.stop)
                if first is None:
                    return self.exit_code
                self.settings, self.error = first, None
            while await self._serve_once():
                pass
        finally:
            unsubscribe(events.relay)
            self.channel.close()
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
        return self.exit_code

    async def _serve_once(self) -> bool:
        """Serve until stopped (False) or until the config file changes into new settings
        (True: serve again with them, after closing clients with 1012)."""
        assert self.channel is not None
        configure_logging(self.settings.log_level, under_vite=True)
        sidecar = self.sidecar = Sidecar(self.settings, NODE_HEAD_LIMITS)
        sidecar.intake.not_found = NotFoundNotes(
            sidecar.registry, self.settings.prefixes, self.settings.handlers_dir, root=Path.cwd()
        )
        missing = _missing_folder(self.settings)
        if missing is not None:
            # Vite's terminal would only say "no handlers yet": say where they are looked for
            # and which setting chose that folder. Serving goes on: the folder may come later.
            log(missing, "warning")
        await sidecar.start()
        # Made once the handler files have loaded: a sidecar that dies before its `ready`
        # (killed during a slow import, or a handler file that exits) cannot clean up, and
        # the shim learns the folder's name only from `ready`.
        if self.folder is None:
            self.folder = private_folder()
        path = os.path.join(self.folder, SOCKET_NAME)
        await web.UnixSite(sidecar.runner, path).start()
        os.chmod(path, 0o600)
        # Without its folder no handler is known, nor while a file that never loaded fails
        # (`Sidecar.types`): no types then, and the types file keeps the last ones (an
        # emptied one would fail `tsc` on every page that uses them).
        types = None if missing else sidecar.types()
        self.channel.send(
            message(
                "ready",
                pid=os.getpid(),
                protocol=PROTOCOL_VERSION,
                version=__version__,
                python=sys.executable,
                prefixes=list(self.settings.prefixes),
                socket=path,
                handlers=sidecar.describe(),
                # Files that failed and never served: "no handlers yet" would be wrong then.
                unloaded=[str(path) for path in sidecar.registry.unserved_failures()],
                **({} if types is None else {"types": types}),
                # Masked: Vite's terminal confirms the channel a dev server shares.
                **backplane_field(self.settings),
            )
        )
        note_unseen_types(sidecar.registry.endpoints(), Path.cwd())
        stopping = asyncio.ensure_future(self.stop.wait())
        rebuilt = (
            asyncio.ensure_future(
                next_settings(sidecar.config_changed, self.settings, self.rebuild)
            )
            if self.rebuild is not None
            else None
        )
        waiters: set[asyncio.Future[Any]] = {stopping}  # each read through its own name below
        if rebuilt is not None:
            waiters.add(rebuilt)
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        # Upgrades from now on would be refused (503) while clients close: the shim holds
        # them for the next `ready`, this process's after a config change or its successor's.
        if not self.orphaned.is_set():
            self.channel.send(message("draining"))
        if stopping in done or rebuilt is None:
            # `close` plans its own steps within the budget (slow clients are cut off, every
            # on_close runs); the guard only bounds a close that hangs in user code.
            budget = self.budget
            try:
                await asyncio.wait_for(
                    sidecar.close(CloseCode.GOING_AWAY, CloseReason.GOING_AWAY, timeout=budget),
                    budget + CLOSE_GUARD,
                )
            except asyncio.TimeoutError:
                pass
            return False
        changed = changed_file(self.settings, rebuilt.result())
        self.settings = rebuilt.result()
        open_now = len(sidecar.intake.sessions)
        log(
            f"{changed} changed: "
            "restarting the server in the same sidecar process"
            + (f" ({_connections(open_now)} closed with 1012, to reconnect)" if open_now else "")
        )
        await sidecar.close(CloseCode.SERVICE_RESTART, CloseReason.SERVICE_RESTART)
        return True

    def _on_message(self, obj: Any) -> None:
        try:
            msg = parse(obj)
        except ProtocolMismatch as exc:
            self._mismatch(exc)
            return
        if msg is not None and msg["type"] == "shutdown":
            self.stop.set()

    def _mismatch(self, exc: ProtocolMismatch) -> None:
        """The shim speaks another protocol version: say so (it shows the message) and exit 3."""
        assert self.channel is not None
        self.channel.send(message("protocol_error", message=str(exc)))
        self.exit_code = 3
        self.stop.set()

    def _on_handle(self, obj: Any, fd: int) -> asyncio.BaseTransport | None:
        try:
            msg = parse(obj)
            head = msg.get("head") if msg is not None and msg["type"] == "connection" else None
            if msg is None or not isinstance(head, str) or self.sidecar is None:
                os.close(fd)
                return None
            raw = head.encode("latin-1")  # one character per byte (see PROTOCOL.md)
            # With the family given, the socket object is made without asking the kernel
            # for the descriptor's type and protocol (two getsockopt calls).
            named = msg.get("family")
            family = _FAMILIES.get(named) if isinstance(named, str) else None
            sock = (
                socket.socket(family, socket.SOCK_STREAM, 0, fd)
                if family is not None
                else socket.socket(fileno=fd)
            )
        except (UnicodeEncodeError, OSError):  # not one character per byte; not a socket
            os.close(fd)
            return None
        except ProtocolMismatch as exc:
            os.close(fd)
            self._mismatch(exc)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            return take_over(self.sidecar.intake, sock, raw, nodelay=msg.get("noDelay") is True)
        except Exception:  # noqa: BLE001 - one connection's failure must not stop the channel
            logger.exception("wsside: could not serve a handed-over connection")
            sock.close()
            return None

    def _on_eof(self) -> None:
        self.budget = CLOSE_BUDGET_ORPHANED
        self.orphaned.set()
        self.stop.set()

    def _watch_parent(self, loop: asyncio.AbstractEventLoop, parent: int) -> None:
        """A thread, so that it also works while the event loop is blocked (a handler file's
        import, a callback that never yields), when nothing else would notice that Vite is
        gone. The channel's EOF normally tells first; a new parent also covers a channel
        that a grandchild process inherited and keeps open."""
        while not self.orphaned.wait(PARENT_POLL):
            if os.getppid() != parent:
                try:
                    loop.call_soon_threadsafe(self._on_eof)
                except RuntimeError:  # the loop has closed: the process is leaving anyway
                    return
                break
        # `orphaned` is set by the loop (`_on_eof`): a loop that runs closes every connection
        # within its budget and the process exits; one that does not answer, or is still
        # here after the budget, is blocked, and the process leaves without a goodbye.
        if self.orphaned.wait(PARENT_POLL):
            time.sleep(CLOSE_BUDGET_ORPHANED + CLOSE_GUARD)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        os.kill(os.getpid(), signal.SIGKILL)


def _missing_folder(settings: Settings) -> str | None:
    """Why the handlers folder cannot be served from, naming the setting that chose it (the
    plugin's `handlers` option, the config file's key at its line, or the default); None
    when it is a folder."""
    folder = settings.handlers_dir
    problem = folder_problem(folder)
    if problem is None:
        return None
    doctor = "`wsside doctor` finds handler files kept in another folder"
    if "handlers_dir" in settings.given:  # the plugin gives its option as --handlers
        return (
            f"wsside({{ handlers }}) in vite.config: {problem}: {folder}: create it, or "
            f"correct the option ({doctor})"
        )
    if settings.config_file is not None:
        error = setting_error(settings, "handlers", f"{problem}: create it, or correct the key")
        if error.line is not None:  # the key is set in the file
            return f"{error} ({doctor})"
    elsewhere = kept_elsewhere(folder)
    if elsewhere:  # `src/ws/chat.py` beside vite.config's `root: 'src'`
        return f"no handlers folder at {folder.resolve()} (the default){elsewhere}"
    return (
        f"no handlers folder at {folder.resolve()} (the default, ws/ beside vite.config): "
        f"create it, or set `handlers` in wsside() in vite.config or in wsside.toml ({doctor})"
    )


def _connections(count: int) -> str:
    return "1 connection" if count == 1 else f"{count} connections"


def backplane_field(settings: Settings) -> dict[str, str]:
    """`ready`'s `backplane`: the URL (its password masked) when one is configured."""
    return {} if settings.backplane is None else {"backplane": safe_url(settings.backplane)}
