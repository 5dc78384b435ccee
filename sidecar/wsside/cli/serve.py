"""`wsside serve`: the handler files on a port (standalone) or, with `--ipc`, under the
Vite shim."""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer

from .. import __version__
from .._edge.ending import drop_output_to_gone_readers
from .._edge.logs import configure_logging, use_log_format
from .._edge.loop import LoopChoiceError, engines, run
from .._edge.open_files import raise_open_file_limit
from .._edge.same_port import CannotBind, check_port, workers_supported
from .._edge.server import Sidecar
from .._edge.standalone import NotServing, cannot_listen, serve_standalone
from .._edge.worker_link import WorkerLink
from .._edge.workers import Workers
from .._runtime.backplane_url import BackplaneError, check_backplane
from .._runtime.config import ConfigError, OptionError, build_settings, setting_error
from .._runtime.config_keys import LOG_FORMATS
from .._runtime.events import log, logger, shown, subscribe
from .._runtime.repeats import flush_all
from .._runtime.settings import Settings
from .app import app
from .command_end import ends_past_threads
from .console import (
    ConsoleReporter,
    list_endpoints,
    note_exposure,
    note_no_endpoints,
    note_origins,
    say,
    served_at,
)
from .vite_options import vite_handlers_hint
from .worker_env import worker_link

T = TypeVar("T")


def _left_running(threads: str) -> None:
    # Through the log handler, after the stop line: `12:00:01 wsside: …` (a worker's name in
    # it), a warning line in Vite's terminal under Vite.
    logger.warning(
        f"wsside: exiting without waiting for {threads}, which handler code started and left "
        "running (stop a thread from a @handler.background task's finally: docs/patterns.md, "
        '"A producer in a thread")'
    )


