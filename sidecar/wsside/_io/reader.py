"""`StrictReader`: aiohttp's compiled frame parser plus the RFC 6455 / 7692 checks it lacks.

aiohttp's C `WebSocketReader` keeps doing the per-byte work (headers, lengths, unmasking).
Its per-frame hook is a `cpdef` method, so this Python override (`handle_frame`, installed by
`engine.frame_hook`) is what the C parser calls for every complete frame. Whole, uncompressed
data messages and pings/pongs go straight back to the C implementation; only close frames,
fragmented and compressed messages take the Python path. What is added:

- close frames: the code must be valid (`closecodes.is_valid_code`, else 1002) and the reason
  valid UTF-8 (else 1007);
- invalid UTF-8 in an uncompressed text message fails at the offending bytes (1007), even
  inside one frame that arrives in several TCP reads: `feed_data` follows frame boundaries in
  the raw stream and checks text that the C parser is still buffering;
- client frames must be masked (RFC 6455 §5.1, else 1002);
- control frames must not have RSV1 set (RFC 7692 §6, else 1002);
- size: a message may be exactly `max_message_size` bytes, one byte more closes 1009 (aiohttp's
  own test is `>=`); compressed messages are inflated fragment by fragment with a cap, using the
  negotiated window (`deflate.Decompressor`);
- a message has at most `max_fragments` frames (default: one per 64 bytes of the size limit,
  at least 1024), so empty continuation frames cannot keep one message open forever (1009).

A failure is reported once: whatever arrives after the offending frame is dropped unparsed
(the server may go on reading after its close frame, until the client's EOF: see
`Session.on_error`).

Memory per connection stays below about twice the size limit: the message so far (at most the
limit) plus the frame the C parser is buffering (refused early when its declared length alone
exceeds the limit plus deflate's worst-case overhead).
"""

from __future__ import annotations

import codecs
import functools
from typing import Any, Final, cast

from .._protocol.deflate import Decompressor, InflateError, MessageTooBig
from .._protocol.frames import BINARY, CLOSE, CONTINUATION, TEXT
from ..closecodes import CloseCode, is_valid_code
from .engine import (
    DataQueue,
    Reader,
    WebSocketError,
    WSMessage,
    WSMsgType,
    apply_mask,
    c_feed_data,
    c_handle_frame,
    fail_queue,
    frame_hook,
)

__all__ = ["StrictReader"]

_Utf8Decoder = codecs.getincrementaldecoder("utf-8")

_UINT_MAX = 2**32 - 1  # the C parser keeps its limit in an unsigned int

PROTOCOL_ERROR = int(CloseCode.PROTOCOL_ERROR)
INVALID_DATA = int(CloseCode.INVALID_FRAME_PAYLOAD_DATA)
TOO_BIG = int(CloseCode.MESSAGE_TOO_BIG)

# The buffers while no fragmented or compressed message is under way (shared, immutable:
# a message that starts gets its own, and a stray append to these fails loudly).
_NO_BYTES: Final = b""
_NO_TEXT: Final = cast("list[str]", ())


