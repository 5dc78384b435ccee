"""What is decided before a WebSocket is accepted, whichever server carries it: the Origin
rule, the handler's `authenticate`, and what comes after it (`decide`: a server that is
stopping, the subprotocol).

The three ways in, `wsside serve`'s aiohttp server (`intake.py`), a socket the shim hands
over (`handoff.py`) and `ASGIApp` (`asgi.py`), each route the request, then call
`authenticate`, then `decide`, so that they answer the same request the same way; each turns
a `Refusal` into its own kind of HTTP response. A new rule before the 101 goes into `decide`
(or, if it needs no handler, into the routing), not into the three callers.
"""

from __future__ import annotations

import inspect
import ipaddress
import weakref
from collections.abc import Awaitable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from yarl import URL

from .._places import place, shown
from .._runtime.callbacks import USER_ERRORS
from .._runtime.events import log, report_runtime_error
from .._runtime.origins import has_origin_form
from .._runtime.repeats import REPEAT_WINDOW, Repeats
from ..request import unsecret

if TYPE_CHECKING:
    from .._runtime.settings import Settings
    from ..handler import Handler
    from ..request import Request

__all__ = [
    "LOCAL_PAGES_NOTE",
    "NULL_ORIGIN_NOTE",
    "SHUTTING_DOWN",
    "Admitted",
    "Refusal",
    "Verdict",
    "authenticate",
    "check_origin",
    "choose_subprotocol",
    "decide",
    "is_loopback_origin",
    "local_pages_of_a_site",
    "origin_allowed",
]


class Refusal(NamedTuple):
    """An HTTP status and a one-line body to refuse the upgrade with."""

    status: int
    text: str


FORBIDDEN = Refusal(403, "Forbidden")
SHUTTING_DOWN = Refusal(503, "Service Unavailable: shutting down")


class Admitted(NamedTuple):
    """An upgrade to accept: with this subprotocol (None: without one), and the metadata
    `authenticate` returned (None: nothing to add)."""

    protocol: str | None
    metadata: dict[str, Any] | None


def origin_allowed(origin: str, allowed: Collection[str], loopback: bool) -> bool:
    """Whether a browser page from `origin` may open a socket: those in `allowed`, and
    loopback origins (a dev machine's own pages) unless `loopback` is off. Any web site's page
    could otherwise open sockets to the server with the user's cookies."""
    return origin in allowed or (loopback and is_loopback_origin(origin))


def is_loopback_origin(origin: str) -> bool:
    """Whether `origin` is that of a page served from this machine: `localhost`, a name under
    it, `127.0.0.0/8` or `[::1]`."""
    if not has_origin_form(origin):  # other forms never come from a page
        return False
    try:
        host = URL(origin).host
    except ValueError:  # not a URL at all, e.g. "http://[::1"
        return False
    if host is None:  # includes the opaque origin "null"
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # An IPv4-mapped address (`[::ffff:7f00:1]`) is no loopback name to the plugin either;
    # Python 3.13 started to call it loopback, 3.10–3.12 do not: one answer on every version.
    return address.is_loopback and getattr(address, "ipv4_mapped", None) is None


# Said once at start when `local_pages_of_a_site`; each server adds how to turn them off.
LOCAL_PAGES_NOTE = (
    "pages served from localhost are accepted too, on every visitor's machine (a local "
    "program's page could open a socket with their cookies)"
)


# Said once at start when "null" is an allowed origin; each server adds how to take it out.
NULL_ORIGIN_NOTE = (
    'the allowed origin "null" is the Origin of every sandboxed frame and file:// page, so any '
    "website can open sockets here through a sandboxed iframe; clients that are not browsers "
    "send no Origin and are accepted without it"
)


# What a refused `Origin: null` most likely is, said in the refusal.
NULL_REFUSED_NOTE = (
    "a page opened as a file (file://) sends it, as a sandboxed frame does: serve the page over "
    "http (accepting null would let in every website's sandboxed frames)"
)


def local_pages_of_a_site(allowed: Collection[str], loopback: bool) -> bool:
    """Whether a server that names a site (an `https://` origin) also accepts pages served
    from localhost. A dev machine's own pages are why loopback origins are on by default;
    for a site they are every visitor's localhost."""
    return loopback and any(origin.startswith("https://") for origin in allowed)


