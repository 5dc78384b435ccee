"""The request head the shim sends along with a handed-over socket, read without a server.

Node's HTTP parser already accepted the request; the shim re-serialises it (PROTOCOL.md) and
sends it with the socket, followed by any bytes the client sent after it.
"""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["SECRET_HEADER", "parse_head", "read_headers"]

# The per-run secret the shim adds to requests it pipes to the sidecar's Unix socket.
SECRET_HEADER = "x-wsside-secret"


def parse_head(head: bytes) -> tuple[str, str, bytes, bytes]:
    """Method, request target, the head itself (request line and header lines, for
    `read_headers`) and the bytes after it, from what the shim sends: the request Node's HTTP
    parser accepted, re-serialised (PROTOCOL.md), then any bytes the client sent after it.
    Raises ValueError for anything else.
    """
    end = head.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("no end of the request head")
    line_end = head.find(b"\r\n")
    method, target, version = head[:line_end].decode("latin-1").split(" ")
    if not version.startswith("HTTP/"):
        raise ValueError(f"not an HTTP request line: {head[:line_end]!r}")
    return method, target, head[:end], head[end + 4 :]


def read_headers(block: bytes) -> CIMultiDictProxy[str]:
    """The headers of a head from `parse_head`, without the shim's secret (which the shim
    never passes on anyway). Values are read as UTF-8 with surrogate escapes, as aiohttp
    reads them. Raises ValueError for a line that is not a header.
    """
    headers: CIMultiDict[str] = CIMultiDict()
    for line in block.decode("utf-8", "surrogateescape").split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name:
            raise ValueError(f"not a header line: {line!r}")
        if name.lower() != SECRET_HEADER:
            headers.add(name, value.strip(" \t"))
    return CIMultiDictProxy(headers)
