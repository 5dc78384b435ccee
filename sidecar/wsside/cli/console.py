"""Status events printed for a person, when the sidecar runs standalone (`wsside serve`),
and its start-up lines: the endpoints it serves, where, and what it lets in."""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .._edge.admission import (
    LOCAL_PAGES_NOTE,
    NULL_ORIGIN_NOTE,
    is_loopback_origin,
    local_pages_of_a_site,
)
from .._edge.logs import json_line, json_lines, mark_lines
from .._runtime.backplane_url import safe_url
from .._runtime.events import error_headline, log, logger, shown
from .._runtime.settings import Settings

__all__ = [
    "ConsoleReporter",
    "list_endpoints",
    "note_exposure",
    "note_no_endpoints",
    "note_origins",
    "say",
    "served_at",
]


def say(text: str, stream: TextIO | None = None, level: str = "info") -> None:
    """Write `text` and a newline to `stream` (stderr) in one write, its lines marked with
    `level`'s priority when stderr is systemd's journal. A stream whose reader has gone (a log
    pipe closed: `| head`, a log shipper restarting) takes nothing more, and the server goes
    on serving: what was to be read is lost either way."""
    _write(mark_lines(text, level), stream)


def _write(line: str, stream: TextIO | None = None) -> None:
    """`say` for a line made already (its priority, or a JSON object)."""
    out = sys.stderr if stream is None else stream
    try:
        out.write(line + "\n")
        out.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass


class ConsoleReporter:
    def __init__(self, name: str = "wsside", stream: TextIO = sys.stderr) -> None:
        # `name` starts each line: a worker's index shows which process speaks.
        self.name = name
        self.stream = stream

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        where = f"{shown(event['file'])}:{event.get('line')}" if event.get("file") else ""
        if kind in ("load_error", "runtime_error") and json_lines():
            # One JSON line (`--log-format json`): the traceback in `exc`, not lines of its own.
            exc = event.get("traceback") or None
            _write(
                json_line(f"{self.name}: {error_headline(event)}", "error", exc=exc), self.stream
            )
        elif kind in ("load_error", "runtime_error"):
            traceback = event.get("traceback")
            self._print(
                f"{self.name}: {error_headline(event)}" + (f"\n{traceback}" if traceback else ""),
                "error",
            )
        elif kind in ("loaded", "reloaded"):
            patterns = ", ".join(event.get("patterns", [])) or "no handlers"
            said = "added" if event.get("new") else kind  # a file created while serving
            self._print(
                f"{self.name}: {said} {shown(event['file'])} ({patterns}) in {event.get('ms')} ms"
                + _because(event)
            )
        elif kind == "config_error":
            self._print(
                f"{self.name}: config error (still serving the previous settings): "
                f"{where or (shown(event['file']) if event.get('file') else '?')}: "
                f"{event.get('message')}",
                "error",
            )
        elif kind == "removed":
            self._print(f"{self.name}: removed {shown(event['file'])}")
        elif kind == "log":
            self._print(f"{self.name}: {event.get('message')}", event.get("level", "info"))
        elif kind == "stall":
            self._print(f"{self.name}: {event.get('message')}", "warning")
        elif kind == "importing" and logger.isEnabledFor(logging.DEBUG):
            # Before each handler file's code runs: the last one names a file that ends the
            # process as it loads (`os._exit`, a C extension's crash), as Vite's terminal does.
            self._print(f"{self.name}: importing {shown(event['file'])}", "debug")

    def _print(self, text: str, level: str = "info") -> None:
        # The same clock as the log lines (`configure_logging` in `_edge/logs.py`). One write
        # with its newline: workers share the terminal (or pipe), and `print` writes the end
        # separately, so two workers' lines could run into one.
        line = text.rstrip("\n")
        if json_lines():
            say(line, self.stream, level)  # `say` makes it a JSON line, its clock its own
            return
        if self.name != "wsside":  # a worker: its traceback lines say whose they are too
            line = line.replace("\n", f"\n{self.name}: ")
        say(f"{time.strftime('%H:%M:%S')} {line}", self.stream, level)


# The saved helpers a `reloaded` line names, at most: the rest are counted.
_NAMED_HELPERS = 3


def _because(event: dict[str, Any]) -> str:
    """A file reloaded for the helpers it imports (`because`) names them, as Vite's terminal
    does (node_shim/lib/events.js): `: it imports ws/_state.py, which changed`; '' else."""
    files = [shown(file) for file in event.get("because") or ()]
    if not files:
        return ""
    if len(files) > _NAMED_HELPERS:
        files = [*files[:_NAMED_HELPERS], f"{len(files) - _NAMED_HELPERS} more"]
    listed = files[0] if len(files) == 1 else f"{', '.join(files[:-1])} and {files[-1]}"
    return f": it imports {listed}, which changed"


