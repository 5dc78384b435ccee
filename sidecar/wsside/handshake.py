"""Intake of one upgrade request: route it, check the secret and `authenticate`, then accept.

Refusals are complete HTTP responses (status, `Content-Length`, `Connection: close`).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import ipaddress
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._websocket.response import ServerWebSocket
from .connection import Connection
from .events import emit, error_event
from .pattern import strip_prefix
from .request import Request
from .session import Session

if TYPE_CHECKING:
    from .handler import Handler
    from .registry import Registry
    from .settings import Settings

__all__ = ["Intake", "SECRET_HEADER"]

SECRET_HEADER = "x-wsside-secret"
# Which way the connection reached the sidecar (`wsside doctor` reports it).
FORWARDING_HEADER = "X-Wsside-Forwarding"


def refuse(status: int, text: str) -> web.Response:
    """A complete refusal; the connection is closed after it, whatever the client asked."""
    response = web.Response(status=status, text=text + "\n", headers={hdrs.CONNECTION: "close"})
    response.force_close()
    return response


class Intake:
    """The aiohttp request handler for every request the sidecar receives."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.sessions: set[Session] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self._secret_ok(request):
            return refuse(403, "Forbidden")
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and not self._origin_ok(origin):
            emit({"type": "log", "level": "warning",
                  "message": f"refused {request.path}: Origin {origin!r} is not a loopback "
                             "origin nor in allowed_origins"})
            return refuse(403, "Forbidden")
        raw_path = request.rel_url.raw_path
        rel = strip_prefix(raw_path, self.settings.prefixes)
        found = self.registry.match(rel) if rel is not None else None
        if found is None:
            return refuse(404, f"No WebSocket handler for {raw_path}")
        hub, params = found
        handler = hub.handler
        if request.method != "GET" or not _is_upgrade(request):
            return refuse(426, "This endpoint only speaks WebSocket") if request.method == "GET" \
                else refuse(405, "Method Not Allowed")
        headers = _public_headers(request.headers)
        offered = tuple(p.strip() for p in request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "")
                        .split(",") if p.strip())
        req = Request(
            method=request.method, path=raw_path, query_string=request.query_string,
            query=request.query, headers=headers, params=params, cookies=request.cookies,
            remote=request.remote, subprotocols=offered,
        )
        verdict = await self._authenticate(handler, req)
        if isinstance(verdict, web.Response):
            return verdict
        # The server's preference order decides (aiohttp would take the client's).
        protocol = next((p for p in handler.subprotocols if p in offered), None)
        ws = ServerWebSocket(protocol=protocol, deflate=handler.per_message_deflate,
                             max_message_size=handler.max_message_size)
        ws.headers[FORWARDING_HEADER] = self._forwarding(request)
        try:
            await ws.prepare(request)
        except web.HTTPException as exc:
            return refuse(exc.status, exc.text or exc.reason)
        assert ws.io is not None and ws.sink is not None
        stream = ws.detach(request)
        session = Session(ws.sink, stream, asyncio.get_running_loop(), self.sessions)
        conn = Connection(hub, ws.io, session, path=raw_path, params=params,
                          query=request.query, headers=headers, subprotocol=protocol)
        session.conn = conn
        ws.io.on_overflow = lambda: session.close(1013, b"Client too slow")
        if verdict:
            conn.metadata.update(verdict)
        hub.add(conn)
        self.sessions.add(session)
        session.start(req)
        return ws

    def _forwarding(self, request: web.Request) -> str:
        transport = request.transport
        if transport is not None and isinstance(transport.get_extra_info("sockname"), str):
            return "pipe"
        # In shim mode (a secret is set) every TCP socket was handed over by the shim.
        return "handover" if self.settings.secret is not None else "direct"

    def _origin_ok(self, origin: str) -> bool:
        """Standalone, a page from any web site could open sockets to this server: only
        loopback origins and the configured ones may (the shim checks Origin itself)."""
        if self.settings.secret is not None or origin in self.settings.allowed_origins:
            return True
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
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _secret_ok(self, request: web.Request) -> bool:
        secret = self.settings.secret
        if secret is None or request.transport is None:
            return True
        # Handed-over TCP sockets came through the shim's private IPC channel; a Unix socket
        # listener could be reached by any local process of this user, so it needs the secret.
        if not isinstance(request.transport.get_extra_info("sockname"), str):
            return True
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), secret.encode())

    async def _authenticate(self, handler: Handler, req: Request) -> dict[str, Any] | web.Response | None:
        rule = handler.authenticate
        if rule is None:
            return None
        if rule is True:
            ok: Any = req.headers.get(hdrs.AUTHORIZATION, "").strip()
        elif isinstance(rule, str):
            ok = req.headers.get(rule, "").strip()
        else:
            try:
                ok = rule(req)
                if inspect.isawaitable(ok):
                    ok = await ok
            except Exception as exc:  # noqa: BLE001 - a failing authenticate is a 500, not a crash
                emit(error_event("runtime_error", exc, files=(handler.file,),
                                 pattern=handler.pattern.source, callback="authenticate",
                                 path=req.path))
                return refuse(500, "Internal Server Error")
        if not ok:
            return refuse(401, "Unauthorized")
        return dict(ok) if isinstance(ok, dict) else None


def _is_upgrade(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower().strip() == "websocket"


def _public_headers(headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
    if SECRET_HEADER not in headers:
        return headers
    kept: CIMultiDict[str] = CIMultiDict((k, v) for k, v in headers.items()
                                         if k.lower() != SECRET_HEADER)
    return CIMultiDictProxy(kept)