def check_origin(
    origins: Sequence[str],
    path: str,
    allowed: Collection[str],
    loopback: bool,
    settings: Settings | None = None,
    *,
    app: bool = False,
) -> Refusal | None:
    """403 (and a warning naming the origin) for a browser origin `origin_allowed` refuses,
    given the request's `Origin` values; None to go on. A request without `Origin` does not
    come from a browser page; one with two is from no browser (RFC 6454 §7.3) and is refused,
    as Node refuses the two joined into one value. The warnings are summarised (`Repeats`):
    a client can send any number of Origins, and the log is read at warning level. The
    `settings` of `wsside serve` (where `allowed` and `loopback` come from) let the warning
    say which flag or config file set them; `app`, that they are an `ASGIApp`'s arguments
    (the warning then shows the one to give, as a site's own pages are refused too until it
    is listed)."""
    if not origins:
        return None
    if len(origins) > 1:
        sent = f"Origin sent {len(origins)} times {list(origins)!r}"
        _origin_refusals.add(f"refused {path}: {sent}", f"{path}: {sent}")
        return FORBIDDEN
    origin = origins[0]
    if origin_allowed(origin, allowed, loopback):
        return None
    why = _why_refused(origin, allowed, loopback, settings)
    if origin == "null":
        why += f": {NULL_REFUSED_NOTE}"
    elif loopback or not is_loopback_origin(origin):
        if app:
            why += (
                f": if it is a page of yours, ASGIApp(..., allowed_origins=[{origin!r}]) accepts it"
            )
        elif settings is not None:  # `wsside serve`
            # A refusal in production is most often a stranger's page: the way in is for
            # the site's own pages, which the operator recognises.
            why += (
                f": if it is a page of yours, --allow-origin {origin} (config: allowed_origins) "
                "accepts it"
            )
    _origin_refusals.add(f"refused {path}: Origin {origin!r} {why}", f"{path}: Origin {origin!r}")
    return FORBIDDEN


def _why_refused(
    origin: str, allowed: Collection[str], loopback: bool, settings: Settings | None
) -> str:
    """Why `origin` is refused, naming the setting that decided it and, for `wsside serve`,
    where it was set: the flag, or the config file (else a default, or an `ASGIApp` argument
    of that name)."""
    if not loopback and is_loopback_origin(origin):
        source = _source(settings, "loopback_origins", "--no-loopback-origins", True)
        return f"is a loopback origin, and loopback_origins is off{source}"
    source = _source(settings, "allowed_origins", "--allow-origin", bool(allowed))
    if loopback:
        return f"is not a loopback origin nor in allowed_origins{source}"
    return f"is not in allowed_origins{source}"


def _source(settings: Settings | None, field: str, flag: str, from_file: bool) -> str:
    """` (FLAG)` when `field` of `settings` was given as a flag, ` (FILE)` when the config
    file set it (`from_file`: its value is not the default), else ""."""
    if settings is None:
        return ""
    if field in settings.given:
        return f" ({flag})"
    if settings.config_file is not None and from_file:
        return f" ({shown(settings.config_file)})"
    return ""


def _more_refused(count: int, last: str) -> str:
    upgrades = "1 more upgrade" if count == 1 else f"{count} more upgrades"
    return f"refused {upgrades} for their Origin in the last {REPEAT_WINDOW:g} s (the last: {last})"


# The first few distinct refusals are written, the rest counted: one line per window.
_origin_refusals = Repeats(lambda line: log(line, "warning"), _more_refused, named=5)


def choose_subprotocol(handler: Handler, offered: Collection[str]) -> str | None:
    """The first of the handler's subprotocols that the client offered (the server's
    preference decides, where aiohttp would take the client's), else None."""
    chosen = next((p for p in handler.subprotocols if p in offered), None)
    if chosen is None and offered and handler not in _told_protocols:
        _told_protocols.add(handler)
        listed = ", ".join(repr(unsecret(p)) for p in offered)
        accepts = (
            f"accepts none of them (subprotocols={list(handler.subprotocols)!r})"
            if handler.subprotocols
            else "declares none (no subprotocols=)"
        )
        log(
            f"{shown(handler.file)}:{handler.line}: a client offered the subprotocols "
            f"{listed} and {handler.pattern.source} {accepts}, so the connection opens "
            "without one, which browsers and Node's ws refuse (they close with 1006): list "
            "the ones to accept in subprotocols=",
            "warning",
        )
    return chosen


