"""`wsside doctor --serve`: what a production `wsside serve` needs beyond loading the handler
files (docs/deploy.md): several workers on this system, a backplane that Redis answers and
lets publish and subscribe, the site's origins, error frames that do not carry `str(exc)`, and
a heartbeat that keeps a proxy from dropping quiet sockets. Plain `wsside doctor` runs these
too in a folder of handler files that is no Vite project, after a row saying so."""

from __future__ import annotations

import importlib.util
import os
import sys

from .._edge.admission import LOCAL_PAGES_NOTE, NULL_ORIGIN_NOTE, local_pages_of_a_site
from .._edge.loop import LoopChoiceError, loop_factory
from .._edge.same_port import workers_supported
from .._install import pip_install, wsside_requirement
from .._runtime.backplane_outage import advice
from .._runtime.backplane_url import (
    NO_PASSWORD,
    BackplaneError,
    RedisMissing,
    check_backplane,
    for_redis,
    no_password,
    safe_url,
)
from .._runtime.backplane_wire import HEAD, VERSION, channel
from ..handler import Handler
from .model import Check, failed, passed, warned
from .project import Project

__all__ = [
    "check_backplane_reachable",
    "check_engines",
    "check_error_details",
    "check_heartbeat",
    "check_origins",
    "check_vite_project",
    "check_workers",
]

# The row at the top of plain `wsside doctor` in a folder that is no Vite project.
WITHOUT_VITE_SAYS = "no Vite project here: checking for wsside serve (as wsside doctor --serve)"


def check_vite_project(project: Project) -> Check:
    """Says why a plain `wsside doctor` runs `--serve`'s checks: no vite.config, and no
    package.json that depends on vite, in this folder, above it or below it."""
    return passed("vite project", WITHOUT_VITE_SAYS)


def check_workers(project: Project) -> Check:
    count = project.settings.workers
    if count == 1:
        return passed("workers", "1 process (`--workers N` or `workers = N` for more)")
    problem = workers_supported()
    if problem is not None:
        return failed("workers", f"{count} workers: {problem}", "serve one process here")
    return passed("workers", f"{count} processes sharing the port")


def check_engines(project: Project) -> Check:
    """The event loop and JSON codec that WSSIDE_LOOP and WSSIDE_JSON choose, as `wsside serve`
    checks them before serving (a choice it cannot honour: its own line, and it exits 2)."""
    from .._protocol.codec import JSON_ENGINE

    try:
        factory = loop_factory()
    except LoopChoiceError as exc:
        return failed("engines", str(exc), "correct or unset the variable in serve's environment")
    return passed("engines", f"{'asyncio' if factory is None else 'uvloop'}, {JSON_ENGINE}")


def check_backplane_reachable(project: Project) -> Check:
    """The backplane's URL, redis-py, and Redis itself: it answers, takes the URL's password,
    and lets this user publish on the backplane's channel and subscribe to it (an ACL user
    needs that channel, `&wsside:0` or `&wsside:0:shop`, or `&wsside:*`, and +publish
    +subscribe +ping, and +select for a database other than 0)."""
    url = project.settings.backplane
    if url is None:
        if project.settings.workers > 1:
            return warned(
                "backplane",
                f"none: with {project.settings.workers} workers, a broadcast reaches only the "
                "connections of the worker it was sent from",
                'set backplane = "redis://host:6379/0" in wsside.toml (with redis-py: '
                f"{_install_redis()})",
            )
        return passed("backplane", "none: one process, whose broadcasts reach all its clients")
    try:
        check_backplane(url)
    except RedisMissing as exc:
        return failed("backplane", str(exc), _install_redis())
    except BackplaneError as exc:
        flag = "backplane" in project.settings.given
        fix = "correct --backplane" if flag else "correct `backplane` in the config file"
        return failed("backplane", str(exc), fix)
    shown = safe_url(url)
    if not project.live:  # a build step, where Redis is not there yet
        return passed("backplane", f"{shown}: a usable URL (Redis not asked: --no-live)")
    answer = _ask_redis(url, project.timeout)
    if answer is not None:
        return failed("backplane", f"{shown}: {answer[0]}", answer[1])
    return passed("backplane", f"{shown}: Redis answers, and lets wsside publish and subscribe")


def _install_redis() -> str:
    """The command that adds redis-py (the `redis` extra) to the Python that serves."""
    return pip_install(sys.executable, wsside_requirement("redis"))


