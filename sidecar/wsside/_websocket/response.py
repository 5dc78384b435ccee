"""`ServerWebSocket`: aiohttp's `WebSocketResponse` with wsside's handshake rules.

- the subprotocol is chosen by the server's preference order (aiohttp uses the client's);
- permessage-deflate parameters come from the handler's `Deflate` settings;
- pings, pongs, heartbeat and data writes are left to wsside (autoping off, no heartbeat).
"""

from __future__ import annotations

import zlib
from typing import Any

from aiohttp import web

from .writer import FrameIO

__all__ = ["ServerWebSocket", "choose_subprotocol"]

CLOSE_TIMEOUT = 5.0


def choose_subprotocol(offered_header: str | None, preferred: tuple[str, ...]) -> str | None:
    """The first protocol of the server's list that the client offers, else None."""
    if not offered_header or not preferred:
        return None
    offered = {p.strip() for p in offered_header.split(",")}
    for proto in preferred:
        if proto in offered:
            return proto
    return None


class _ZlibCompressor:
    """Compression for an agreement aiohttp negotiated (window bits, no-context-takeover)."""

    __slots__ = ("_wbits", "_notakeover", "_obj")

    def __init__(self, wbits: int, notakeover: bool) -> None:
        self._wbits = wbits
        self._notakeover = notakeover
        self._obj = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)

    def compress(self, payload: bytes) -> bytes:
        obj = self._obj
        out = obj.compress(payload) + obj.flush(zlib.Z_SYNC_FLUSH)
        if self._notakeover:
            self._obj = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self._wbits)
        return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


class ServerWebSocket(web.WebSocketResponse):
    """One accepted WebSocket, before wsside's `Connection` wraps it."""

    def __init__(self, *, protocol: str | None, deflate: Any, max_message_size: int) -> None:
        super().__init__(
            protocols=(protocol,) if protocol else (),
            compress=deflate is not None,
            # aiohttp refuses a frame whose length is >= its limit; wsside's limit is inclusive.
            max_msg_size=max_message_size + 1,
            autoping=False,
            autoclose=True,
            timeout=CLOSE_TIMEOUT,
        )
        self.io: FrameIO | None = None

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        compressor = None
        if self.compress:
            notakeover = "server_no_context_takeover" in self.headers.get(
                "Sec-WebSocket-Extensions", ""
            )
            compressor = _ZlibCompressor(int(self.compress), notakeover)
        self.io = FrameIO(writer.transport, request.protocol, compressor)
