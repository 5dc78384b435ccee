"""permessage-deflate (RFC 7692): negotiation, and per-connection compression state.

No I/O here. `negotiate` turns the client's `Sec-WebSocket-Extensions` offers and the
handler's `Deflate` settings into an `Agreement` (or none); `Compressor` and `Decompressor`
hold one connection's zlib state and honour every parameter of the agreement on the wire.

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
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..closecodes import CloseReason

if TYPE_CHECKING:
    from ..handler_options import Deflate

__all__ = [
    "Agreement",
    "Compressor",
    "Decompressor",
    "DeflateRefused",
    "InflateError",
    "MessageTooBig",
    "negotiate",
]

EXTENSION = "permessage-deflate"
TRAILER = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.1: removed by the sender, put back by the receiver

# Messages shorter than this go out uncompressed (RSV1 clear, which RFC 7692 allows per
# message). Below ~64 bytes deflate saves a handful of bytes at best (block header plus
# flush marker eat 2-6 of them), which is noise beside the 40+ bytes of TCP/IP headers of the
# packet, while the zlib call and flush are the main per-message cost of a small send.
COMPRESS_THRESHOLD = 64

# Speed over ratio: the sidecar serves a dev server, usually over loopback, where latency per
# message matters and bytes are nearly free.
COMPRESS_LEVEL = zlib.Z_BEST_SPEED

_BITS = re.compile(r"(?:[89]|1[0-5])\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_UNESCAPE = re.compile(r"\\(.)")


class DeflateRefused(Exception):
    """`strict=True` and no permessage-deflate offer can meet the settings (HTTP 400)."""


class InflateError(Exception):
    """A compressed message is not a valid DEFLATE stream for the agreement (close 1007)."""


class MessageTooBig(Exception):
    """A compressed message inflates past the size limit (close 1009)."""


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


def _memory_level(bits: int) -> int:
    # zlib's hash table scales with memLevel; keep it in proportion to the window so a small
    # negotiated window also means a small compressor (15 -> zlib's default 8, 9 -> 2).
    return max(1, min(8, bits - 7))


class Compressor:
    """The server's compression state for one connection (one call per message).

    Window 8 (256 bytes) cannot be requested from zlib's raw deflate, which allows 9..15.
    It uses zlib's run-length strategy instead: every match then has distance 1, so no
    back-reference ever reaches further than a 256-byte window.
    """

    __slots__ = ("_bits", "_flush", "_obj", "_strategy", "threshold")

    def __init__(self, agreement: Agreement, *, threshold: int = COMPRESS_THRESHOLD) -> None:
        bits = agreement.server_max_window_bits
        strategy = zlib.Z_DEFAULT_STRATEGY
        if bits == 8:
            bits, strategy = 9, zlib.Z_RLE
        self._bits, self._strategy = bits, strategy
        # zlib's deflate state (window and hash table: 256 KiB at window 15) is made for the
        # first message that is compressed: a connection that only ever sends small messages,
        # or nothing, never holds one (every browser offers permessage-deflate).
        self._obj: Any = None  # its type has no public name
        # A full flush resets the dictionary: the next message never refers to this one.
        self._flush = (
            zlib.Z_FULL_FLUSH if agreement.server_no_context_takeover else zlib.Z_SYNC_FLUSH
        )
        self.threshold = threshold

    def compress(self, payload: bytes) -> bytes | None:
        """The compressed payload of one message, or None: send this one uncompressed."""
        if len(payload) < self.threshold:
            return None
        obj = self._obj
        if obj is None:
            bits = self._bits
            obj = self._obj = zlib.compressobj(
                COMPRESS_LEVEL, zlib.DEFLATED, -bits, _memory_level(bits), self._strategy
            )
        out = obj.compress(payload) + obj.flush(self._flush)
        # A flush always ends in the empty stored block 00 00 ff ff, which the wire omits.
        return out[:-4] or b"\x00"


class Decompressor:
    """The client's compressed messages, for one connection: feed fragments, then `finish`.

    The zlib window kept between messages is the negotiated `client_max_window_bits`, so the
    memory per connection follows the agreement and a reference further back than that into
    an earlier message fails (InflateError). With `client_no_context_takeover` the window is
    dropped after each message.
    """

    __slots__ = ("_bits", "_obj", "_takeover")

    def __init__(self, agreement: Agreement) -> None:
        self._bits = agreement.client_max_window_bits
        self._takeover = not agreement.client_no_context_takeover
        # Made for the first compressed message, as the compressor is (about 7 KB of inflate
        # state a connection that never sends one does not hold).
        self._obj: Any = None  # its type has no public name

    def feed(self, data: bytes | bytearray, room: int | None) -> bytes:
        """Inflate one fragment; `room` is how many more bytes the message may have (None:
        no limit). Raises MessageTooBig past it, InflateError for bad data."""
        obj = self._obj
        if obj is None:
            obj = self._obj = zlib.decompressobj(-self._bits)
        try:
            # zlib stops at max_length, so a small "zip bomb" frame never inflates in full.
            out: bytes = obj.decompress(data, 0 if room is None else room + 1)
        except zlib.error as exc:
            raise InflateError(f"invalid compressed data: {exc}") from None
        if room is not None and len(out) > room:
            raise MessageTooBig(CloseReason.INFLATES_TOO_BIG)
        if obj.eof and obj.unused_data:
            raise InflateError("data after the final DEFLATE block")
        return out

    def finish(self, room: int | None) -> bytes:
        """End the message (puts back the flush marker the sender removed)."""
        out = b""
        if self._obj is None or not self._obj.eof:
            out = self.feed(TRAILER, room)
        if self._obj.eof or not self._takeover:
            # After a final block (BFINAL) the stream is over: the next message starts afresh
            # (made when it comes).
            self._obj = None
        return out