def _ask_redis(url: str, timeout: float) -> tuple[str, str] | None:
    """What Redis says to what `wsside serve` asks of it (None: all went): a ping, a publish
    on the backplane's channel, and a subscription to it; with the fix, which is what
    `wsside serve`'s outage line adds (`advice`). What it publishes is a message of no
    broadcasts, which the processes there read as such. It leaves the subscription by
    closing the connection, as serve does: an UNSUBSCRIBE would need a right serve never
    uses."""
    if importlib.util.find_spec("redis") is None:
        return "redis-py is not installed", _install_redis()  # said first
    from redis import Redis
    from redis.exceptions import AuthenticationError, RedisError

    client = Redis.from_url(for_redis(url), socket_connect_timeout=timeout, socket_timeout=timeout)
    pubsub = client.pubsub()
    try:
        client.ping()
        client.publish(channel(url), HEAD.pack(VERSION, os.urandom(8)))
        pubsub.subscribe(channel(url))
        if pubsub.get_message(timeout=timeout) is None:
            return (
                f"no answer to SUBSCRIBE within {timeout:g} s",
                "connect to Redis itself: a proxy in between may not pass pub/sub",
            )
    except RedisError as exc:
        where = "the socket's path" if url.lower().startswith("unix:") else "host and port"
        fix = advice(url, exc) or f"start Redis there, or correct {where} in the URL"
        if isinstance(exc, AuthenticationError) and no_password(url) is not None:
            # redis-py's words are about HELLO and AUTH: what the serve's outage line says
            return f"{type(exc).__name__}: {NO_PASSWORD}", fix
        return f"{type(exc).__name__}: {exc}", fix
    finally:
        pubsub.close()
        client.close()
    return None


def check_origins(project: Project) -> Check:
    settings = project.settings
    if not settings.allowed_origins:
        return warned(
            "origins",
            "no allowed_origins: pages of your site get 403 (only pages on this machine and "
            "clients that are not browsers are taken)",
            'allowed_origins = ["https://your.site"] in wsside.toml (or --allow-origin)',
        )
    shown = ", ".join(settings.allowed_origins)
    if "null" in settings.allowed_origins:
        return warned(
            "origins",
            f"{shown}; {NULL_ORIGIN_NOTE}",
            "take null out of allowed_origins (or --allow-origin) unless your pages are file:// "
            "pages",
        )
    if local_pages_of_a_site(settings.allowed_origins, settings.loopback_origins):
        return warned(
            "origins",
            f"{shown}; {LOCAL_PAGES_NOTE}",
            "loopback_origins = false in wsside.toml (or --no-loopback-origins)",
        )
    return passed("origins", shown)


def check_error_details(project: Project) -> Check:
    if project.settings.handler_defaults.get("error_details") is False:
        return passed("error details", "error frames say only 'Internal error'")
    return warned(
        "error details",
        "a raising callback's error frame carries str(exc), which may hold what a client must "
        "not see (a database URL in a connection error)",
        "[defaults] error_details = false in wsside.toml",
    )


def check_heartbeat(project: Project) -> Check:
    """Each served handler's heartbeat, its own or the config file's [defaults]: without one, a
    reverse proxy (nginx's proxy_read_timeout is 60 s) or a load balancer drops a quiet
    socket, which the client sees as 1006 and nothing logs (docs/deploy.md)."""
    default = project.settings.handler_defaults.get("heartbeat")
    served = [h for r in project.loaded if r.error is None for h in r.handlers if not h.disabled]
    if not served:
        return passed("heartbeat", "no handler imported here to read it from")
    unset = [h for h in served if "heartbeat" not in h._given_options() and not default]
    off = [h for h in served if "heartbeat" in h._given_options() and not h.heartbeat]
    if not unset and not off:
        beats = sorted({_beat(h, default) for h in served})
        every = ", ".join(f"{b:g}" for b in beats)
        return passed("heartbeat", f"{len(served)} handler(s) ping every {every} s")
    named = [f"{h.pattern.source} ({_at(project, h)})" for h in unset] + [
        f"{h.pattern.source} ({_at(project, h)}, heartbeat off)" for h in off
    ]
    listed = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    fixes = []
    if unset:
        config = project.config.file
        where = "wsside.toml" if config is None else project.relative(config)
        table = "[tool.wsside.defaults]" if where.endswith("pyproject.toml") else "[defaults]"
        fixes.append(f"{table} heartbeat = 30 in {where}")
    if off:
        fixes.append(f"heartbeat=30 at {', '.join(_at(project, h) for h in off)}")
    return warned(
        "heartbeat",
        f"no heartbeat: {listed}; a reverse proxy or load balancer drops a quiet WebSocket "
        "(nginx after 60 s by default), which the client sees as 1006 with nothing in the log",
        " and ".join(fixes),
    )


def _beat(h: Handler, default: object) -> float:
    if "heartbeat" in h._given_options():
        return float(h.heartbeat or 0)
    return float(default) if isinstance(default, (int, float)) else 0.0


def _at(project: Project, h: Handler) -> str:
    return f"{project.relative(h.file)}:{h.line}"