def list_endpoints(base: str, handlers: list[dict[str, Any]], settings: Settings) -> None:
    """One line for each endpoint under each prefix (`handlers`, the sidecar's table, has its
    path under the first prefix only), prefix by prefix, as Vite's terminal lists them."""
    for prefix in settings.prefixes or ("",):
        for info in handlers:
            where = f"{shown(info['file'])}:{info['line']}"
            off = "  [disabled]" if info.get("disabled") else ""  # as Vite's terminal marks it
            say(f"  WS  {base}{prefix}{info['pattern']}  ({where}){off}")
    if settings.backplane is not None:
        say(f"  backplane {safe_url(settings.backplane)}")


def served_at(base: str, settings: Settings) -> str:
    """Where the start line says the server serves: `base` and the first prefix, then each
    other prefix (`ws://127.0.0.1:8765/api/ and /rt/`; `/api/, /rt/ and /x/`)."""
    first, *others = [f"{prefix}/" for prefix in settings.prefixes or ("",)]
    if not others:
        return f"{base}{first}"
    return f"{base}{', '.join([first, *others[:-1]])} and {others[-1]}"


def note_no_endpoints(
    settings: Settings, handlers: list[dict[str, Any]], unloaded: list[Path] | None = None
) -> None:
    """An empty handlers folder (a deploy that copied nothing, a wrong working folder) serves
    404 to everything: say so, where no endpoint list does. Files that failed to load
    (`unloaded`, their errors said above) are what is missing then, not a Handler."""
    if handlers:
        return
    if unloaded:
        files = ", ".join(shown(path) for path in unloaded)
        log(
            f"no endpoints: {files} did not load (see above), so every request gets 404 "
            "until a fix is saved",
            "warning",
        )
        return
    later = (
        "reload is off, so none will load later"
        if not settings.reload
        else "files saved there load by themselves"
    )
    log(
        f"no endpoints: {settings.handlers_dir.resolve()} declares no Handler, so every "
        f"request gets 404 ({later})",
        "warning",
    )


def note_origins(settings: Settings) -> None:
    """Warnings for allowed origins that admit more than a site's own pages."""
    if local_pages_of_a_site(settings.allowed_origins, settings.loopback_origins):
        say(
            f"wsside: {LOCAL_PAGES_NOTE}; in production, --no-loopback-origins (config: "
            "loopback_origins = false) turns them off",
            level="warning",
        )
    if "null" in settings.allowed_origins:
        say(
            f"wsside: {NULL_ORIGIN_NOTE}; take it out of --allow-origin (config: "
            "allowed_origins) unless your pages are file:// pages",
            level="warning",
        )


def note_error_details(settings: Settings) -> None:
    """The case `wsside doctor --serve` warns of in its error details check, said at start
    when the server looks like a site's (an `https://` allowed origin, or listening beyond
    loopback): a raising callback's error frame carries `str(exc)` to the client."""
    if settings.handler_defaults.get("error_details") is False:
        return
    site = any(
        origin.startswith("https://") and not is_loopback_origin(origin)
        for origin in settings.allowed_origins
    )
    if not site and not any(_beyond_loopback(host) for host in settings.host):
        return
    file = settings.config_file
    table = "[tool.wsside.defaults]" if file is not None and file.name == "pyproject.toml" else None
    where = f"{table or '[defaults]'} error_details = false in " + (
        shown(file) if file is not None else "wsside.toml"
    )
    say(
        "wsside: a raising callback's error frame carries str(exc) to the client, which may "
        f"hold what a client must not see (a database URL in a connection error): in "
        f"production, {where}",
        level="warning",
    )


def note_exposure(settings: Settings) -> None:
    """The case `wsside doctor --serve` warns of in its origins check (no allowed_origins),
    said at start when the server is reachable from other machines."""
    exposed = next((host for host in settings.host if _beyond_loopback(host)), None)
    if settings.allowed_origins or exposed is None:
        return
    local, off = "", ""
    if settings.loopback_origins:
        local = f", and {LOCAL_PAGES_NOTE}"
        off = ", and --no-loopback-origins (config: loopback_origins = false) turns those off"
    say(
        f"wsside: listening on {exposed}, beyond loopback, with no allowed_origins: "
        f"clients that are not browsers (no Origin header) are accepted from the network{local}; "
        "pages of your site get 403: --allow-origin https://your.site (config: allowed_origins) "
        f"lets them in{off}",
        level="warning",
    )


def _beyond_loopback(host: str) -> bool:
    """Whether `host` listens on an address that is not loopback (0.0.0.0, ::, a LAN address,
    a name resolving to one); a host that does not resolve is left to the listen's error."""
    try:
        found = socket.getaddrinfo(host or None, None, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        return False
    return any(
        not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in found
    )
