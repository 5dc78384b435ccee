"""Intake of one upgrade request: route it, check the secret and `authenticate`, then accept.

Upgrades come through aiohttp (`Intake.handle`: the standalone listener and the shim's pipe)
or as sockets the shim hands over (`handoff.take_over`); both are routed (`Intake.route`) and
served (`Intake.serve`) here. Refusals are complete HTTP responses (status, `Content-Length`,
`Connection: close`).

Behind a reverse proxy that `wsside serve --forwarded-allow-ips` trusts, the client is the one
its `X-Forwarded-For` names (`forwarded.py`): `request.remote`, and the access and close lines
(without a port). Vite's sidecar never reads it. Through the shim's pipe the peer is the shim
(a Unix socket): the client is the one the shim names in `PEER_HEADER`, believed only with the
run's secret, so that `request.remote` and the lines are those of a handed-over socket.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
from collections.abc import Callable, Mapping
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .._io.engine import hide_server_version, parse_cookies
from .._io.upgrade import ServerWebSocket
from .._protocol.handshake import plain_refusal, refusal_headers
from .._protocol.http_head import SECRET_HEADER
from .._runtime import access
from .._runtime.events import logger
from .._runtime.session import Session
from ..pattern import strip_prefix
from ..request import Request
from .admission import (
    FORBIDDEN,
    SHUTTING_DOWN,
    Admitted,
    Refusal,
    authenticate,
    check_origin,
    decide,
)
from .forwarded import TrustedProxies
from .unauthorized import note_unauthorized

if TYPE_CHECKING:
    from .._io.stream import WsStream
    from .._io.writer import FrameIO
    from .._runtime.hub import Hub
    from .._runtime.registry import Registry
    from .._runtime.settings import Settings
    from .health import Health

__all__ = ["FORWARDING_HEADER", "HEAD_BYTES", "NOSNIFF", "Intake", "Route"]

# Which way the connection reached the sidecar (`wsside doctor` reports it).
FORWARDING_HEADER = "X-Wsside-Forwarding"
# The client's `host:port` (`[host]:port` for IPv6) that the shim adds, beside the secret, to
# the requests it pipes (node_shim/lib/upgrade.js): the peer of a piped request is the shim.
PEER_HEADER = "x-wsside-peer"
# The most a request's header fields may take in all, names and values (HTTP 431 above it).
# aiohttp bounds each line and their count, not their sum: 128 fields of 8 KiB would be kept
# with the connection (`conn.headers`) for its whole life. nginx's default buffers take
# 4 x 8 KiB; Node's parser, so Vite's, 16 KiB.
HEAD_BYTES = 32 * 1024

# On each plain-text answer wsside writes: a browser shows its text as text, never as a page
# (a 404's body names the path asked for, which anyone can put in a link).
NOSNIFF = ("X-Content-Type-Options", "nosniff")


def refuse(status: int, text: str) -> web.Response:
    """A complete refusal; the connection is closed after it, whatever the client asked."""
    headers = [*refusal_headers(status, close=True), NOSNIFF]
    response = web.Response(status=status, text=text + "\n", headers=headers)
    response.force_close()
    return response


class Route(NamedTuple):
    """A request that may be accepted once `authenticate` agrees."""

    hub: Hub
    params: Mapping[str, str]
    request: Request
    headers: CIMultiDictProxy[str] | bytes  # for `Connection.headers`


class Intake:
    """Every upgrade request the sidecar receives, through aiohttp or handed over."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.sessions: set[Session] = set()
        self.pending: set[asyncio.Future[None]] = set()  # handshakes awaiting `authenticate`
        # `wsside serve --health PATH` (`health.py`): its path is the one comparison the
        # other requests pay for it.
        self.health: Health | None = None
        self.health_path: str | None = None
        # Set once the process stops while its listener still answers: upgrades get 503.
        self.draining = False
        # Told the path of each upgrade answered 404 (`not_found.py`).
        self.not_found: Callable[[str], None] | None = None
        # `wsside serve --forwarded-allow-ips`; never under Vite (a secret: shim mode).
        self.proxies: TrustedProxies | None = None
        if settings.forwarded_allow_ips and settings.secret is None:
            self.proxies = TrustedProxies(settings.forwarded_allow_ips)
        # aiohttp's default `Server` header names Python's and aiohttp's versions.
        hide_server_version()

    def answer_health(self, health: Health) -> None:
        """Answer probes at `health.path` from now on."""
        self.health, self.health_path = health, health.path

    # ---- through aiohttp -------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if path == self.health_path and self.health is not None:
            return self.health.answer(request, len(self.sessions), self.draining)
        # The client's address a trusted proxy forwarded, or None: the peer is the client.
        forwarded = self._forwarded(request)
        if sum(map(len, chain.from_iterable(request.raw_headers))) > HEAD_BYTES:
            too_big = f"Request Header Fields Too Large: more than {HEAD_BYTES} bytes"
            return _refused(request, path, Refusal(431, too_big), forwarded)
        if not self._secret_ok(request):
            return _refused(request, path, FORBIDDEN, forwarded)
        remote = request.remote if forwarded is None else forwarded
        piped = self._piped_client(request)
        if piped is not None:
            # The lines show `host:port`, as a handed-over socket's do (`access.peer`).
            remote, port = piped
            forwarded = f"[{remote}]:{port}" if ":" in remote else f"{remote}:{port}"
        route = self.route(request.method, request.rel_url, request.headers, remote)
        if isinstance(route, Refusal):
            return _refused(request, path, route, forwarded)
        handler = route.hub.handler
        verdict = authenticate(handler, route.request)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        admitted = decide(handler, route.request, verdict, draining=self.draining)
        if isinstance(admitted, Refusal):
            return _refused(request, path, admitted, forwarded)
        ws = ServerWebSocket(
            protocol=admitted.protocol,
            deflate=handler.per_message_deflate,
            max_message_size=handler.max_message_size,
        )
        ws.headers[FORWARDING_HEADER] = self._forwarding(request)
        transport = request.transport  # aiohttp forgets it once the connection is lost
        try:
            await ws.prepare(request)
        except web.HTTPException as exc:
            refused = Refusal(exc.status, exc.text or exc.reason)
            return _refused(request, path, refused, forwarded)
        except ConnectionError:
            # The client left before its 101 was written (it gave up during `authenticate`,
            # or while a handler blocked the loop): no session, nothing answered.
            return _gone(transport, path, forwarded)
        assert ws.io is not None and ws.sink is not None
        stream = ws.detach(request)
        self.serve(route, admitted, ws.io, stream, forwarded)
        return ws

    # ---- shared with handed-over sockets (`handoff.py`) ------------------------------

    def route(
        self,
        method: str,
        url: URL,
        headers: CIMultiDictProxy[str],
        remote: str | None,
        block: bytes | None = None,
    ) -> Route | Refusal:
        """Origin, endpoint, method: what is decided before `authenticate`."""
        raw_path = url.raw_path
        # With a secret (shim mode) the shim has checked Origin against the dev server already.
        if self.settings.secret is None:
            refused = check_origin(
                headers.getall(hdrs.ORIGIN, ()),
                raw_path,
                self.settings.allowed_origins,
                self.settings.loopback_origins,
                self.settings,
            )
            if refused is not None:
                return refused
        rel = strip_prefix(raw_path, self.settings.prefixes)
        found = self.registry.match(rel) if rel is not None else None
        if found is None or method != "GET" or not _is_upgrade(headers):
            if found is None and self.not_found is not None and _is_upgrade(headers):
                self.not_found(raw_path)
            return Refusal(*plain_refusal(raw_path, found is not None, method))
        if self.draining:  # before `authenticate`, which would run for a 503 and hold a stop up
            return SHUTTING_DOWN
        hub, params = found
        public = _public_headers(headers)
        offered = tuple(
            p.strip() for p in headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "").split(",") if p.strip()
        )
        req = Request(
            method=method,
            path=raw_path,
            query_string=url.query_string,
            query=url.query,
            headers=public,
            params=params,
            cookies=parse_cookies(headers),
            remote=remote,
            subprotocols=offered,
        )
        # The connection keeps the raw head when there is one (a fraction of the parsed
        # headers' size) and reads its headers again only if `conn.headers` is used.
        return Route(hub, params, req, public if block is None else block)

    def serve(
        self,
        route: Route,
        admitted: Admitted,
        io: FrameIO,
        stream: WsStream,
        forwarded: str | None = None,
    ) -> None:
        """The 101 is written: make the session and start serving; `forwarded`: the client's
        address a trusted proxy forwarded, which its lines show instead of the peer's."""
        req = route.request
        session = (Session if forwarded is None else _ForwardedSession)(
            route.hub,
            io,
            stream,
            self.sessions,
            path=req.path,
            params=route.params,
            query=req.query,
            headers=route.headers,
            subprotocol=admitted.protocol,
            metadata=dict(admitted.metadata) if admitted.metadata else None,
        )
        if isinstance(session, _ForwardedSession) and forwarded is not None:
            session.forwarded = forwarded
        session.start(req)

    def _forwarded(self, request: web.Request) -> str | None:
        """The client's address when a trusted proxy forwarded the request
        (`--forwarded-allow-ips`) and named it; None: the peer is the client."""
        if self.proxies is None:
            return None
        return self.proxies.client(request.remote, request.headers.getall(_FORWARDED_FOR, ()))

    def _piped_client(self, request: web.Request) -> tuple[str, int] | None:
        """The client's address and port the shim names on its pipe (`PEER_HEADER`), or
        None: not piped by the shim, or no such header. Asked once `_secret_ok` agreed: with
        a secret, a request on the Unix socket carried it, so the header is the shim's (the
        shim drops a client's own, and appends its own after the client's headers)."""
        if self.settings.secret is None or not _on_unix_socket(request):
            return None
        given = request.headers.getall(PEER_HEADER, ("",))[-1]
        host, colon, port = given.rpartition(":")
        if not colon or not port.isdigit() or not host:
            return None
        return host.removeprefix("[").removesuffix("]"), int(port)

    def _forwarding(self, request: web.Request) -> str:
        # Handed-over sockets never reach aiohttp (see `handoff.py`).
        return "pipe" if _on_unix_socket(request) else "direct"

    def _secret_ok(self, request: web.Request) -> bool:
        secret = self.settings.secret
        if secret is None:
            return True
        # With a secret (shim mode), aiohttp serves the Unix socket the shim pipes to: any local
        # process of this user could reach it, so it needs the secret. (Handed-over sockets
        # came through the shim's private IPC channel and never reach aiohttp.)
        if not _on_unix_socket(request):
            return True
        # Header values are read as UTF-8 with surrogate escapes: bytes that are not UTF-8
        # go back to what they were, and are refused like any other wrong value.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, secret.encode())


