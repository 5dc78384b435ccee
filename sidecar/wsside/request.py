"""`Request`: what `authenticate` and `on_connect` see of the upgrade request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDictProxy, MultiDictProxy


@dataclass(frozen=True)
class Request:
    """The HTTP upgrade request, with the path variables the pattern captured.

    `path` includes the prefix and excludes the query string (`/api/ws/chat`). `scope` is the
    ASGI connection scope under `ASGIApp`, with what the app's middleware put in it
    (`scope["user"]`, `scope["session"]`, `scope["state"]`); None under Vite and `wsside serve`.
    """

    method: str
    "The HTTP method: `GET` for a WebSocket upgrade."
    path: str
    "The path as the client sent it, prefix included, without the query string."
    query_string: str
    "The query string after the `?`, as yarl's `URL.query_string` decodes it (`%26` stays)."
    query: MultiDictProxy[str]
    "The query string's parameters, decoded (read-only; `getall` for repeated keys)."
    headers: CIMultiDictProxy[str]
    "The upgrade request's headers (read-only, case-insensitive)."
    params: Mapping[str, str]
    "What the pattern's `{name}` parts matched, keyed by name."
    cookies: Mapping[str, str]
    "The `Cookie` header's cookies, by name (read-only)."
    remote: str | None
    "The client's address (an IP), or None when the server does not know it."
    subprotocols: tuple[str, ...] = field(default=())
    "The subprotocols the client offered, in its order (`Sec-WebSocket-Protocol`)."
    scope: Mapping[str, Any] | None = field(default=None, repr=False)
    "The ASGI connection scope under `ASGIApp`; None under Vite and `wsside serve`."