@frame_hook
class StrictReader(Reader):
    """The read side of one server connection: feeds messages into aiohttp's data queue."""

    # No instance __dict__ (336 bytes). Cython still calls the frame hook override of a
    # heap type without one; aiohttp's pure-Python reader keeps its own __dict__.
    __slots__ = (
        "_f_check",
        "_f_fin",
        "_f_head",
        "_f_mask",
        "_f_need",
        "_f_offset",
        "_f_utf8",
        "_failed",
        "_inflate",
        "_limit",
        "_m_bytes",
        "_m_compressed",
        "_m_frames",
        "_m_opcode",
        "_m_size",
        "_m_text",
        "_m_utf8",
        "_max_fragments",
        "_queue",
    )

    def __init__(
        self,
        queue: DataQueue,
        max_message_size: int,
        *,
        decompressor: Decompressor | None = None,
        max_fragments: int | None = None,
    ) -> None:
        super().__init__(
            queue,
            _coarse_limit(max_message_size),
            compress=decompressor is not None,
            decode_text=True,
        )
        self._queue = queue
        self._limit = max_message_size or None
        self._max_fragments = (
            _default_max_fragments(max_message_size) if max_fragments is None else max_fragments
        )
        self._inflate = decompressor
        self._failed = False
        # The message being assembled (fragmented or compressed), opcode 0 when none; its
        # buffer is made when it starts.
        self._m_opcode = 0
        self._m_compressed = False
        self._m_frames = 0
        self._m_size = 0
        self._m_bytes: bytearray | bytes = _NO_BYTES
        self._m_text: list[str] = _NO_TEXT
        self._m_utf8: codecs.IncrementalDecoder | None = None
        # The raw-stream follower (see `_follow`).
        self._f_need = 0  # payload bytes still to come in the current frame
        self._f_head = b""  # a frame header split across reads
        self._f_mask = b""
        self._f_offset = 0  # payload bytes of the current frame seen so far
        self._f_check = False  # the current frame's payload is UTF-8-checked here
        self._f_fin = False
        self._f_utf8: Any = None  # decoder of the uncompressed text message being checked

    def idle(self) -> bool:
        """At a frame boundary with no message under way and no failure: the next bytes may
        skip the parser (`WsStream`)."""
        return not (self._f_need or self._f_head or self._m_opcode or self._failed)

    # --- raw stream: masking and UTF-8 at byte granularity --------------------------------

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
        coarse = _coarse_limit(limit) if limit else 0
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
            if n - p < size:
                break
            p += size
            opcode = b0 & 0x0F
            if coarse and length >= coarse and opcode <= BINARY:
                # The C parser would refuse it too, but quoting its own (coarse) limit.
                error = WebSocketError(
                    TOO_BIG, f"Frame of {length} bytes exceeds the message size limit of {limit}"
                )
                break
            if opcode >= CLOSE and b0 & 0x40:
                # The C parser drops RSV1 of control frames when deflate was negotiated.
                error = WebSocketError(PROTOCOL_ERROR, "Control frames cannot be compressed")
                break
            if opcode < CLOSE:
                if opcode != CONTINUATION:
                    # A text message is followed unless compressed or whole in this read.
                    utf8 = (
                        _Utf8Decoder()
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

    # --- complete frames, called by the C parser ------------------------------------------

    def handle_frame(
        self, fin: bool, opcode: int, payload: bytes | bytearray, compressed: int
    ) -> None:
        if opcode in (TEXT, BINARY):
            if self._m_opcode:
                raise WebSocketError(
                    PROTOCOL_ERROR, "A new message started before the previous one ended"
                )
            if fin and not compressed:
                limit = self._limit
                if limit is not None and len(payload) > limit:
                    raise _too_big(len(payload), limit)
                c_handle_frame(self, fin, opcode, payload, compressed)
                return
            self._m_opcode = opcode
            self._m_compressed = bool(compressed)
            self._m_frames = self._m_size = 0
            if compressed and opcode == TEXT:
                self._m_text = []  # inflated text is decoded fragment by fragment
            else:
                self._m_bytes = bytearray()
            self._add(payload, fin)
        elif opcode == CONTINUATION:
            if not self._m_opcode:
                raise WebSocketError(PROTOCOL_ERROR, "Continuation frame outside a message")
            self._add(payload, fin)
        else:
            if opcode == CLOSE and len(payload) >= 2:
                code = int.from_bytes(payload[:2], "big")
                if not is_valid_code(code):
                    raise WebSocketError(PROTOCOL_ERROR, f"Invalid close code {code}")
                try:
                    bytes(payload[2:]).decode("utf-8")
                except UnicodeDecodeError:
                    raise WebSocketError(INVALID_DATA, "Close reason is not valid UTF-8") from None
            c_handle_frame(self, fin, opcode, payload, compressed)

    def _add(self, payload: bytes | bytearray, fin: bool) -> None:
        self._m_frames += 1
        if self._m_frames > self._max_fragments:
            raise WebSocketError(TOO_BIG, f"Message has more than {self._max_fragments} fragments")
        limit = self._limit
        text = self._m_opcode == TEXT
        if self._m_compressed:
            inflate = self._inflate
            assert inflate is not None  # RSV1 is refused by the C parser without an agreement
            room = None if limit is None else limit - self._m_size
            try:
                chunk = inflate.feed(payload, room)
                if fin:
                    rest = inflate.finish(None if room is None else room - len(chunk))
                    if rest:
                        chunk += rest
            except MessageTooBig as exc:
                raise WebSocketError(TOO_BIG, str(exc)) from None
            except InflateError as exc:
                raise WebSocketError(INVALID_DATA, str(exc)) from None
            self._m_size += len(chunk)
            if text:
                if self._m_utf8 is None:
                    self._m_utf8 = _Utf8Decoder()
                try:
                    self._m_text.append(self._m_utf8.decode(chunk, fin))
                except UnicodeDecodeError:
                    raise WebSocketError(INVALID_DATA, "Invalid UTF-8 in text message") from None
            else:
                self._m_bytes += chunk
        else:
            self._m_size += len(payload)
            if limit is not None and self._m_size > limit:
                raise _too_big(self._m_size, limit)
            self._m_bytes += payload
        if fin:
            self._deliver()

    def _deliver(self) -> None:
        size = self._m_size
        if self._m_opcode == TEXT:
            if self._m_compressed:
                text = "".join(self._m_text)
                self._m_text = _NO_TEXT
                self._m_utf8 = None
            else:
                try:
                    text = self._m_bytes.decode("utf-8")
                except UnicodeDecodeError:
                    raise WebSocketError(INVALID_DATA, "Invalid UTF-8 in text message") from None
            msg = WSMessage(WSMsgType.TEXT, text, "")
        else:
            msg = WSMessage(WSMsgType.BINARY, bytes(self._m_bytes), "")
        self._m_bytes = _NO_BYTES
        self._m_opcode = 0
        self._queue.feed_data(msg, size)


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


def _coarse_limit(max_message_size: int | None) -> int:
    """The limit the C parser applies to a frame from its header alone (0: none): the real
    limit plus deflate's worst case (stored blocks cost 5 bytes per 64 KiB); the exact test is
    done here on each message."""
    if not max_message_size:
        return 0
    return min(max_message_size + max_message_size // 8192 + 64, _UINT_MAX)


@functools.lru_cache(maxsize=32)
def _default_max_fragments(max_message_size: int) -> int:
    """One per 64 bytes of the limit, at least 1024 (cached: readers of one limit share it)."""
    return max(1024, max_message_size // 64) if max_message_size else 1 << 62


def _too_big(size: int, limit: int) -> WebSocketError:
    return WebSocketError(TOO_BIG, f"Message of {size} bytes exceeds the limit of {limit}")
