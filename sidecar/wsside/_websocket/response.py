"""`ServerWebSocket`: aiohttp's `WebSocketResponse` with wsside's handshake rules.

- the subprotocol is chosen by the server's preference order (aiohttp uses the client's);
- permessage-deflate parameters come from the handler's `Deflate` settings;
- pings, pongs, heartbeat and data writes are left to wsside (autoping off, no heartbeat);
- closing takes at most `CLOSE_TIMEOUT`, then the socket is aborted (see `close`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import hdrs, web

from .deflate import Agreement, Compressor, Decompressor, DeflateRefused, negotiate
from .reader import StrictReader
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


class ServerWebSocket(web.WebSocketResponse):
    """One accepted WebSocket, before wsside's `Connection` wraps it."""

    def __init__(self, *, protocol: str | None, deflate: Any, max_message_size: int) -> None:
        super().__init__(
            protocols=(protocol,) if protocol else (),
            compress=False,  # negotiated by wsside (`_handshake`), not by aiohttp
            autoping=False,
            autoclose=True,
            timeout=CLOSE_TIMEOUT,
        )
        self.io: FrameIO | None = None
        self._deflate = deflate
        self._max_message_size = max_message_size
        self.agreement: Agreement | None = None

    def _handshake(self, request: web.BaseRequest) -> Any:
        try:
            headers, protocol, _, _ = super()._handshake(request)
        except ValueError:
            # Non-ASCII bytes in Connection, Sec-WebSocket-Key or -Version make aiohttp raise
            # ValueError/UnicodeError (a 500 and a logged traceback): it is a bad request.
            raise web.HTTPBadRequest(text="Malformed WebSocket handshake header") from None
        if self._deflate is not None:
            offers = ", ".join(request.headers.getall(hdrs.SEC_WEBSOCKET_EXTENSIONS, ()))
            try:
                self.agreement = negotiate(offers, self._deflate)
            except DeflateRefused as exc:
                raise web.HTTPBadRequest(text=f"permessage-deflate refused: {exc}") from None
            if self.agreement is not None:
                headers[hdrs.SEC_WEBSOCKET_EXTENSIONS] = self.agreement.response_header()
        return headers, protocol, 0, False

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        # aiohttp's parser is replaced by StrictReader before it sees a byte: bytes that came
        # with the handshake are held back from it and fed to ours.
        http = request.protocol
        early, http._message_tail = http._message_tail, b""
        super()._post_start(request, protocol, writer)
        agreement = self.agreement
        self._parser = StrictReader(
            self._reader, self._max_message_size,
            decompressor=Decompressor(agreement) if agreement else None,
        )
        http._payload_parser = self._parser
        if early:
            self._parser.feed_data(early)
        compressor = Compressor(agreement) if agreement else None
        self.io = FrameIO(writer.transport, request.protocol, compressor)

    async def close(self, *, code: int = 1000, message: bytes = b"", drain: bool = True) -> bool:
        req = self._req
        transport = req.transport if req is not None else None
        if transport is None or self._closed:
            return await super().close(code=code, message=message, drain=drain)
        # A peer that reads nothing keeps our close frame, and the backlog queued before it, in
        # the send buffer for ever (aiohttp waits for the drain without a timeout, and a closed
        # transport lingers until its buffer is flushed): past the timeout, drop the socket.
        deadline = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, transport.abort)
        try:
            return await super().close(code=code, message=message, drain=drain)
        finally:
            if not transport.get_write_buffer_size():
                deadline.cancel()
