"""What an allowed origin must look like: one that a browser can send as its `Origin`."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["origin_problem"]


def origin_problem(origin: str) -> str | None:
    """Why `origin` can never equal a browser's `Origin` header, or None when it can. An
    origin is `scheme://host[:port]`, lower case, nothing after; or "null" (an opaque origin,
    a page from a file:// URL or a sandboxed frame)."""
    if origin == "null":
        return None
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not parts.hostname or parts.username is not None:
        return "not an origin: expected scheme://host[:port], e.g. http://devbox:5173"
    netloc = parts.netloc.lower()
    if _DEFAULT_PORTS.get(parts.scheme.lower()) == parts.port:  # browsers leave it out
        netloc = netloc.rsplit(":", 1)[0]
    shape = f"{parts.scheme.lower()}://{netloc}"
    if origin == shape:
        return None
    return (
        "not an origin (scheme://host[:port], lower case, no default port, nothing after); "
        f"did you mean {shape}?"
    )


_DEFAULT_PORTS = {"http": 80, "https": 443}
