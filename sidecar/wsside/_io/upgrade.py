"""`ServerWebSocket`: aiohttp's `WebSocketResponse` with wsside's handshake rules.

- the handshake checks and the 101's headers are wsside's (`_protocol/handshake.py`): the
  subprotocol is the one wsside chose (`protocol`), by the server's preference order, and
  permessage-deflate parameters come from the handler's `Deflate` settings;
- after the 101, `detach()` hands the socket to wsside's own stream (see stream.py): frames,
  pings, the closing handshake and every write are wsside's from then on.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from .._protocol.compression import Compressor, Decompressor
from .._protocol.deflate import Agreement
from .._protocol.handshake import HandshakeError, accept_headers
from ..handler_options import Deflate
from .engine import (
    base_post_start,
    replace_parser,
    set_queue_protocol,
    take_early_bytes,
    upgrade_hooks,
)
from .reader import StrictReader
from .stream import FrameSink, MessageSink, WsStream
from .transport import SocketTransport
from .writer import FrameIO

__all__ = ["ServerWebSocket", "open_stream"]


def _reader(max_message_size: int, agreement: Agreement | None) -> tuple[MessageSink, StrictReader]:
    sink = MessageSink()
    decompressor = Decompressor(agreement) if agreement else None
    return sink, StrictReader(sink, max_message_size, decompressor=decompressor)


@functools.lru_cache(maxsize=64)
def _reader_maker(max_message_size: int) -> Callable[[FrameSink | None], StrictReader]:
    """A parser factory shared by every connection with this size limit (no deflate)."""

    def make(sink: FrameSink | None) -> StrictReader:
        queue, parser = _reader(max_message_size, None)
        if sink is not None:
            queue.attach(sink)
        return parser

    return make


def _compressor(agreement: Agreement | None) -> Compressor | None:
    return Compressor(agreement) if agreement else None


def open_stream(
    transport: asyncio.Transport, max_message_size: int, agreement: Agreement | None, early: bytes
) -> tuple[WsStream, FrameIO]:
    """The WebSocket side of a transport whose 101 is written and that reads nothing yet:
    `early` (client bytes that came with the request) is parsed first. Without deflate and
    early bytes, the parser is made when the client first sends something."""
    loop = asyncio.get_running_loop()
    if early or agreement is not None:
        _, parser = _reader(max_message_size, agreement)
        stream = WsStream(loop, parser, limit=max_message_size)
        if early:  # its messages wait in the parser's queue until a session attaches
            parser.feed_data(early)
    else:
        stream = WsStream(loop, None, _reader_maker(max_message_size), max_message_size)
    transport.set_protocol(stream)
    stream.connection_made(transport)
    io = FrameIO(transport, stream, _compressor(agreement))
    if isinstance(transport, SocketTransport):
        transport.hand_on_move(io)
    return stream, io


@upgrade_hooks
class ServerWebSocket(web.WebSocketResponse):
    """aiohttp's handshake with wsside's rules; `detach()` then takes the connection over."""

    def __init__(
        self, *, protocol: str | None, deflate: Deflate | None, max_message_size: int
    ) -> None:
        super().__init__(
            protocols=(protocol,) if protocol else (),
            compress=False,  # negotiated by wsside (`handshake`), not by aiohttp
            autoping=False,
        )
        self._chosen = protocol
        self.io: FrameIO | None = None
        self.sink: MessageSink | None = None
        self._parser: StrictReader | None = None
        self._deflate = deflate
        self._max_message_size = max_message_size
        self._detached = False
        self.agreement: Agreement | None = None

    def handshake(self, request: web.BaseRequest) -> tuple[CIMultiDict[str], str | None, int, bool]:
        """aiohttp's handshake step, with wsside's own checks (`_protocol/handshake.py`),
        shared with handed-over sockets, which never meet aiohttp: non-ASCII bytes in
        Connection or Sec-WebSocket-Key are a 400 too, a version not spoken a 426."""
        try:
            headers, self.agreement = accept_headers(request.headers, self._chosen, self._deflate)
        except HandshakeError as exc:
            refused = web.HTTPUpgradeRequired if exc.status == 426 else web.HTTPBadRequest
            raise refused(text=str(exc)) from None
        return CIMultiDict(headers), self._chosen, 0, False

    def post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        """After the 101: aiohttp's parser is replaced by `StrictReader` before it sees a
        byte. Bytes that came with the handshake are held back from it and fed to ours (their
        messages wait in the sink until a session is attached)."""
        http = request.protocol
        early = take_early_bytes(http)
        base_post_start(self, request, protocol, writer)
        self.sink, self._parser = _reader(self._max_message_size, self.agreement)
        replace_parser(http, self._parser)
        if early:
            self._parser.feed_data(early)
        self.io = FrameIO(writer.transport, http, _compressor(self.agreement))

    def detach(self, request: web.BaseRequest) -> WsStream:
        """Take the connection away from aiohttp's request handler, which then forgets it
        (no task, request or parser of its stays alive); frames now reach the sink."""
        http = request.protocol
        transport = request.transport
        assert transport is not None and self.io is not None and self.sink is not None
        stream = WsStream(asyncio.get_running_loop(), self._parser, limit=self._max_message_size)
        replace_parser(http, None)  # its connection_lost would end our parser's stream
        http.transport = None  # ... and close our transport
        transport.set_protocol(stream)
        stream.connection_made(transport)
        http.connection_lost(None)
        self.io.protocol = stream
        set_queue_protocol(self.sink, stream)  # the only reference left to aiohttp's handler
        self._detached = True
        return stream

    async def write_eof(self) -> None:  # type: ignore[override]  # as aiohttp's own override
        # aiohttp calls this when the handler returns; once detached the socket is ours.
        if not self._detached:
            await super().write_eof()
