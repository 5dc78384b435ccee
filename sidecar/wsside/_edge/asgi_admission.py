"""How `ASGIApp` answers a WebSocket scope before accepting it: the Origin rule and the route
(`admit`, which makes the scope's `Request`), and a refusal's answer (`refuse`: a real HTTP
response where the server has the ASGI extension for it; `respond` also answers a plain
HTTP request). `authenticate` and the subprotocol come after, from `admission.py`, as for
`wsside serve`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .._io.engine import parse_cookies
from .._protocol.handshake import plain_refusal, refusal_headers
from ..closecodes import CloseCode
from ..request import Request
from .admission import Refusal, check_origin
from .asgi_paths import route_paths

if TYPE_CHECKING:
    from .._io.asgi import Event, Send
    from .._runtime.hub import Hub
    from .._runtime.registry import Registry

__all__ = ["admit", "refuse", "respond"]


def admit(
    scope: Mapping[str, Any], registry: Registry, allowed: Collection[str], loopback: bool
) -> tuple[Hub, Request] | Refusal:
    """Origin and route: what is decided before `authenticate` (`allowed`, `loopback`: the
    app's `allowed_origins` and `loopback_origins`)."""
    full, below = route_paths(scope)
    headers = _headers(scope)
    refused = check_origin(headers.getall("Origin", ()), full, allowed, loopback, app=True)
    if refused is not None:
        return refused
    found = registry.match(below)
    if found is None:
        return Refusal(*plain_refusal(full, False, "GET"))
    hub, params = found
    url = URL.build(query_string=scope.get("query_string", b"").decode("latin-1"), encoded=True)
    client = scope.get("client")
    return hub, Request(
        method="GET",
        path=full,
        query_string=url.query_string,
        query=url.query,
        headers=headers,
        params=params,
        cookies=parse_cookies(headers),
        remote=str(client[0]) if client else None,
        subprotocols=tuple(scope.get("subprotocols") or ()),
        scope=scope,
    )


def _headers(scope: Mapping[str, Any]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(
        CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
    )


async def refuse(scope: Mapping[str, Any], send: Send, refusal: Refusal) -> None:
    """A real HTTP response where the server has the ASGI extension for it (uvicorn,
    hypercorn), else a close before accepting (the server answers 403)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await respond(send, "websocket.http.response", refusal)
    else:
        await send({"type": "websocket.close", "code": CloseCode.POLICY_VIOLATION})


async def respond(send: Send, kind: str, refusal: Refusal) -> None:
    body = (refusal.text + "\n").encode("utf-8")
    extra = refusal_headers(refusal.status, close=False)  # the server closes or keeps it
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra),
    ]
    start: Event = {"type": f"{kind}.start", "status": refusal.status, "headers": headers}
    await send(start)
    await send({"type": f"{kind}.body", "body": body})
