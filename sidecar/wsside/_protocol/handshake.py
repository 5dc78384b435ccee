"""The server's side of the opening handshake (RFC 6455 §4.2), as bytes or header pairs.

One implementation for every way a connection arrives: `accept_headers` checks the request
and makes the 101's headers for both. aiohttp's request handler sends them in its response
(see `_io/upgrade.py`); a socket handed over by the Vite shim is answered with
`switching_protocols` / `refusal` written straight to its transport, with no HTTP server
machinery in between (Node already parsed the request). `plain_refusal` and
`refusal_headers` are the rule for a request that reaches no endpoint or is no upgrade, for
`wsside serve` and `ASGIApp` alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING

from .deflate import Agreement, DeflateRefused, negotiate

if TYPE_CHECKING:
    from ..handler_options import Deflate

__all__ = [
    "HandshakeError",
    "accept_headers",
    "plain_refusal",
    "refusal",
    "refusal_headers",
    "switching_protocols",
]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_ONCE = ("Sec-WebSocket-Key", "Sec-WebSocket-Version")  # at most once in a request (RFC 6455 §11.3)
# 13 is RFC 6455's; 8 and 7 are the drafts before it, with the same framing (aiohttp takes them).
_VERSIONS = ("13", "8", "7")


class HandshakeError(Exception):
    """The request cannot be upgraded: answered `status` (400, or 426 for a WebSocket version
    this server does not speak) with this text (header values in it are quoted with repr, so
    bytes that are not UTF-8 cannot break the response)."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.status = status


def accept_headers(
    headers: Mapping[str, str], protocol: str | None, deflate: Deflate | None
) -> tuple[list[tuple[str, str]], Agreement | None]:
    """The 101's headers for `headers` (the request's, case-insensitive), and the
    permessage-deflate agreement when `deflate` settings are given and an offer was accepted.

    One set of checks, so a request is refused the same way whichever way it arrived, in
    aiohttp's order: Upgrade, Connection, version, key; then the extension. Beyond aiohttp's:
    neither version nor key may appear twice (aiohttp would take the first), and a version
    not spoken is a 426 naming those spoken (RFC 6455 §4.2.2), where aiohttp says 400.
    """
    upgrade = headers.get("Upgrade")
    if (upgrade or "").lower().strip() != "websocket":
        raise HandshakeError(
            f'No WebSocket UPGRADE hdr: {upgrade!r}\n Can "Upgrade" only to "WebSocket".'
        )
    connection = headers.get("Connection")
    if not connection or not any(t.strip().lower() == "upgrade" for t in connection.split(",")):
        raise HandshakeError(f"No CONNECTION upgrade hdr: {connection!r}")
    for name in _ONCE:
        if len(_all(headers, name)) > 1:
            raise HandshakeError(f"{name} appears more than once")
    version = headers.get("Sec-WebSocket-Version")
    if version is None:
        raise HandshakeError("No Sec-WebSocket-Version header")
    if version not in _VERSIONS:
        # RFC 6455 §4.2.2: 426 with the versions spoken (`refusal_headers`), so a client that
        # offered another one knows which to offer.
        raise HandshakeError(f"Unsupported version: {version!r}", 426)
    key = headers.get("Sec-WebSocket-Key")
    try:
        if not key or len(base64.b64decode(key)) != 16:
            raise HandshakeError(f"Handshake error: {key!r}")
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters in the key
        raise HandshakeError(f"Handshake error: {key!r}") from None
    accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
    out = [("Upgrade", "websocket"), ("Connection", "upgrade"), ("Sec-WebSocket-Accept", accept)]
    agreement = None
    if deflate is not None:
        offers = ", ".join(_all(headers, "Sec-WebSocket-Extensions"))
        try:
            agreement = negotiate(offers, deflate)
        except DeflateRefused as exc:
            raise HandshakeError(f"permessage-deflate refused: {exc}") from None
        if agreement is not None:
            out.append(("Sec-WebSocket-Extensions", agreement.response_header()))
    if protocol:
        out.append(("Sec-WebSocket-Protocol", protocol))
    return out, agreement


def _all(headers: Mapping[str, str], name: str) -> list[str]:
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, ()))
    value = headers.get(name)
    return [] if value is None else [value]


def switching_protocols(headers: list[tuple[str, str]]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"HTTP/1.1 101 Switching Protocols\r\n{lines}\r\n".encode("latin-1")


def plain_refusal(path: str, found: bool, method: str) -> tuple[int, str]:
    """The (status, text) refusing a request to `path` that is not a WebSocket upgrade to an
    endpoint (`found`: one serves `path`): 404 without one, whatever the request; else 405
    for a method other than GET, 426 for a GET that does not ask to upgrade."""
    if not found:
        return 404, f"No WebSocket handler for {path}"
    if method != "GET":
        return 405, "Method Not Allowed"
    return 426, "This endpoint only speaks WebSocket"


def refusal_headers(status: int, close: bool) -> list[tuple[str, str]]:
    """The headers a refusal with `status` has besides its body's. RFC 9110 §15.5.6: a 405
    names the methods the path takes (an endpoint: GET, with an upgrade); §15.5.22: a 426 the
    protocol to switch to, and RFC 6455 §4.2.2 the WebSocket versions spoken. With `close`,
    `Connection: close` too (and `upgrade` in a 426's)."""
    out = [("Allow", "GET")] if status == 405 else []
    if status == 426:
        out += [("Upgrade", "websocket"), ("Sec-WebSocket-Version", ", ".join(_VERSIONS))]
    if close:
        out.append(("Connection", "upgrade, close" if status == 426 else "close"))
    return out


def refusal(status: int, text: str) -> bytes:
    """A complete plain-text response after which the connection is closed."""
    body = (text + "\n").encode("utf-8", "backslashreplace")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = "".join(f"{name}: {value}\r\n" for name, value in refusal_headers(status, True))
    return (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n{lines}\r\n"
    ).encode("latin-1") + body
