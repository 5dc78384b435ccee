"""permessage-deflate (RFC 7692): negotiation.

No I/O here. `negotiate` turns the client's `Sec-WebSocket-Extensions` offers and the
handler's `Deflate` settings into an `Agreement` (or none); `compression.py`'s `Compressor`
and `Decompressor` hold one connection's zlib state and honour every parameter of the
agreement on the wire.

Negotiation, per offer, in the client's order (the first acceptable offer wins):

- An offer with an unknown parameter, a parameter given twice, a value where none is allowed
  (the two `*_no_context_takeover`), no value where one is required (`server_max_window_bits`)
  or a window size other than 8..15 written without leading zeros is declined.
- `server_no_context_takeover` is used when the client asks for it or the settings do.
- `client_no_context_takeover` is asked of the client when the settings say so, and echoed
  when the client offers it (the decompressor can then drop its window between messages).
- The server's window is the smaller of the configured one and the client's limit; it is
  written in the response when the client gave a limit or it is below 15.
- The client's window can only be limited when the client offered `client_max_window_bits`;
  it is then the smaller of the configured one and the client's value.

`strict=True` declines, in addition, an offer that cannot meet the settings:

- the client limits the server's window below the configured `server_max_window_bits`;
- the client asks for `server_no_context_takeover` the settings do not have;
- the settings limit the client's window (below 15) but the offer has no
  `client_max_window_bits`, so the client could not be held to it.

A client that is *tighter* on its own side (smaller window, no context takeover) still meets
the settings. With `strict=True`, a header whose permessage-deflate offers are all declined
raises `DeflateRefused` (the handshake answers HTTP 400); a client that offers no
permessage-deflate at all connects without compression, as nothing was refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..handler_options import Deflate

__all__ = ["Agreement", "DeflateRefused", "negotiate"]

EXTENSION = "permessage-deflate"

_BITS = re.compile(r"(?:[89]|1[0-5])\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_UNESCAPE = re.compile(r"\\(.)")


class DeflateRefused(Exception):
    """`strict=True` and no permessage-deflate offer can meet the settings (HTTP 400)."""


class _Declined(Exception):
    """One offer cannot be accepted; the next one is tried."""


@dataclass(frozen=True)
class Agreement:
    """The negotiated permessage-deflate parameters of one connection."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15
    # Which window sizes the response states (RFC 7692 requires some, allows others).
    state_server_window: bool = field(default=False, repr=False)
    state_client_window: bool = field(default=False, repr=False)

    def response_header(self) -> str:
        """The `Sec-WebSocket-Extensions` value that accepts this agreement."""
        parts = [EXTENSION]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.state_server_window:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.state_client_window:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(parts)


def negotiate(offer_header: str | None, settings: Deflate) -> Agreement | None:
    """Pick the first acceptable permessage-deflate offer; None means no compression.

    `settings` is the handler's `Deflate`. Raises
    `DeflateRefused` when `settings.strict` and offers were made but none can be accepted.
    """
    if not offer_header:
        return None
    reasons: list[str] = []
    for name, params in _parse(offer_header):
        if name.lower() != EXTENSION:
            continue
        try:
            return _accept(params, settings)
        except _Declined as exc:
            reasons.append(str(exc))
    if reasons and settings.strict:
        raise DeflateRefused("; ".join(reasons))
    return None


def _accept(params: list[tuple[str, str | None]] | None, s: Deflate) -> Agreement:
    if params is None:
        raise _Declined("malformed offer")
    seen: set[str] = set()
    server_nct = client_nct = client_bits_offered = False
    server_bits: int | None = None
    client_bits: int | None = None
    for key, value in params:
        key = key.lower()
        if key in seen:
            raise _Declined(f"{key} given twice")
        seen.add(key)
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise _Declined(f"{key} takes no value")
            if key == "server_no_context_takeover":
                server_nct = True
            else:
                client_nct = True
        elif key == "server_max_window_bits":
            server_bits = _bits(key, value, required=True)
        elif key == "client_max_window_bits":
            client_bits_offered = True
            client_bits = _bits(key, value, required=False)
        else:
            raise _Declined(f"unknown parameter {key}")

    if s.strict:
        if server_bits is not None and server_bits < s.server_max_window_bits:
            raise _Declined(
                f"client limits server_max_window_bits to {server_bits}, "
                f"configured {s.server_max_window_bits}"
            )
        if server_nct and not s.server_no_context_takeover:
            raise _Declined("client requires server_no_context_takeover, not configured")
        if s.client_max_window_bits < 15 and not client_bits_offered:
            raise _Declined(
                f"client_max_window_bits={s.client_max_window_bits} configured, "
                "but the client did not offer client_max_window_bits"
            )

    server_window = s.server_max_window_bits
    if server_bits is not None:
        server_window = min(server_window, server_bits)
    client_window = 15
    if client_bits_offered:
        client_window = min(s.client_max_window_bits, client_bits or 15)
    return Agreement(
        server_no_context_takeover=server_nct or s.server_no_context_takeover,
        client_no_context_takeover=client_nct or s.client_no_context_takeover,
        server_max_window_bits=server_window,
        client_max_window_bits=client_window,
        state_server_window=server_bits is not None or server_window < 15,
        state_client_window=client_window < 15,
    )


def _bits(key: str, value: str | None, *, required: bool) -> int | None:
    if value is None:
        if required:
            raise _Declined(f"{key} needs a value")
        return None
    if not _BITS.match(value):
        raise _Declined(f"{key}={value!r}: expected 8..15")
    return int(value)


def _parse(header: str) -> list[tuple[str, list[tuple[str, str | None]] | None]]:
    """Split an extension list into (name, params); params is None for a malformed element.

    Grammar of RFC 6455 §9.1: `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`.
    """
    out: list[tuple[str, list[tuple[str, str | None]] | None]] = []
    for element in _split(header, ","):
        items = _split(element, ";")
        name = items[0].strip()
        if not _TOKEN.fullmatch(name):
            continue  # not even a name: nothing to decline
        params: list[tuple[str, str | None]] = []
        malformed = False
        for item in items[1:]:
            key, eq, raw = item.partition("=")
            key, raw = key.strip(), raw.strip()
            value: str | None = None
            if eq:
                quoted = _QUOTED.fullmatch(raw)
                if quoted:
                    value = _UNESCAPE.sub(r"\1", quoted.group(1))
                elif _TOKEN.fullmatch(raw):
                    value = raw
                else:
                    malformed = True
                    break
            if not _TOKEN.fullmatch(key):
                malformed = True
                break
            params.append((key, value))
        out.append((name, None if malformed else params))
    return out


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside quoted strings."""
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
