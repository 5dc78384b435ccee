"""wsside's seam with aiohttp: every private name of aiohttp that wsside uses, in one place.

aiohttp is the engine: its HTTP server answers upgrades and its compiled frame parser does the
per-byte work. wsside extends it where its public API stops: a frame parser that hands each
message straight to a callback, a handshake with wsside's own rules, and a synchronous writer.
Those extensions need names aiohttp keeps private, which may change in any release, so:

- no other module of wsside names them (a test in `tests/test_layers.py` checks it);
- importing this module checks, before anything else, that the installed aiohttp is in
  `SUPPORTED` (`_io/__init__.py`), the range CI runs (its floor and its newest release), and
  otherwise fails with one line naming that range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from . import SUPPORTED, EngineVersionError, check_version

__all__ = [
    "SUPPORTED",
    "BaseProtocol",
    "DataQueue",
    "EngineVersionError",
    "HttpProcessingError",
    "Reader",
    "UnboundedQueue",
    "WSMessage",
    "WSMsgType",
    "WebSocketError",
    "apply_mask",
    "base_post_start",
    "c_feed_data",
    "c_handle_frame",
    "check_version",
    "drain",
    "drop_client",
    "fail_queue",
    "frame_hook",
    "hide_server_version",
    "parse_cookies",
    "reader_queue",
    "replace_parser",
    "set_queue_protocol",
    "take_early_bytes",
    "upgrade_hooks",
    "writing_paused",
]

check_version(aiohttp.__version__)

# Imported only once the version is known to be one these names exist in.
from aiohttp import web_response as _web_response  # noqa: E402
from aiohttp._cookie_helpers import parse_cookie_header  # noqa: E402
from aiohttp._websocket.helpers import websocket_mask as apply_mask  # noqa: E402
from aiohttp._websocket.models import WebSocketError, WSMessage, WSMsgType  # noqa: E402
from aiohttp._websocket.reader import WebSocketDataQueue as DataQueue  # noqa: E402
from aiohttp._websocket.reader import WebSocketReader as Reader  # noqa: E402
from aiohttp.base_protocol import BaseProtocol  # noqa: E402
from aiohttp.helpers import set_exception  # noqa: E402
from aiohttp.http_exceptions import HttpProcessingError  # noqa: E402

_T = TypeVar("_T", bound=type)

# The compiled parser's own per-frame and per-read steps, for an override to call.
c_handle_frame: Callable[..., None] = Reader._handle_frame
c_feed_data: Callable[..., tuple[bool, bytes]] = Reader.feed_data


def frame_hook(cls: _T) -> _T:
    """Class decorator for a `Reader` subclass: the compiled parser calls its `handle_frame`
    for every complete frame (the parser's hook is the `cpdef` method `_handle_frame`)."""
    cls._handle_frame = cls.handle_frame  # type: ignore[attr-defined]  # seam: aiohttp's hook
    return cls


class UnboundedQueue(DataQueue):
    """A parser queue that never asks the parser to hold back: what its flow control reads
    (aiohttp's pure-Python reader through these class attributes, the C reader from its own
    zeroed fields) stays zero."""

    __slots__ = ()
    _size = 0
    _limit = 0


def reader_queue(reader: Any) -> Any:
    """The data queue a `Reader` feeds."""
    return reader._queue


def fail_queue(queue: Any, exc: BaseException) -> None:
    """Fail `queue` as the parser does when a frame is invalid."""
    set_exception(queue, exc)


def set_queue_protocol(queue: Any, protocol: Any) -> None:
    """Point a data queue at the protocol its flow control pauses (after a detach)."""
    queue._protocol = protocol


def upgrade_hooks(cls: _T) -> _T:
    """Class decorator for a `web.WebSocketResponse` subclass: its `handshake(request)` and
    `post_start(request, protocol, writer)` replace aiohttp's private steps of `prepare`."""
    cls._handshake = cls.handshake  # type: ignore[attr-defined]  # seam: aiohttp's step
    cls._post_start = cls.post_start  # type: ignore[attr-defined]  # seam: aiohttp's step
    return cls


def base_post_start(response: Any, request: Any, protocol: Any, writer: Any) -> None:
    """aiohttp's own `_post_start`, for an override to run first."""
    web.WebSocketResponse._post_start(response, request, protocol, writer)


def take_early_bytes(http: Any) -> bytes:
    """Bytes the client sent after the upgrade request, which aiohttp's HTTP protocol holds
    for the WebSocket parser; they are taken away from it."""
    early: bytes = http._message_tail
    http._message_tail = b""
    return early


def replace_parser(http: Any, parser: Any) -> None:
    """Make aiohttp's HTTP protocol feed `parser` (None: feed nothing, end nothing)."""
    http._payload_parser = parser


def writing_paused(protocol: BaseProtocol) -> bool:
    """Whether the transport asked `protocol` (a `BaseProtocol`) to stop writing."""
    return bool(protocol._paused)


async def drain(protocol: BaseProtocol) -> None:
    """Wait until `protocol`'s transport takes more data."""
    await protocol._drain_helper()


# What `Server` says in the responses of wsside's aiohttp server (refusals, 101s and aiohttp's
# own 400s for malformed requests): the product, no versions to look vulnerabilities up by.
SERVER_HEADER = "wsside"


def hide_server_version() -> None:
    """Make every response of aiohttp's server in this process say `Server: wsside` instead of
    aiohttp's `Python/3.x aiohttp/3.x.y` (its default, which `_prepare_headers` reads from
    this module global for each response, including those of its own error handler)."""
    _web_response.SERVER_SOFTWARE = SERVER_HEADER  # type: ignore[attr-defined]  # seam


_NO_COOKIES: Mapping[str, str] = MappingProxyType({})


def parse_cookies(headers: Mapping[str, str]) -> Mapping[str, str]:
    """The request's cookies, parsed as aiohttp's `request.cookies` parses them (RFC 6265).
    A name sent twice keeps its first value, as `query` does: browsers send the cookie of the
    longer path first (`session` of `/app` before that of `/`), and aiohttp's keeps the last."""
    raw = headers.get("Cookie", "")
    if not raw:
        return _NO_COOKIES
    cookies: dict[str, str] = {}
    for name, morsel in parse_cookie_header(raw):
        cookies.setdefault(name, morsel.value)
    return MappingProxyType(cookies)


def drop_client(ws: aiohttp.ClientWebSocketResponse[Any]) -> None:
    """Close a client WebSocket's socket without a close frame (`wsside.testing`'s `drop`):
    aiohttp has no public way. Its connection (`_conn`) is given back closed, else aiohttp
    warns of it, unclosed, when it is collected."""
    connection = ws._conn
    if connection is None:  # aiohttp closed it already
        return
    if connection.transport is not None:
        connection.transport.abort()
    connection.close()
