"""Intake of one upgrade request: route it, check the secret and `authenticate`, then accept.

Refusals are complete HTTP responses (status, `Content-Length`, `Connection: close`).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .._io.engine import parse_cookies
from .._io.transport import SocketTransport
from .._io.upgrade import ServerWebSocket, open_stream
from .._protocol.handshake import HandshakeError, accept_headers, refusal, switching_protocols
from .._protocol.http_head import SECRET_HEADER, parse_head, read_headers
from .._runtime import access
from .._runtime.session import Session
from ..pattern import strip_prefix
from ..request import Request
from .admission import Refusal, Verdict, authenticate, check_origin, choose_subprotocol
from .loop import loop_name

if TYPE_CHECKING:
    from .._io.stream import WsStream
    from .._io.writer import FrameIO
    from .._runtime.hub import Hub
    from .._runtime.registry import Registry
    from .._runtime.settings import Settings

__all__ = ["SECRET_HEADER", "Intake"]

# Which way the connection reached the sidecar (`wsside doctor` reports it).
FORWARDING_HEADER = "X-Wsside-Forwarding"


def refuse(status: int, text: str) -> web.Response:
    """A complete refusal; the connection is closed after it, whatever the client asked."""
    response = web.Response(status=status, text=text + "\n", headers={hdrs.CONNECTION: "close"})
    response.force_close()
    return response


class _Route(NamedTuple):
    """A request that may be accepted once `authenticate` agrees."""

    hub: Hub
    params: Mapping[str, str]
    request: Request
    headers: CIMultiDictProxy[str] | bytes  # for `Connection.headers`


def _nothing() -> None:
    pass


class Intake:
    """Every upgrade request the sidecar receives: through aiohttp (`handle`: the standalone
    listener and the shim's pipe) or as a socket the shim handed over (`take_over`)."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.sessions: set[Session] = set()
        self._pending: set[asyncio.Future[None]] = set()  # handshakes awaiting `authenticate`

    # ---- through aiohttp -------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if not self._secret_ok(request):
            return _refused(request.transport, path, Refusal(403, "Forbidden"))
        route = self._route(request.method, request.rel_url, request.headers, request.remote)
        if isinstance(route, Refusal):
            return _refused(request.transport, path, route)
        verdict = authenticate(route.hub.handler, route.request)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if isinstance(verdict, Refusal):
            return _refused(request.transport, path, verdict)
        handler = route.hub.handler
        protocol = choose_subprotocol(handler, route.request.subprotocols)
        ws = ServerWebSocket(
            protocol=protocol,
            deflate=handler.per_message_deflate,
            max_message_size=handler.max_message_size,
        )
        ws.headers[FORWARDING_HEADER] = self._forwarding(request)
        try:
            await ws.prepare(request)
        except web.HTTPException as exc:
            return _refused(request.transport, path, Refusal(exc.status, exc.text or exc.reason))
        assert ws.io is not None and ws.sink is not None
        stream = ws.detach(request)
        self._open(route, verdict, protocol, ws.io, stream)
        return ws

    # ---- handed over by the shim -----------------------------------------------------

    def take_over(
        self,
        sock: socket.socket,
        head: bytes,
        *,
        nodelay: bool = False,
        answered: Callable[[], None] = _nothing,
    ) -> SocketTransport:
        """Serve `sock`, a client socket the shim accepted, from `head`: the request Node
        parsed (re-serialised by the shim, see PROTOCOL.md) and any bytes that followed it.
        `nodelay`: the shim already set TCP_NODELAY. `answered` is called once the 101 is
        written and before any callback runs (the shim's acknowledgement goes then).

        Node's HTTP parser already checked the syntax and routed the request here, so there
        is no HTTP server in between: the answer goes straight to the socket. With a plain
        `authenticate` the whole handshake runs in this call, without a task. Returns the
        connection's transport.
        """
        sock.setblocking(False)
        if not nodelay:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not TCP (a server listening on a Unix socket)
                pass
        loop = asyncio.get_running_loop()
        # Not reading yet. On uvloop a connection that keeps talking moves to uvloop's own
        # transport (see SocketTransport).
        transport = SocketTransport(loop, sock, _STARTING, movable=loop_name(loop) == "uvloop")
        try:
            self._take_over(transport, head, answered)
        except BaseException:
            transport.abort()
            raise
        return transport

    def _take_over(
        self, transport: SocketTransport, head: bytes, answered: Callable[[], None]
    ) -> None:
        try:
            method, target, block, early = parse_head(head)
            headers = read_headers(block)
        except ValueError:  # not from the shim: nothing sensible to answer
            transport.abort()
            return
        peer = transport.get_extra_info("peername")
        remote = str(peer[0]) if isinstance(peer, (list, tuple)) else None
        url = URL(target, encoded=True)
        route = self._route(method, url, headers, remote, block)
        if isinstance(route, Refusal):
            _end(transport, url.raw_path, route)
            return
        verdict = authenticate(route.hub.handler, route.request)
        if inspect.isawaitable(verdict):
            # Kept until done: the loop holds tasks only weakly.
            task = asyncio.ensure_future(self._accept_later(transport, route, verdict, early))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        else:
            self._accept(transport, route, verdict, early, answered)

    async def _accept_later(
        self,
        transport: SocketTransport,
        route: _Route,
        pending: Awaitable[Verdict],
        early: bytes,
    ) -> None:
        held = _Held(transport)
        transport.set_protocol(held)
        transport.start()  # to see a client that leaves
        try:
            verdict = await pending
            if held.lost or transport.is_closing():
                return  # the client left during `authenticate`
            self._accept(transport, route, verdict, early + held.data)
        except BaseException:
            transport.abort()
            raise

    def _accept(
        self,
        transport: SocketTransport,
        route: _Route,
        verdict: Verdict,
        early: bytes,
        answered: Callable[[], None] = _nothing,
    ) -> None:
        if isinstance(verdict, Refusal):
            _end(transport, route.request.path, verdict)
            return
        handler = route.hub.handler
        protocol = choose_subprotocol(handler, route.request.subprotocols)
        try:
            headers, agreement = accept_headers(
                route.request.headers, protocol, handler.per_message_deflate
            )
        except HandshakeError as exc:
            _end(transport, route.request.path, Refusal(400, str(exc)))
            return
        headers.append((FORWARDING_HEADER, "handover"))
        transport.write(switching_protocols(headers))
        answered()
        stream, io = open_stream(transport, handler.max_message_size, agreement, early)
        # Reading starts (or goes on after `_Held` paused it) before the session exists, so
        # the session may pause it again (a flood in `early`).
        transport.resume_reading()
        self._open(route, verdict, protocol, io, stream)

    # ---- shared ----------------------------------------------------------------------

    def _route(
        self,
        method: str,
        url: URL,
        headers: CIMultiDictProxy[str],
        remote: str | None,
        block: bytes | None = None,
    ) -> _Route | Refusal:
        """Origin, endpoint, method: what is decided before `authenticate`."""
        raw_path = url.raw_path
        # With a secret (shim mode) the shim has checked Origin against the dev server already.
        if self.settings.secret is None:
            refused = check_origin(
                headers.get(hdrs.ORIGIN), raw_path, self.settings.allowed_origins
            )
            if refused is not None:
                return refused
        rel = strip_prefix(raw_path, self.settings.prefixes)
        found = self.registry.match(rel) if rel is not None else None
        if found is None:
            return Refusal(404, f"No WebSocket handler for {raw_path}")
        hub, params = found
        if method != "GET" or not _is_upgrade(headers):
            return (
                Refusal(426, "This endpoint only speaks WebSocket")
                if method == "GET"
                else Refusal(405, "Method Not Allowed")
            )
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
        return _Route(hub, params, req, public if block is None else block)

    def _open(
        self,
        route: _Route,
        verdict: dict[str, Any] | None,
        protocol: str | None,
        io: FrameIO,
        stream: WsStream,
    ) -> None:
        """The 101 is written: make the session and start serving."""
        req = route.request
        session = Session(
            route.hub,
            io,
            stream,
            self.sessions,
            path=req.path,
            params=route.params,
            query=req.query,
            headers=route.headers,
            subprotocol=protocol,
            metadata=dict(verdict) if verdict else None,
        )
        session.start(req)

    def _forwarding(self, request: web.Request) -> str:
        # Handed-over sockets never reach aiohttp (see `take_over`).
        transport = request.transport
        if transport is not None and isinstance(transport.get_extra_info("sockname"), str):
            return "pipe"
        return "direct"

    def _secret_ok(self, request: web.Request) -> bool:
        secret = self.settings.secret
        if secret is None or request.transport is None:
            return True
        # With a secret (shim mode), aiohttp serves the Unix socket the shim pipes to: any local
        # process of this user could reach it, so it needs the secret. (Handed-over sockets
        # came through the shim's private IPC channel and never reach aiohttp.)
        if not isinstance(request.transport.get_extra_info("sockname"), str):
            return True
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), secret.encode())


