"""How `wsside serve` runs once its settings are built: under Vite (`--ipc`), as one process
on the port, or as the parent of `--workers N`; and the lines it starts with."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer

from .. import __version__
from .._edge.loop import LoopChoiceError, engines, run
from .._edge.same_port import CannotBind, check_port, workers_supported
from .._edge.server import Sidecar
from .._edge.standalone import NotServing, cannot_listen, serve_standalone
from .._edge.worker_link import WorkerLink
from .._edge.workers import Workers
from .._runtime.backplane_url import BackplaneError, check_backplane
from .._runtime.config import ConfigError, OptionError, setting_error
from .._runtime.events import log, shown, subscribe
from .._runtime.repeats import flush_all
from .._runtime.settings import Settings
from .console import ConsoleReporter, list_endpoints, note_no_endpoints, say, served_at

T = TypeVar("T")


def run_under_vite(
    settings: Settings | ConfigError | OptionError, rebuild: Callable[[], Settings]
) -> None:
    """The sidecar under the Vite shim (`--ipc`); a config error stands there until fixed."""
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


def supervise(settings: Settings, rebuild: Callable[[], Settings]) -> int:
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
    # (SIGHUP is ignored from `main()` on, until the loop handles it: replacing the workers.)
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
        tasks = infos[0].get("background") or []
        if tasks and settings.backplane is not None:
            say(
                f"wsside: background tasks run in each of the {len(infos)} workers: "
                f"{', '.join(tasks)}; what one broadcasts reaches every client from each "
                '(docs/deploy.md, "Background tasks run once per worker", elects one)'
            )

    return _run_loop(supervisor.run(ready))


def check_backplane_setting(settings: Settings) -> None:
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
        check_backplane_setting(settings := rebuild())
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


def serve_alone(
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
