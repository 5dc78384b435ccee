"""`StrictReader`: aiohttp's compiled frame parser plus the RFC 6455 / 7692 checks it lacks.

aiohttp's C `WebSocketReader` keeps doing the per-byte work (headers, lengths, unmasking).
Its per-frame hook is a `cpdef` method, so this Python override (`handle_frame`, installed by
`engine.frame_hook`) is what the C parser calls for every complete frame. Whole, uncompressed
data messages and pings/pongs go straight back to the C implementation; only close frames,
fragmented and compressed messages take the Python path. The checks on the raw bytes before
the C parser sees a frame (masking, RSV1 of control frames, UTF-8 split across reads) are its
base class's, `PrescanReader` (`prescan.py`). What is added here, on complete frames:

- close frames: the code must be valid (`closecodes.is_valid_code`, else 1002) and the reason
  valid UTF-8 (else 1007);
- size: a message may be exactly `max_message_size` bytes, one byte more closes 1009 (aiohttp's
  own test is `>=`); compressed messages are inflated fragment by fragment with a cap, using the
  negotiated window (`compression.Decompressor`);
- a message has at most one frame per 64 bytes of the size limit (at least 1024 frames), so
  empty continuation frames cannot keep one message open forever (1009).

Memory per connection stays below about twice the size limit: the message so far (at most the
limit) plus the frame the C parser is buffering (refused early when its declared length alone
exceeds the limit plus deflate's worst-case overhead: `prescan.coarse_limit`).

While its session has stopped reading the socket (`hold` ... `release`), the complete frames
of the read under way are kept as they came, compressed ones not inflated: a read of 256 KiB
of compressed frames could otherwise inflate to hundreds of MiB behind a slow handler.
"""

from __future__ import annotations

import codecs
import functools
from collections import deque
from typing import Final, cast

from .._protocol.compression import Decompressor, InflateError, MessageTooBig
from .._protocol.frames import BINARY, CLOSE, CONTINUATION, TEXT
from ..closecodes import CloseReason, is_valid_code
from .engine import (
    DataQueue,
    WebSocketError,
    WSMessage,
    WSMsgType,
    c_handle_frame,
    fail_queue,
    frame_hook,
)
from .prescan import (
    INVALID_DATA,
    PROTOCOL_ERROR,
    TOO_BIG,
    PrescanReader,
    Utf8Decoder,
    coarse_limit,
)

__all__ = ["StrictReader"]

# The buffers while no fragmented or compressed message is under way (shared, immutable:
# a message that starts gets its own, and a stray append to these fails loudly).
_NO_BYTES: Final = b""
_NO_TEXT: Final = cast("list[str]", ())

# A complete frame as the C parser hands it over: fin, opcode, payload, compressed.
_Frame = tuple[bool, int, "bytes | bytearray", int]


@frame_hook
class StrictReader(PrescanReader):
    """The read side of one server connection: feeds messages into aiohttp's data queue."""

    # No instance __dict__ (336 bytes). Cython still calls the frame hook override of a
    # heap type without one; aiohttp's pure-Python reader keeps its own __dict__.
    __slots__ = (
        "_held",
        "_inflate",
        "_m_bytes",
        "_m_compressed",
        "_m_frames",
        "_m_opcode",
        "_m_size",
        "_m_text",
        "_m_utf8",
        "_max_fragments",
    )

    def __init__(
        self,
        queue: DataQueue,
        max_message_size: int,
        *,
        decompressor: Decompressor | None = None,
    ) -> None:
        super().__init__(
            queue,
            coarse_limit(max_message_size),
            compress=decompressor is not None,
            decode_text=True,
        )
        self._queue = queue
        self._limit = max_message_size or None
        self._max_fragments = _default_max_fragments(max_message_size)
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
        self._held: deque[_Frame] | None = None  # a deque while holding (`hold`)
        # The raw-stream follower's state (`PrescanReader`): at a frame boundary.
        self._f_need = 0
        self._f_head = b""
        self._f_mask = b""
        self._f_offset = 0
        self._f_check = False
        self._f_fin = False
        self._f_utf8 = None

    def idle(self) -> bool:
        """At a frame boundary with no message under way and no failure: the next bytes may
        skip the parser (`WsStream`)."""
        return not (self._f_need or self._f_head or self._m_opcode or self._failed)

    # --- complete frames, called by the C parser ------------------------------------------

    def hold(self) -> None:
        """Keep the complete frames from now on, in order, instead of handling them: the
        session stopped reading the socket, and the rest of the read under way must not grow
        its queue (a compressed frame is held as it came, not inflated)."""
        if self._held is None:
            self._held = deque()

    def release(self) -> None:
        """Handle the frames held since `hold`, in order; once the session holds again, the
        rest stay held, ahead of any held since, for the next `release` (each frame is
        handled once: a read of 40,000 tiny frames to a slow handler pauses many times). A
        frame refused fails the connection as the C parser fails it, and the frames after it
        are dropped, as the rest of a read is."""
        held, self._held = self._held, None
        while held:
            try:
                self.handle_frame(*held.popleft())
            except Exception as exc:  # noqa: BLE001 - whatever the C parser would catch
                self._failed = True
                fail_queue(self._queue, exc)
                return
            # The session may hold again in handle_frame (mypy keeps the None set above).
            again = cast("deque[_Frame] | None", self._held)
            if again is not None:
                held.extend(again)
                self._held = held
                return

    def drop_held(self) -> None:
        """The connection is lost: the frames held since `hold` are never handled."""
        self._held = None

    def handle_frame(
        self, fin: bool, opcode: int, payload: bytes | bytearray, compressed: int
    ) -> None:
        held = self._held
        if held is not None:
            held.append((fin, opcode, payload, compressed))
            return
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
            raise WebSocketError(TOO_BIG, CloseReason.too_many_fragments(self._max_fragments))
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
                    self._m_utf8 = Utf8Decoder()
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


@functools.lru_cache(maxsize=32)
def _default_max_fragments(max_message_size: int) -> int:
    """One per 64 bytes of the limit, at least 1024 (cached: readers of one limit share it)."""
    return max(1024, max_message_size // 64) if max_message_size else 1 << 62


def _too_big(size: int, limit: int) -> WebSocketError:
    return WebSocketError(TOO_BIG, CloseReason.message_too_big(size, limit))
