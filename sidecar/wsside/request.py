"""`Request`: what `authenticate` and `on_connect` see of the upgrade request."""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from types import MappingProxyType
from typing import Mapping

from multidict import CIMultiDictProxy, MultiDictProxy

try:  # aiohttp >= 3.12: RFC 6265 parsing that keeps cookies SimpleCookie would drop
    from aiohttp._cookie_helpers import parse_cookie_header
except ImportError:  # pragma: no cover - older aiohttp
    parse_cookie_header = None

__all__ = ["Request", "parse_cookies"]

_NO_COOKIES: Mapping[str, str] = MappingProxyType({})


def parse_cookies(headers: Mapping[str, str]) -> Mapping[str, str]:
    """The request's cookies, read as aiohttp's `request.cookies` reads them."""
    raw = headers.get("Cookie", "")
    if not raw:
        return _NO_COOKIES
    if parse_cookie_header is not None:
        return MappingProxyType({name: m.value for name, m in parse_cookie_header(raw)})
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return _NO_COOKIES
    return MappingProxyType({name: m.value for name, m in jar.items()})


@dataclass(frozen=True)
class Request:
    """The HTTP upgrade request, with the path variables the pattern captured.

    `path` includes the prefix and excludes the query string (`/api/ws/chat`).
    """

    method: str
    path: str
    query_string: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    params: Mapping[str, str]
    cookies: Mapping[str, str]
    remote: str | None
    subprotocols: tuple[str, ...] = field(default=())