@app.command()
@ends_past_threads(_left_running)
def serve(
    ctx: typer.Context,
    # The defaults are shown with `show_default`, not written into the help: the options
    # default to None ("not given") so that the config file can fill them in.
    # A string, not a Path: typer makes "" the current folder, and "" is a mistake to name.
    handlers: str | None = typer.Option(
        None, metavar="FOLDER", help="Folder of handler files.", show_default="ws"
    ),
    prefix: list[str] | None = typer.Option(
        None, metavar="PREFIX", help="URL prefix, repeat for several.", show_default="/api"
    ),
    host: list[str] | None = typer.Option(
        None,
        metavar="HOST",
        help="Interface to listen on, repeat for several on the same port: --host 0.0.0.0 "
        "--host :: for IPv4 and IPv6 (:: alone is IPv6 only).",
        show_default="127.0.0.1",
    ),
    port: int | None = typer.Option(
        None, metavar="PORT", help="TCP port to listen on.", show_default="8765"
    ),
    config: Path | None = typer.Option(
        None,
        metavar="FILE",
        help="Config file (wsside.toml or pyproject.toml).",
        show_default="found in the current folder, else beside the handlers folder",
    ),
    reload: bool | None = typer.Option(
        None,
        "--reload/--no-reload",
        metavar="",
        help="Reload handler files on save.",
        show_default="on",
    ),
    log_level: str | None = typer.Option(
        None,
        metavar="LEVEL",
        help="debug, info, warning or error; info shows when each connection opens and closes.",
        show_default="info",
    ),
    log_format: str | None = typer.Option(
        None,
        metavar="FORMAT",
        help="text, or json: each line on stderr one JSON object (time, level, logger, "
        "message, worker, pid, exc), for a log aggregator.",
        show_default="text",
    ),
    allow_origin: list[str] | None = typer.Option(
        None,
        metavar="ORIGIN",
        show_default=False,
        help="A browser origin allowed besides loopback ones, e.g. http://devbox:5173 "
        "(repeat for several).",
    ),
    loopback_origins: bool | None = typer.Option(
        None,
        "--loopback-origins/--no-loopback-origins",
        metavar="",
        help="Accept pages served from this machine (localhost, 127.0.0.1, [::1]); "
        "production can turn this off.",
        show_default="on",
    ),
    workers: int | None = typer.Option(
        None, metavar="N", help="Processes sharing the port (Linux).", show_default="1"
    ),
    backplane: str | None = typer.Option(
        None,
        metavar="URL",
        show_default=False,
        help="Redis URL carrying broadcasts between processes and hosts: "
        "redis://host:port/db or rediss://...; ?channel=NAME keeps applications on one Redis "
        "apart (pip install 'wsside[redis]'). A password (redis://user:PASSWORD@host...) goes "
        "in wsside.toml's backplane, not here: every local user can read a command line.",
    ),
    shutdown_timeout: float | None = typer.Option(
        None,
        metavar="SECONDS",
        help="On SIGTERM, seconds to close the connections (1001 Going Away) and exit.",
        show_default="10",
    ),
    health: str | None = typer.Option(
        None,
        metavar="PATH",
        show_default=False,
        help="A path answering load balancers' health probes, e.g. /healthz: 200 and a JSON "
        "body while serving, 503 once stopping.",
    ),
    forwarded_allow_ips: list[str] | None = typer.Option(
        None,
        metavar="IPS",
        show_default="none",
        help="Reverse proxies trusted to name the client in X-Forwarded-For: IP addresses and "
        "networks, comma-separated as uvicorn's (127.0.0.1,10.0.0.0/8) or repeated, or '*' "
        "for any. The client's address is then request.remote and the access log's.",
    ),
    ipc: bool = typer.Option(
        False,
        "--ipc",
        hidden=True,
        help="Run under the Vite shim (control channel on NODE_CHANNEL_FD).",
    ),
) -> None:
    """Serve the handler files at ws://HOST:PORT/PREFIX/...

    Options given here win over the config file, which wins over the defaults.
    """
    if sys.platform == "win32":
        typer.echo(
            "wsside: `wsside serve` needs Linux or macOS (Unix signals and sockets); "
            "on Windows, run it and Vite inside WSL",
            err=True,
        )
        raise typer.Exit(1)
    # A handler (or a library it imports) that crashes the interpreter, a segfault in a C
    # extension, say, leaves its Python stack on stderr: the file and line to look at, in
    # Vite's terminal under the shim. Costs nothing until then.
    with contextlib.suppress(AttributeError, ValueError, OSError):  # stderr without a descriptor
        faulthandler.enable()
    # What a handler prints goes out line by line, as in a terminal, when stdout is a pipe too
    # (systemd's journal, a container's log): else it would wait for 8 KB or for the exit. And
    # once the reader of stdout or stderr has gone (Vite after Ctrl-C, `| tee` likewise), what
    # is written there is dropped, not raised as BrokenPipeError into the handler code that
    # printed (a background task's `finally` goes on to its end): `_edge/ending.py`.
    drop_output_to_gone_readers()
    if isinstance(sys.stdout, io.TextIOWrapper) and not sys.stdout.line_buffering:
        sys.stdout.reconfigure(line_buffering=True)
    explicit = given_settings(ctx.params)
    # A worker of `--workers N` (this same command, started by the supervising parent).
    link = worker_link()
    name = "wsside" if link is None else link.name  # what starts each line it writes
    if link is not None:
        explicit["port"], explicit["host"] = link.port, link.host
    search = (Path.cwd(), *((Path(handlers).resolve().parent,) if handlers else ()))
    if not ipc and log_format is not None and log_format.lower() in LOG_FORMATS:
        # An error in the config file (exit 2) is a JSON line too, when the flag asks for them.
        use_log_format(log_format.lower(), name)

    def rebuild() -> Settings:
        # Standalone, a handlers folder that is not there is a mistake; under Vite the
        # shim's default folder may be created later (reload watches for it).
        settings = build_settings(explicit, config, search, need_handlers=not ipc)
        if not ipc:
            # Settings read again are served (a SIGHUP, a saved config file: the sidecar
            # restarts with them, `configure_logging` then sets their log level; a SIGHUP's
            # new workers) or equal the ones served: their format holds from now on. Under
            # Vite the lines are the shim's: `log_format` is for `wsside serve` alone.
            use_log_format(settings.log_format, name)
        return settings

    try:
        settings = rebuild()
        _check_backplane(settings)
    except (ConfigError, OptionError) as exc:
        if not ipc:
            say(f"{name}: {exc}{vite_handlers_hint(exc)}", level="error")
            raise typer.Exit(2) from None
        # Under Vite the error stands in Vite's terminal and overlay, and the sidecar serves
        # once the file is fixed.
        configure_logging(Settings.log_level, under_vite=True)
        raise_open_file_limit()
        _run_ipc(exc, rebuild)
        return
    except BackplaneError as exc:
        say(f"{name}: {exc}", level="error")
        raise typer.Exit(2) from None
    configure_logging(
        settings.log_level,
        under_vite=ipc,
        name=name,
        log_format=None if ipc else settings.log_format,
    )
    raise_open_file_limit()
    if ipc:
        _run_ipc(settings, rebuild)
        return
    if link is None:
        note_origins(settings)
        note_exposure(settings)
    if link is None and settings.workers > 1:
        raise typer.Exit(_supervise(settings, rebuild))
    _serve_standalone(settings, rebuild, link)


