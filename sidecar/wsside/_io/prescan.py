"""`PrescanReader`: the raw byte stream, walked ahead of aiohttp's C frame parser.

The C parser sees a frame only once it is complete; some RFC 6455 / 7692 checks must happen
earlier, on the bytes as they arrive. `feed_data` follows frame boundaries in each read and
refuses, before the C parser gets the offending frame:

- an unmasked client frame (RFC 6455 §5.1, 1002);
- a 64-bit frame length with its most significant bit set (RFC 6455 §5.2, 1002);
- a control frame with RSV1 set (RFC 7692 §6, 1002; the C parser drops that bit when deflate
  was negotiated);
- a data frame whose declared length alone exceeds the reader's coarse limit (1009, quoting
  the real limit rather than the C parser's coarse one);
- invalid UTF-8 in an uncompressed text message, at the offending bytes (1007), even inside one
  frame that arrives in several TCP reads: text the C parser is still buffering is checked here.

A failure is reported once: whatever arrives after the offending frame is dropped unparsed
(the server may go on reading after its close frame, until the client's EOF: see
`Session.on_error`).

`StrictReader` (`reader.py`) is the only subclass; it checks complete frames and assembles
messages.
"""

from __future__ import annotations

import codecs
from typing import Any

from .._protocol.frames import BINARY, CLOSE, CONTINUATION, TEXT
from ..closecodes import CloseCode, CloseReason
from .engine import DataQueue, Reader, WebSocketError, apply_mask, c_feed_data, fail_queue

__all__ = [
    "INVALID_DATA",
    "PROTOCOL_ERROR",
    "TOO_BIG",
    "PrescanReader",
    "Utf8Decoder",
    "coarse_limit",
]

Utf8Decoder = codecs.getincrementaldecoder("utf-8")

_UINT_MAX = 2**32 - 1  # the C parser keeps its limit in an unsigned int

PROTOCOL_ERROR = int(CloseCode.PROTOCOL_ERROR)
INVALID_DATA = int(CloseCode.INVALID_FRAME_PAYLOAD_DATA)
TOO_BIG = int(CloseCode.MESSAGE_TOO_BIG)