class _ForwardedSession(Session):
    """A session whose client is not its socket's peer: the address a trusted proxy forwarded
    (its port unknown), or the client the shim named on its pipe. Its access and close lines,
    the 1013 line and its callbacks' error reports name it."""

    __slots__ = ("forwarded",)

    forwarded: str

    def client(self) -> str:
        return self.forwarded


_FORWARDED_FOR = "X-Forwarded-For"


def _on_unix_socket(request: web.Request) -> bool:
    """Whether `request` came on a Unix socket (under Vite: the shim's pipe)."""
    transport = request.transport
    return transport is not None and isinstance(transport.get_extra_info("sockname"), str)


def _refused(request: web.Request, path: str, why: Refusal, forwarded: str | None) -> web.Response:
    """The response refusing a request through aiohttp, with its access-log line."""
    if access.enabled():
        method = "WebSocket" if _is_upgrade(request.headers) else request.method
        client = access.peer(request.transport) if forwarded is None else forwarded
        access.upgraded(client, path, why.status, method)  # as forwarded, or the peer's
    elif why.status == 401 and _on_unix_socket(request):  # the pipe of a TLS Vite
        note_unauthorized(path, request.headers.get(hdrs.USER_AGENT))
    return refuse(*why)


def _gone(
    transport: asyncio.BaseTransport | None, path: str, forwarded: str | None
) -> web.Response:
    """What `handle` returns for a client that left before its 101. No access line (nothing
    was answered), as for a handed-over socket whose client left during `authenticate`; a
    debug line says so. aiohttp's write of the response fails on the closed connection, and
    aiohttp takes that quietly."""
    logger.debug(
        'wsside: %s - "WebSocket %s": the client left before the 101',
        access.peer(transport) if forwarded is None else forwarded,
        path,
    )
    response = web.Response(status=400)  # never written: the connection is closing
    response.force_close()
    return response


def _is_upgrade(headers: CIMultiDictProxy[str]) -> bool:
    return headers.get(hdrs.UPGRADE, "").lower().strip() == "websocket"


def _public_headers(headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
    """The headers without the shim's own, which user code never sees."""
    if SECRET_HEADER not in headers and PEER_HEADER not in headers:
        return headers
    kept: CIMultiDict[str] = CIMultiDict(
        (k, v) for k, v in headers.items() if k.lower() not in _SHIM_HEADERS
    )
    return CIMultiDictProxy(kept)


_SHIM_HEADERS = (SECRET_HEADER, PEER_HEADER)