def given_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The `Settings` values of `wsside serve`'s options, from its parsed parameters by name
    (None: not given); `wsside doctor --serve -- OPTIONS` reads them the same way."""
    handlers, prefix, origins = params["handlers"], params["prefix"], params["allow_origin"]
    # The options named as their `Settings` field, which need no conversion.
    same = (
        "port reload log_level log_format loopback_origins workers backplane shutdown_timeout "
        "health"
    )
    return {
        "handlers_dir": handlers,  # as typed: `build_settings` refuses "" and makes it a Path
        "prefixes": tuple(prefix) if prefix else None,
        "allowed_origins": tuple(origins) if origins else None,
        # Each --host, in order: `build_settings` refuses one given twice.
        "host": tuple(params["host"]) if params["host"] else None,
        # Each --forwarded-allow-ips as typed: `build_settings` splits them at commas.
        "forwarded_allow_ips": (
            tuple(params["forwarded_allow_ips"]) if params["forwarded_allow_ips"] else None
        ),
        **{key: params[key] for key in same.split()},
    }


def _run_ipc(
    settings: Settings | ConfigError | OptionError, rebuild: Callable[[], Settings]
) -> None:
    from .._edge.shim_mode import run_ipc  # only under Vite

    run_ipc(settings, rebuild)


def _run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on the chosen event loop (uvloop when installed); a bad WSSIDE_LOOP is
    one line and exit 2."""
    try:
        return run(main)
    except LoopChoiceError as exc:
        say(f"wsside: {exc}", level="error")
        raise typer.Exit(2) from None


def _supervise(settings: Settings, rebuild: Callable[[], Settings]) -> int:
    """The parent of `settings.workers` workers: each runs this same command line (and
    reads the config file again, as `rebuild` does, when SIGHUP replaces it)."""
    problem = workers_supported()
    if problem is not None:
        say(f"wsside: {problem}", level="error")
        return 2
    try:
        port = check_port(settings.host, settings.port)
    except CannotBind as exc:
        say(f"wsside: {cannot_listen(settings, exc.error, exc.host, exc.port)}", level="error")
        return 1
    subscribe(ConsoleReporter())
    # Until the loop handles it (replacing the workers), SIGHUP would kill the parent.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if settings.backplane is None:
        say(
            f"wsside: {settings.workers} workers without --backplane: rooms and broadcasts stay "
            "within each worker, so a broadcast reaches only the connections of the worker it "
            "was sent from (--backplane redis://HOST:6379/0 links them)",
            level="warning",
        )
    command = [sys.executable, "-m", "wsside", *sys.argv[1:]]
    supervisor = Workers(
        command,
        settings.workers,
        settings.host,
        port,
        settings.shutdown_timeout,
        lambda: _problem(rebuild, settings),
    )

    def ready(infos: list[dict[str, Any]]) -> None:
        list_endpoints(ws_base(settings.host[0], port), infos[0]["handlers"], settings)
        pids = ", ".join(str(info["pid"]) for info in infos)
        say(
            f"wsside {__version__} serving on {_served_on(settings, port)} "
            f"with {len(infos)} workers (pids {pids}; {engines()})"
        )
        note_no_endpoints(settings, infos[0]["handlers"])

    return _run_loop(supervisor.run(ready))


