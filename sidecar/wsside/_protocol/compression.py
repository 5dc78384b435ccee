"""permessage-deflate (RFC 7692): one connection's compression state, once negotiated.

No I/O here. `Compressor` and `Decompressor` hold one connection's zlib state and honour every
parameter of the `Agreement` (`deflate.py`) on the wire: the window sizes and context takeover
the two sides agreed on.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from ..closecodes import CloseReason

if TYPE_CHECKING:
    from .deflate import Agreement

__all__ = ["Compressor", "Decompressor", "InflateError", "MessageTooBig"]

TRAILER = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.1: removed by the sender, put back by the receiver

# Messages shorter than this go out uncompressed (RSV1 clear, which RFC 7692 allows per
# message). Below ~64 bytes deflate saves a handful of bytes at best (block header plus
# flush marker eat 2-6 of them), which is noise beside the 40+ bytes of TCP/IP headers of the
# packet, while the zlib call and flush are the main per-message cost of a small send.
COMPRESS_THRESHOLD = 64

# Speed over ratio: the sidecar serves a dev server, usually over loopback, where latency per
# message matters and bytes are nearly free.
COMPRESS_LEVEL = zlib.Z_BEST_SPEED


class InflateError(Exception):
    """A compressed message is not a valid DEFLATE stream for the agreement (close 1007)."""


class MessageTooBig(Exception):
    """A compressed message inflates past the size limit (close 1009)."""


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
