"""`wsside serve`: the handler files on a port (standalone) or, with `--ipc`, under the
Vite shim."""

from __future__ import annotations

import contextlib
import faulthandler
import io
import sys
from pathlib import Path
from typing import Any

import typer

from .._edge.ending import drop_output_to_gone_readers
from .._edge.logs import configure_logging, use_log_format
from .._edge.open_files import low_open_file_limit, raise_open_file_limit
from .._runtime.backplane_url import BackplaneError
from .._runtime.config import ConfigError, OptionError, build_settings, config_search
from .._runtime.config_keys import LOG_FORMATS
from .._runtime.events import logger
from .._runtime.settings import Settings
from .app import app
from .command_end import ends_past_threads
from .console import (
    note_error_details,
    note_exposure,
    note_origins,
    say,
)
from .vite_options import vite_handlers_hint
from .worker_env import worker_link


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
        "message, worker, host, pid, exc), for a log aggregator.",
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
    # The server (aiohttp's web stack, the engine) loads here, not where the command is
    # registered: `wsside doctor`, `init` and `types` load this module too and never serve.
    from .serve_run import check_backplane_setting, run_under_vite, serve_alone, supervise

    explicit = given_settings(ctx.params)
    # A worker of `--workers N` (this same command, started by the supervising parent).
    link = worker_link()
    name = "wsside" if link is None else link.name  # what starts each line it writes
    if link is not None:
        explicit["port"], explicit["host"] = link.port, link.host
    search = config_search(Path.cwd(), handlers)
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
        check_backplane_setting(settings)
    except (ConfigError, OptionError) as exc:
        if not ipc:
            say(f"{name}: {exc}{vite_handlers_hint(exc)}", level="error")
            raise typer.Exit(2) from None
        # Under Vite the error stands in Vite's terminal and overlay, and the sidecar serves
        # once the file is fixed.
        configure_logging(Settings.log_level, under_vite=True)
        raise_open_file_limit()
        run_under_vite(exc, rebuild)
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
        run_under_vite(settings, rebuild)
        return
    if link is None:
        note_origins(settings)
        note_exposure(settings)
        note_error_details(settings)
        if (low := low_open_file_limit()) is not None:
            say(f"{name}: {low}", level="warning")
    if link is None and settings.workers > 1:
        raise typer.Exit(supervise(settings, rebuild))
    serve_alone(settings, rebuild, link)


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