def _check_backplane(settings: Settings) -> None:
    """`check_backplane`, whose error names the config file's line when the URL is the
    file's (a ConfigError: under Vite it stands until the file is saved without it)."""
    if settings.backplane is None:
        return
    try:
        check_backplane(settings.backplane)
    except BackplaneError as exc:
        if "backplane" in settings.given or settings.config_file is None:
            raise
        raise setting_error(settings, "backplane", str(exc).removeprefix("backplane: ")) from None


def _problem(rebuild: Callable[[], Settings], running: Settings) -> str | None:
    """What stops a worker started now (one line: file, key, value), or None; says which
    settings changed in the file keep their `running` value until a restart of the service."""
    try:
        _check_backplane(settings := rebuild())
    except (ConfigError, OptionError, BackplaneError) as exc:
        return str(exc)
    fixed = [
        f"{key} = {_toml(key, new)}"
        for key, new, now in (
            ("workers", settings.workers, running.workers),
            ("host", settings.host, running.host),
            ("port", settings.port, running.port),
        )
        if new != now
    ]
    if fixed:
        log(
            f"SIGHUP: {shown(settings.config_file or 'the config file')} sets "
            f"{', '.join(fixed)}: these take a restart of the service; the workers are "
            "replaced with the rest of it",
            "warning",
        )
    return None


def _serve_standalone(
    settings: Settings, rebuild: Callable[[], Settings], link: WorkerLink | None
) -> None:
    """One process on the port (or a worker of `--workers N`, as `link`): its status events
    and, when it cannot serve, why, on the console."""
    name = "wsside" if link is None else link.name  # what starts each line it writes
    subscribe(ConsoleReporter(name))
    try:
        _run_loop(serve_standalone(settings, rebuild, link, _announce))
    except NotServing as exc:
        say(f"{name}: {exc}", level="error")
        raise typer.Exit(exc.code) from None
    finally:
        flush_all()  # the counts of the last windows, when stopped within them


def ws_base(host: str, port: int) -> str:
    """`ws://host:port`, an IPv6 address in brackets (`ws://[::1]:8765`) as URLs have it."""
    return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"


def _served_on(settings: Settings, port: int) -> str:
    """Where the start line says the server serves: each address (`--host`) with its prefixes
    (`ws://127.0.0.1:8765/api/ and ws://[::1]:8765/api/`; with several prefixes, one address
    after the other: `ws://127.0.0.1:8765/api/ and /rt/; ws://[::1]:8765/api/ and /rt/`)."""
    each = [served_at(ws_base(host, port), settings) for host in settings.host]
    if len(settings.prefixes) > 1:
        return "; ".join(each)
    return each[0] if len(each) == 1 else f"{', '.join(each[:-1])} and {each[-1]}"


def _toml(key: str, value: object) -> str:
    """A setting as the config file writes it; `host`: a list when it names several."""
    if key == "host" and isinstance(value, tuple):
        return json.dumps(list(value) if len(value) > 1 else value[0])
    return json.dumps(value)


def _announce(sidecar: Sidecar, settings: Settings, port: int) -> None:
    base = ws_base(settings.host[0], port)
    list_endpoints(base, sidecar.describe(), settings)
    say(f"wsside {__version__} serving on {_served_on(settings, port)} ({engines()})")
    note_no_endpoints(settings, sidecar.describe(), sidecar.registry.unserved_failures())
