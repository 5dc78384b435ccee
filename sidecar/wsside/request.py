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
    path: str
    query_string: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    params: Mapping[str, str]
    cookies: Mapping[str, str]
    remote: str | None
    subprotocols: tuple[str, ...] = field(default=())
    scope: Mapping[str, Any] | None = field(default=None, repr=False)
