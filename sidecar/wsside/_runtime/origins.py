"""What an allowed origin must look like: one that a browser can send as its `Origin`.

The plugin checks its `allowedOrigins` by the same rule (node_shim/lib/options.js); both test
suites read the cases of tests/golden/origins.json.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote, urlsplit

__all__ = ["has_origin_form", "origin_problem"]

# Schemes whose URLs have an origin a browser writes as scheme://host[:port]; a page of any
# other scheme (tauri://localhost, chrome-extension://id) is checked by its shape alone.
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_SHAPE = re.compile(r"[a-z][a-z\d+.-]*://[^/?#@\s]+")
# A last label that makes a host an IPv4 address to a browser: a decimal or hex number.
_NUMERIC_LABEL = re.compile(r"\d+|0[xX][\da-fA-F]*")


def has_origin_form(origin: str) -> bool:
    """Whether `origin` has the form a browser sends: scheme://host[:port], nothing after (no
    path, query, fragment or user)."""
    return _SHAPE.fullmatch(origin) is not None


def origin_problem(origin: str) -> str | None:
    """Why `origin` can never equal a browser's `Origin` header, or None when it can. An
    origin is `scheme://host[:port]`, lower case, nothing after; or "null" (an opaque origin,
    a page from a file:// URL or a sandboxed frame). The message names the origin probably
    meant when there is one (`devbox:5173` is `http://devbox:5173`)."""
    if origin == "null":
        return None
    if "," in origin:
        return (
            "one origin, not a list: give each on its own (repeat --allow-origin; in a config "
            "file, one string each)"
        )
    if "*" in origin:
        return (
            "not an origin: a wildcard matches nothing, since browsers send one origin; list "
            "each (https://app.example.com)"
        )
    meant = _origin_of(origin)
    if meant is None and "://" not in origin and re.search(r"[.:]", origin):
        meant = _origin_of("http://" + origin)
    if meant == origin:
        return None
    if meant is None:
        scheme = origin.partition("://")[0].lower()
        if scheme not in _DEFAULT_PORTS and _SHAPE.fullmatch(origin):
            return None
        return "not an origin: expected scheme://host[:port], e.g. http://devbox:5173"
    return (
        "not an origin (scheme://host[:port], lower case, no default port, nothing after); "
        f"did you mean {meant}?"
    )


def _origin_of(url: str) -> str | None:
    """The origin of `url` as a browser writes it, when its scheme has one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a bracket left open
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = _host_as_written(host)
    if host is None:
        return None
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")


def _host_as_written(host: str) -> str | None:
    """`host` as a browser's URL parser writes it (WHATWG): percent-decoded, IDNA-encoded, IPv4
    in dotted decimal (`127.1` and `0x7f.0.0.1` are 127.0.0.1), IPv6 compressed, in brackets;
    None when it is no host."""
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return None
        return None if address.scope_id else f"[{_ipv6_as_written(address)}]"
    host = unquote(host)
    if not host or any(c.isspace() or c in "%/?#@[]\\" for c in host):
        return None
    if _NUMERIC_LABEL.fullmatch(host.rstrip(".").rpartition(".")[2]):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def _ipv6_as_written(address: ipaddress.IPv6Address) -> str:
    """Eight hex pieces with the first longest run of two or more zero pieces written `::`, as
    browsers write an IPv6 host. Not `address.compressed`: from Python 3.13 it writes an
    IPv4-mapped address with its last 32 bits in dotted decimal (`::ffff:127.0.0.1`), which a
    browser writes `::ffff:7f00:1`."""
    pieces = [int.from_bytes(address.packed[i : i + 2], "big") for i in range(0, 16, 2)]
    start, length, run = -1, 1, 0
    for i, piece in enumerate(pieces):
        run = run + 1 if piece == 0 else 0
        if run > length:
            start, length = i - run + 1, run
    text = [f"{piece:x}" for piece in pieces]
    if start < 0:
        return ":".join(text)
    return ":".join(text[:start]) + "::" + ":".join(text[start + length :])