# Handlers told once that a client offered subprotocols they do not accept.
_told_protocols: weakref.WeakSet[Handler] = weakref.WeakSet()


# What `authenticate` decided: the connection's metadata, nothing to add, or a refusal.
Verdict = dict[str, Any] | Refusal | None


def authenticate(handler: Handler, request: Request) -> Verdict | Awaitable[Verdict]:
    """The handler's `authenticate` applied to `request`: metadata to merge (a dict), None to
    accept as is, or a `Refusal` (401; 500 when it raised, with the traceback reported). An
    awaitable of that when `authenticate` is a coroutine function."""
    rule = handler.authenticate
    if rule is None:
        return None
    if rule is True:
        return _judge(request.headers.get("Authorization", "").strip())
    if isinstance(rule, str):
        return _judge(request.headers.get(rule, "").strip())
    try:
        ok = rule(request)
    except USER_ERRORS as exc:  # a failing authenticate is a 500, not a crash
        return _failed(handler, request, exc)
    if inspect.isawaitable(ok):
        return _judge_later(handler, request, ok)
    return _judge_returned(handler, ok)


def _judge(ok: object) -> Verdict:
    # A mapping accepts even when empty, as any object does in JavaScript; other values count
    # by their truth (False, None, "" refuse).
    if isinstance(ok, Mapping):
        return dict(ok)
    return None if ok else Refusal(401, "Unauthorized")


def decide(
    handler: Handler, request: Request, verdict: Verdict, *, draining: bool = False
) -> Admitted | Refusal:
    """What every way in does once `authenticate` decided (`verdict`): its refusal; 503 when
    the server is `draining` (a handshake whose `authenticate` began before the stop); else
    the upgrade to accept, with the subprotocol chosen."""
    if isinstance(verdict, Refusal):
        return verdict
    if draining:
        return SHUTTING_DOWN
    return Admitted(choose_subprotocol(handler, request.subprotocols), verdict)


# Handlers whose `authenticate` was told that what it returned is not kept.
_told: weakref.WeakSet[Handler] = weakref.WeakSet()


def _judge_returned(handler: Handler, ok: object) -> Verdict:
    """`_judge` for what the handler's function returned: a truthy object that is neither
    True nor a mapping (a `User`) accepts, as the README says, but nothing of it reaches
    `conn.metadata`; said once per handler, as that is rarely what its author meant."""
    if ok and ok is not True and not isinstance(ok, Mapping) and handler not in _told:
        _told.add(handler)
        fn = handler.authenticate
        where = place(fn) if callable(fn) else repr(handler)
        log(
            f"{where}: authenticate returned a {type(ok).__name__}, which accepts the "
            "connection but is not kept: return a dict, which is merged into conn.metadata "
            '(return {"user": user})',
            "warning",
        )
    return _judge(ok)


async def _judge_later(handler: Handler, request: Request, pending: Awaitable[object]) -> Verdict:
    try:
        ok = await pending
    except USER_ERRORS as exc:
        return _failed(handler, request, exc)
    return _judge_returned(handler, ok)


# Handlers whose `authenticate` was told that an HTTP exception it raised is a 500.
_told_raised: weakref.WeakSet[Handler] = weakref.WeakSet()


def _failed(handler: Handler, request: Request, exc: BaseException) -> Refusal:
    # The address only (no port): enough to find the refused upgrade's access line.
    report_runtime_error(handler, exc, "authenticate", request.path, request.remote)
    status = getattr(exc, "status_code", None)
    if type(status) is int and 400 <= status < 500 and handler not in _told_raised:
        # A web framework's refusal (FastAPI's HTTPException(401), from a dependency reused
        # here) means "refuse", but any exception is a failure of authenticate: said once.
        _told_raised.add(handler)
        fn = handler.authenticate
        where = place(fn) if callable(fn) else repr(handler)
        log(
            f"{where}: authenticate raised {type(exc).__name__} with status {status}, which "
            "refuses with 500 like any exception: return False to refuse with 401",
            "warning",
        )
    return Refusal(500, "Internal Server Error")
