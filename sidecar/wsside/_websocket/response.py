"""`ServerWebSocket`: aiohttp's `WebSocketResponse` with wsside's handshake rules.

- the subprotocol is the one wsside chose (`protocol`), by the server's preference order;
- permessage-deflate parameters come from the handler's `Deflate` settings;
- after the 101, `detach()` hands the socket to wsside's own stream (see stream.py): frames,
  pings, the closing handshake and every write are wsside's from then on.
"""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web

from .deflate import Agreement, Compressor, Decompressor, DeflateRefused, negotiate
from .reader import StrictReader
from .stream import MessageSink, WsStream
from .writer import FrameIO

__all__ = ["ServerWebSocket"]


class ServerWebSocket(web.WebSocketResponse):
    """aiohttp's handshake with wsside's rules; `detach()` then takes the connection over."""

    def __init__(self, *, protocol: str | None, deflate: Any, max_message_size: int) -> None:
        super().__init__(
            protocols=(protocol,) if protocol else (),
            compress=False,  # negotiated by wsside (`_handshake`), not by aiohttp
            autoping=False,
        )
        self.io: FrameIO | None = None
        self.sink: MessageSink | None = None
        self._deflate = deflate
        self._max_message_size = max_message_size
        self._detached = False
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
        # with the handshake are held back from it and fed to ours (their messages wait in the
        # sink until a session is attached).
        http = request.protocol
        early, http._message_tail = http._message_tail, b""
        super()._post_start(request, protocol, writer)
        agreement = self.agreement
        assert self._loop is not None
        self.sink = MessageSink()
        self._parser = StrictReader(
            self.sink, self._max_message_size,
            decompressor=Decompressor(agreement) if agreement else None,
        )
        http._payload_parser = self._parser
        if early:
            self._parser.feed_data(early)
        compressor = Compressor(agreement) if agreement else None
        self.io = FrameIO(writer.transport, http, compressor)

    def detach(self, request: web.BaseRequest) -> WsStream:
        """Take the connection away from aiohttp's request handler, which then forgets it
        (no task, request or parser of its stays alive); frames now reach the sink."""
        http = request.protocol
        transport = request.transport
        assert transport is not None and self.io is not None and self._loop is not None
        stream = WsStream(self._loop, self._parser)
        http._payload_parser = None  # its connection_lost would end our parser's stream
        http.transport = None  # ... and close our transport
        transport.set_protocol(stream)
        stream.connection_made(transport)
        http.connection_lost(None)
        self.io.protocol = stream
        assert self.sink is not None
        self.sink._protocol = stream  # the only reference left to aiohttp's handler
        self._detached = True
        return stream

    async def write_eof(self) -> None:  # type: ignore[override]
        # aiohttp calls this when the handler returns; once detached the socket is ours.
        if not self._detached:
            await super().write_eof()
