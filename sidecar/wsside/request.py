"""`Request`: what `authenticate` and `on_connect` see of the upgrade request."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDictProxy, MultiDictProxy

# What `repr(request)` hides, as `wsside serve`'s access lines leave out the query string: the
# values of the headers that carry credentials, of every cookie, and of the headers and query
# parameters whose name says it is one (a browser's WebSocket sends its token in the query, or
# as a subprotocol: `unsecret`).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_NAME = re.compile(
    r"token|key|secret|pass|auth|sig|session|jwt|ticket|credential|code|otp", re.IGNORECASE
)
_HIDDEN = "…"
_DIGIT = re.compile(r"\d")


def unsecret(protocol: str) -> str:
    """A subprotocol as logs and `repr(request)` show it. A client with no header of its own
    (a browser) may send its token as one (`token.<TOKEN>`, a JWT, Kubernetes'
    `base64url.bearer.authorization.k8s.io.<TOKEN>`, a bare key or UUID): a value longer than
    any name keeps its first 12 characters, and a dotted part of 8 or more characters with a
    digit in it, or what follows an `=`, is `…`. Names (`graphql-transport-ws`, `chat.v2`)
    stay as they are."""
    if len(protocol) > 40:
        return protocol[:12] + _HIDDEN
    parts = []
    for part in protocol.split("."):
        name, equals, _ = part.partition("=")
        if equals:
            parts.append(f"{name}={_HIDDEN}")
        elif len(part) >= 8 and _DIGIT.search(part):
            parts.append(_HIDDEN)
        else:
            parts.append(part)
    return ".".join(parts)


# Compared and hashed as itself (`eq=False`): its headers and query are multidicts, which
# hash by nothing else.
@dataclass(frozen=True, eq=False)
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

    def __repr__(self) -> str:
        # Printed from `authenticate` while it is written: credentials show as `…`.
        query = _pairs(self.query.items(), lambda name: bool(_SECRET_NAME.search(name)))
        headers = _pairs(
            (
                (name, ", ".join(unsecret(p.strip()) for p in value.split(",")))
                if name.lower() == "sec-websocket-protocol"
                else (name, value)
                for name, value in self.headers.items()
            ),
            lambda name: name.lower() in _SECRET_HEADERS or bool(_SECRET_NAME.search(name)),
        )
        cookies = _pairs(self.cookies.items(), lambda name: True)
        shown = [
            f"{self.method} {self.path}",
            f"params={dict(self.params)!r}",
            f"query={query}",
            f"headers={headers}",
            f"cookies={cookies}",
            f"remote={self.remote!r}",
        ]
        if self.subprotocols:
            shown.append(f"subprotocols={tuple(unsecret(p) for p in self.subprotocols)!r}")
        return f"Request({', '.join(shown)})"


def _pairs(items: Iterable[tuple[str, str]], secret: Callable[[str], bool]) -> str:
    """`{'name': 'value', ...}` with the value of each name `secret` holds to as `…`."""
    shown = (f"{name!r}: {_HIDDEN if secret(name) else repr(value)}" for name, value in items)
    return "{" + ", ".join(shown) + "}"