class _Held(asyncio.Protocol):
    """Keeps what the client sends while `authenticate` runs (reading stops at the first
    bytes: the client must wait for the 101 anyway)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.data = b""
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.transport.pause_reading()

    def eof_received(self) -> bool:
        return True  # half-closed: the answer may still be written

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = True


def _refused(transport: asyncio.BaseTransport | None, path: str, why: Refusal) -> web.Response:
    """The response refusing an upgrade through aiohttp, with its access-log line."""
    if access.enabled():
        access.upgraded(access.peer(transport), path, why.status)
    return refuse(*why)


def _end(transport: asyncio.Transport, path: str, why: Refusal) -> None:
    """Refuse a handed-over upgrade, with its access-log line, and close the socket."""
    if access.enabled():
        access.upgraded(access.peer(transport), path, why.status)
    transport.write(refusal(*why))
    transport.close()  # after the response is written


# The transport's protocol until the handshake is decided: no byte is read before the real
# protocol replaces it, and losing the connection then needs no call.
_STARTING = asyncio.Protocol()


def _is_upgrade(headers: CIMultiDictProxy[str]) -> bool:
    return headers.get(hdrs.UPGRADE, "").lower().strip() == "websocket"


def _public_headers(headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
    if SECRET_HEADER not in headers:
        return headers
    kept: CIMultiDict[str] = CIMultiDict(
        (k, v) for k, v in headers.items() if k.lower() != SECRET_HEADER
    )
    return CIMultiDictProxy(kept)
