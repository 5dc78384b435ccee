"""Which path an ASGI scope asks for, and which part of it the handler patterns match.

Servers and frameworks place a mount point differently: Starlette's `Mount` (since 0.33)
and uvicorn's `--root-path` keep the whole path in `path` and the mount point in
`root_path`; older Starlette put only the rest in `path`. Like Starlette's own routing,
`root_path` is taken off `path` only where `path` starts with it, on a segment boundary.

Patterns match the path as the client sent it, percent-encoded, as under `wsside serve`
(`%2F` stays inside its segment; variables are decoded when captured). ASGI gives that form
in `raw_path`, which is the whole path even under a mount; where a server leaves it out, the
decoded `path` is encoded again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["route_paths"]


# What a browser leaves as it is in a URL's path, besides letters, digits and `-._` (WHATWG's
# path percent-encode set leaves these). Not `%`: the path here is decoded, and a `%` in it
# was sent as `%25`.
_SENT_AS_IS = "/:@!$&'()*+,;=~"


def route_paths(scope: Mapping[str, Any]) -> tuple[str, str]:
    """(full, below): the request's path without the query string, and the part of it below
    the mount point (`/` at the mount point itself; '' when the path as sent is not below it),
    both percent-encoded."""
    path: str = scope["path"]
    root: str = scope.get("root_path") or ""
    below = path
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        below = path[len(root) :]
    raw = scope.get("raw_path")
    if raw:
        sent = raw.decode("latin-1").partition("?")[0]
        if not below:
            return sent, "/"
        start = _start_of(sent, below)
        if start is None and below.endswith("/") and not sent.endswith("/"):
            # Litestar's `@asgi(..., is_mount=True)` adds a `/` the client did not send.
            start = _start_of(sent, below[:-1])
        if start is None:
            # The mount matched the decoded path across an encoded slash (`/api%2Fws/chat`
            # under a mount at /api): as sent, the path is not below the mount point, and
            # `wsside serve` answers it 404. '' matches no pattern.
            return sent, ""
        rest = sent[start:]
        if unquote(sent[:start]) == root or not root:  # no root_path: raw_path is whole
            return sent, rest
        return quote(root) + rest, rest
    # As a browser would have sent it: only what a path may not hold as it is is encoded
    # (a `:` or `@` stays, as patterns beside a variable expect it).
    encoded = quote(below, safe=_SENT_AS_IS) or "/"
    return quote(root, safe=_SENT_AS_IS) + encoded, encoded


def _start_of(raw: str, below: str) -> int | None:
    """Where in `raw` the segments that decode to `below` begin."""
    i = raw.find("/")
    while i != -1:
        if unquote(raw[i:]) == below:
            return i
        i = raw.find("/", i + 1)
    return None