class PrescanReader(Reader):
    """The raw-stream half of `StrictReader`.

    `StrictReader.__init__` sets this state as well as its own, so that making a reader (once
    per connection) stays one Python call.
    """

    __slots__ = (
        "_f_check",
        "_f_fin",
        "_f_head",
        "_f_mask",
        "_f_need",
        "_f_offset",
        "_f_utf8",
        "_failed",
        "_limit",
        "_queue",
    )

    _queue: DataQueue
    _limit: int | None  # the message size limit, None for none
    _failed: bool
    _f_need: int  # payload bytes still to come in the current frame
    _f_head: bytes  # a frame header split across reads
    _f_mask: bytes
    _f_offset: int  # payload bytes of the current frame seen so far
    _f_check: bool  # the current frame's payload is UTF-8-checked here
    _f_fin: bool
    _f_utf8: Any  # decoder of the uncompressed text message being checked

    def feed_data(self, data: Any) -> tuple[bool, bytes]:
        if self._failed:
            return True, data
        if type(data) is not bytes:
            data = bytes(data)
        error = self._follow(data) if data else None
        if error is None:
            # True: the C parser refused a frame (its own checks or `handle_frame`'s) and
            # failed the queue; the rest of this read and all later ones are dropped.
            failed, rest = c_feed_data(self, data)
            self._failed = failed
            return failed, rest
        # Deliver what came before the offending frame, then fail the connection.
        pos, exc = error
        eof = False
        if pos:
            eof, _ = c_feed_data(self, data[:pos])
        self._failed = True
        if not eof:
            fail_queue(self._queue, exc)
        return True, b""

    def _follow(self, data: bytes) -> tuple[int, WebSocketError] | None:
        """Walk the frame boundaries of `data`; check text the C parser has not seen whole.

        Uncompressed text is checked here when its message is fragmented or a frame of it is
        split across reads; a whole single-frame message is left to the C parser's decode.
        State lives in locals inside the loop and is saved once per read.
        Returns (offset in `data` of the offending frame, error), or None.
        """
        shift = len(self._f_head)
        if shift:
            data = self._f_head + data
            self._f_head = b""
        n = len(data)
        p = frame_start = 0
        need = self._f_need
        utf8 = self._f_utf8
        check = self._f_check
        fin = self._f_fin
        mask = self._f_mask
        offset = self._f_offset
        limit = self._limit
        coarse = coarse_limit(limit) if limit else 0
        error: WebSocketError | None = None
        while p < n:
            if need:
                take = need if need <= n - p else n - p
                if check:
                    last = fin and take == need
                    if not _utf8_ok(utf8, data, p, p + take, mask, offset, last):
                        error = WebSocketError(INVALID_DATA, "Invalid UTF-8 in text message")
                        break
                    if last:
                        utf8 = None
                p += take
                need -= take
                offset += take
                continue
            frame_start = p
            if n - p < 2:
                break
            b0 = data[p]
            b1 = data[p + 1]
            if b1 < 0x80:
                error = WebSocketError(PROTOCOL_ERROR, "Client frames must be masked")
                break
            length = b1 & 0x7F
            if length < 126:
                size = 6
            elif length == 126:
                size = 8
                if n - p < 8:
                    break
                length = data[p + 2] << 8 | data[p + 3]
            else:
                size = 14
                if n - p < 14:
                    break
                length = int.from_bytes(data[p + 2 : p + 10], "big")
                if length >> 63:
                    error = WebSocketError(PROTOCOL_ERROR, "Frame length has its top bit set")
                    break
            if n - p < size:
                break
            p += size
            opcode = b0 & 0x0F
            if coarse and length >= coarse and opcode <= BINARY:
                # The C parser would refuse it too, but quoting its own (coarse) limit.
                assert limit is not None  # `coarse` is 0 without a limit
                error = WebSocketError(TOO_BIG, CloseReason.frame_too_big(length, limit))
                break
            if opcode >= CLOSE and b0 & 0x40:
                # The C parser drops RSV1 of control frames when deflate was negotiated.
                error = WebSocketError(PROTOCOL_ERROR, "Control frames cannot be compressed")
                break
            if opcode < CLOSE:
                if opcode != CONTINUATION:
                    # A text message is followed unless compressed or whole in this read.
                    utf8 = (
                        Utf8Decoder()
                        if opcode == TEXT and not b0 & 0x40 and not (b0 & 0x80 and p + length <= n)
                        else None
                    )
                if utf8 is not None:
                    fin = b0 >= 0x80
                    mask = data[p - 4 : p]
                    offset = 0
                    check = True
                    need = length
                    if not length and fin:
                        if not _utf8_ok(utf8, data, p, p, mask, 0, True):
                            error = WebSocketError(INVALID_DATA, "Invalid UTF-8 in text message")
                            break
                        utf8 = None
                    continue
            if p + length <= n:
                p += length
            else:
                need = length
                check = False
        self._f_need = need
        self._f_utf8 = utf8
        self._f_check = check
        self._f_fin = fin
        self._f_mask = mask
        self._f_offset = offset
        if error is not None:
            return max(0, frame_start - shift), error
        if not need and p < n:
            self._f_head = data[p:]
        return None


def _utf8_ok(
    decoder: Any, data: bytes, start: int, end: int, mask: bytes, offset: int, last: bool
) -> bool:
    """Unmask data[start:end] (frame payload bytes from `offset` on) and feed it to `decoder`."""
    chunk = bytearray(data[start:end])
    if chunk:
        k = offset & 3
        apply_mask(mask[k:] + mask[:k] if k else mask, chunk)
    try:
        decoder.decode(chunk, last)
    except UnicodeDecodeError:
        return False
    return True


def coarse_limit(max_message_size: int | None) -> int:
    """The limit the C parser applies to a frame from its header alone (0: none): the real
    limit plus deflate's worst case (stored blocks cost 5 bytes per 64 KiB); the exact test is
    done on each message (`StrictReader`)."""
    if not max_message_size:
        return 0
    return min(max_message_size + max_message_size // 8192 + 64, _UINT_MAX)
