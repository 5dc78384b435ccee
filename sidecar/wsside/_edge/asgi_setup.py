"""What `ASGIApp(...)` checks and arranges when it is made: its arguments, the options an
ASGI server owns, where wsside's status events go, and its backplane (its handlers folder:
`asgi_folder.py`).

Errors name the argument (or the handler file and line) and what was expected; they are
raised by `ASGIApp(...)` itself, usually at the import of the user's ASGI module, before any
server runs.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._runtime import events
from .._runtime.config import ConfigError, config_search, find_config, load_config
from .._runtime.events import logger, shown
from .._runtime.module_names import HANDLERS_PACKAGE
from .._runtime.origins import origin_problem
from ..handler import Handler
from ..handler_options import Deflate

if TYPE_CHECKING:
    from .._runtime.redis_backplane import Deliver, RedisBackplane
    from .._runtime.registry import Registry

__all__ = [
    "RunBackplane",
    "handler_list",
    "log_events",
    "note_refused_code",
    "origin_set",
    "served_handler",
    "warn_at_start",
    "warn_imported_twice",
    "warn_no_lifespan",
]

# Options and callbacks that an ASGI server, not the application, provides or cannot pass on,
# and what the start-up warning says of each (the rows of docs/asgi.md's table).
_SERVER_OWNED = {
    "heartbeat": "which does not hold under ASGI: the server sends the pings (uvicorn "
    "--ws-ping-interval and --ws-ping-timeout; hypercorn --websocket-ping-interval)",
    "per_message_deflate": "which does not hold under ASGI: the server negotiates compression "
    "(uvicorn --ws-per-message-deflate, on by default; hypercorn always accepts the offer)",
    "on_ping": "which is not called under ASGI: the server answers pings itself and no ASGI "
    "event carries them",
    "on_pong": "which is not called under ASGI: no ASGI event carries a pong",
}


# Where the server's own options are set, for [defaults] that name them.
_SERVER_SETTING = {
    "heartbeat": "uvicorn --ws-ping-interval, hypercorn --websocket-ping-interval",
    "per_message_deflate": "uvicorn --ws-per-message-deflate; hypercorn always accepts it",
}


def origin_set(allowed: Iterable[str] | None) -> frozenset[str]:
    """`allowed_origins` as given, checked: an iterable of strings (not one string)."""
    if allowed is None:
        return frozenset()
    if isinstance(allowed, str):
        raise TypeError(
            f"ASGIApp(allowed_origins={allowed!r}): expected a list of origins, e.g. [{allowed!r}]"
        )
    if not isinstance(allowed, Iterable) or isinstance(allowed, (Mapping, bytes, bytearray)):
        raise TypeError(
            f"ASGIApp(allowed_origins={allowed!r}): expected a list of origins, e.g. "
            "['https://example.com'] (the loopback ones are in by default: loopback_origins)"
        )
    origins = frozenset(allowed)
    for origin in origins:
        if not isinstance(origin, str):
            raise TypeError(f"ASGIApp(allowed_origins=...): {origin!r} is not a string")
        problem = origin_problem(origin)
        if problem is not None:
            raise ValueError(f"ASGIApp(allowed_origins=...): {origin!r}: {problem}")
    return origins


def handler_list(handlers: object, caller: str = "ASGIApp") -> list[Handler]:
    """`handlers` as given, checked: an iterable of `Handler` objects (not one, nor bytes);
    `caller` is what the errors name (`ASGIApp`, `wsside.testing.serve`)."""
    if not isinstance(handlers, Iterable) or isinstance(handlers, (bytes, bytearray)):
        raise TypeError(
            f"{caller}(handlers={handlers!r}): expected a folder or a list of Handler objects "
            "(for one handler: [handler])"
        )
    found = list(handlers)
    for handler in found:
        if not isinstance(handler, Handler):
            raise TypeError(f"{caller}(handlers=...): {handler!r} is not a Handler")
    return found


def served_handler(registry: Registry, pattern: str) -> Handler:
    """The `Handler` that serves `pattern`, for `ASGIApp.handler`."""
    hub = registry.hubs.get(pattern)
    if hub is None:
        known = ", ".join(sorted(registry.hubs)) or "none"
        raise KeyError(
            f"ASGIApp.handler({pattern!r}): no Handler of this app declares that pattern "
            f"(the patterns: {known})"
        )
    return hub.handler


def warn_at_start(registry: Registry, folder: Path, *, backplane: bool) -> None:
    """What the start says about settings that do not hold under ASGI; `backplane`: whether
    the app was given one."""
    _warn_server_owned(registry)
    _warn_config_unread(folder, backplane)


def _warn_config_unread(folder: Path, backplane: bool) -> None:
    """A warning when a config file beside the app sets what would be taken to hold here:
    ASGIApp reads no config file. `[defaults]` (such as `error_details = false`), and a
    `backplane` when the app has none (the dev server's file names one, and production's
    processes would quietly not share their rooms)."""
    try:
        here = Path.cwd()
        # A list of handlers comes as the cwd, which names no handlers folder to look beside.
        handlers = None if folder.resolve() == here.resolve() else folder
        values, path = load_config(find_config(*config_search(here, handlers)) or here)
    except (ConfigError, OSError):  # not ours to judge here: wsside serve and Vite say why
        return
    if path is None:
        return
    defaults = sorted(values.get("handler_defaults") or ())
    # What the server owns holds on no Handler either: say where it is set instead.
    own = [name for name in defaults if name not in _SERVER_SETTING]
    server = [name for name in defaults if name in _SERVER_SETTING]
    if defaults:
        fix = [f"set {', '.join(own)} on each Handler"] if own else []
        fix += [f"{name} is the server's: {_SERVER_SETTING[name]}" for name in server]
        logger.warning(
            "wsside: ASGIApp reads no config file: the [defaults] of %s (%s) do not apply "
            "here; %s (docs/asgi.md)",
            path,
            ", ".join(defaults),
            "; ".join(fix),
        )
    if values.get("backplane") and not backplane:
        logger.warning(
            "wsside: ASGIApp reads no config file: the backplane of %s does not apply here, "
            "and this process's broadcasts stay in it; pass ASGIApp(..., backplane=...) "
            "(docs/asgi.md)",
            path,
        )


def _warn_server_owned(registry: Registry) -> None:
    """A warning for each option of `_SERVER_OWNED` that a handler sets (given in its
    declaration: defaults left alone say nothing) to other than what the server does, and
    each such callback it has."""
    for handlers in registry.files.values():
        for handler in handlers:
            for name, why in _SERVER_OWNED.items():
                setting = _owned_setting(handler, name)
                if setting is not None:
                    logger.warning(
                        "wsside: %s sets %s, %s (docs/asgi.md: What holds under ASGI)",
                        handler.pattern.source,
                        setting,
                        why,
                    )


def _owned_setting(handler: Handler, name: str) -> str | None:
    """How `handler` sets `name`, as written (`heartbeat=30`), or None when it leaves it
    alone or sets what the server does anyway (`per_message_deflate=True`: both uvicorn, by
    default, and hypercorn accept the client's offer)."""
    if name.startswith("on_"):
        return name if handler.callbacks[name] is not None else None
    if name not in handler._given_options():
        return None
    value = getattr(handler, name)
    if name == "per_message_deflate":
        if value == Deflate():
            return None
        return f"{name}={value or False!r}"
    return f"{name}={value or 0:g}"


def warn_imported_twice(registry: Registry) -> None:
    """A warning for each handler file that the app imported itself (`from ws.chat import
    chat`): that module is apart from the one loaded here, and its Handlers serve nothing."""
    loaded = {path for path in registry.files if path.suffix == ".py"}
    names = {path.name for path in loaded}
    for name, module in tuple(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or name.startswith(HANDLERS_PACKAGE + "."):
            continue
        if os.path.basename(file) not in names or (path := Path(file).resolve()) not in loaded:
            continue
        logger.warning(
            "wsside: %s is imported by the app as %s, apart from the copy ASGIApp loads from "
            "its folder: its Handler serves no connection and its broadcast reaches no one; "
            "push through the one served instead, ws.handler(%r) (docs/asgi.md)",
            path,
            name,
            next(
                (v.pattern.source for v in vars(module).values() if isinstance(v, Handler)),
                "/ws/...",
            ),
        )


_warned_no_lifespan = False
# The ASGIApps a lifespan started in this process, and their handlers folders.
lifespan_folders: weakref.WeakKeyDictionary[object, Path] = weakref.WeakKeyDictionary()


def warn_no_lifespan(app: object, folder: Path | None) -> None:
    """Once per process, at the first connection of a run that no lifespan event started:
    the one moment ASGIApp can be sure to speak (uvicorn's SIGTERM ends the process right
    after the server's lifespan shutdown, which never reaches it). `folder`: the app's
    handlers folder, when it has one; another app of that folder whose lifespan started is
    the likely slip (`FastAPI(lifespan=ASGIApp("ws").lifespan)`, then a second one mounted).
    The same app's own lifespan of an earlier run (`with TestClient(app)` in a test before
    one without `with`) is no other app."""
    global _warned_no_lifespan
    if _warned_no_lifespan:
        return
    _warned_no_lifespan = True
    if folder is not None and any(
        other is not app and seen == folder for other, seen in lifespan_folders.items()
    ):
        logger.warning(
            "wsside: no lifespan event reached this ASGIApp of %s, but one reached another "
            "ASGIApp of the same folder: each imports the handler files and runs their "
            "background tasks, so they run twice. Make one and give it both places: "
            "ws = ASGIApp(...); FastAPI(lifespan=ws.lifespan); app.mount('/api', ws)",
            shown(folder),
        )
    elif "daphne.server" in sys.modules:  # it sends none, whatever the app does
        logger.warning(
            "wsside: daphne sends no lifespan events, so ASGIApp's background tasks and "
            "backplane start with this first connection and stop when the process ends, and "
            "at daphne's shutdown an on_close still running may not finish (docs/asgi.md: "
            "Other servers and frameworks)"
        )
    else:
        logger.warning(
            "wsside: no lifespan event reached ASGIApp, so its background tasks and backplane "
            "start with this first connection and stop only when the event loop closes, which "
            "uvicorn's SIGTERM never lets happen (their finally blocks do not run), and nothing "
            "waits for an on_close still running when the server's graceful timeout ends. "
            "Mounted in Starlette or FastAPI (a Mount passes no lifespan events on), give the "
            "outer app its lifespan: Starlette(..., lifespan=ws.lifespan), "
            "FastAPI(lifespan=ws.lifespan), or `async with ws.lifespan(app): yield` in a "
            "lifespan of your own; under an ASGI function of your own that sends each scope "
            "to an app (Django's asgi.py), send it the 'lifespan' scopes; on its own, serve it "
            "without uvicorn's --lifespan off; "
            "in a test, FastAPI's TestClient sends lifespan events inside `with "
            "TestClient(app)` only (docs/asgi.md)"
        )


_logging_events = False


def log_events() -> None:
    """Under ASGI nobody reads wsside's status events: errors and warnings go to the
    `wsside` logger instead (once per process, however many apps)."""
    global _logging_events
    if not _logging_events:
        _logging_events = True
        events.subscribe(_log_event)


def _log_event(event: dict[str, Any]) -> None:
    kind = event.get("type")
    if kind in ("load_error", "runtime_error"):
        traceback = event.get("traceback")
        logger.error(
            "wsside: %s%s", events.error_headline(event), f"\n{traceback}" if traceback else ""
        )
    elif kind == "log":
        level = logging.getLevelName(str(event.get("level", "info")).upper())
        logger.log(
            level if isinstance(level, int) else logging.INFO, "wsside: %s", event["message"]
        )


class RunBackplane:
    """The backplane of an `ASGIApp`, which its hubs publish through: a new Redis backplane
    for each run (each lifespan startup, or first connection without one). A backplane is
    started once, in the event loop that serves, and closed when done; one process can serve
    the same app on one loop after another (a server started per test, a test client)."""

    def __init__(self, url: object, deliver: Deliver) -> None:
        if not isinstance(url, str):  # e.g. the app's own Redis client
            kind = type(url)
            raise TypeError(
                f"ASGIApp(backplane=...): expected a redis://, rediss:// or unix:// URL such as "
                f"'redis://localhost:6379/0', got a {kind.__module__}.{kind.__qualname__}"
            )
        self._url = url
        self._deliver = deliver
        self._current = self._new()  # a bad URL fails when the app is made
        self._started = False

    def _new(self) -> RedisBackplane:
        from .._runtime.redis_backplane import backplane_from_url

        return backplane_from_url(self._url, self._deliver)

    def publish(
        self, pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
    ) -> None:
        self._current.publish(pattern, rooms, opcode, payload)

    async def start(self) -> None:
        if self._started:
            self._current = self._new()
        self._started = True
        await self._current.start()

    async def close(self) -> None:
        await self._current.close()


_codes_refused: set[int] = set()


def note_refused_code(code: int) -> None:
    """Said once per code and process: the server would not send close code `code` (daphne
    sends 1000 and 3000-4999 only), so its clients get 1000 for it."""
    if code not in _codes_refused:
        _codes_refused.add(code)
        logger.warning(
            "wsside: this ASGI server refused to send close code %d (daphne sends only 1000 "
            "and 3000-4999): its clients get 1000 instead; on_close still gets %d",
            code,
            code,
        )
