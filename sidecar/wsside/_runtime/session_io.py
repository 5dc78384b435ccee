"""What a session needs from the I/O under its connection, whichever carries it: a socket
wsside owns (`_io/writer.FrameIO` and `_io/stream.WsStream`) or an ASGI server
(`_io/asgi.AsgiIO` and `AsgiChannel`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol

from .hub import Outlet

if TYPE_CHECKING:
    from .._io.stream import FrameSink
    from .._io.writer import TooSlow

__all__ = ["FrameSource", "SessionIO", "Transport"]


class Transport(Protocol):
    """The connection under the frames (an asyncio transport, or an ASGI channel)."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None:
        """End the connection once what is queued is written."""
        ...

    def abort(self) -> None:
        """End the connection now, dropping what is queued."""
        ...


class SessionIO(Outlet, Protocol):
    """The write side of one connection, as its session uses it."""

    closing: bool  # set by the session once the connection is lost
    overflow: TooSlow | None  # told when the client reads too slowly

    @property
    def transport(self) -> Transport: ...

    @property
    def can_ping(self) -> bool:
        """Whether ping and pong frames reach the client (not under ASGI, which has no
        message for them): the heartbeat needs them."""
        ...

    @property
    def buffered(self) -> int:
        """Bytes queued and not yet written."""
        ...

    @property
    def paused(self) -> bool:
        """Whether senders should wait (`drain`) before queueing more."""
        ...

    def write_close(self, code: int | None, reason: bytes = b"") -> None: ...

    def half_close(self) -> bool:
        """After our close frame, when the connection is failed: end our side only and read
        on (what arrives is dropped) until the client ends its side; False, and nothing done,
        where that cannot be done (then the transport is to be closed)."""
        ...

    def write_control(self, opcode: int, payload: bytes) -> None: ...

    def drain(self) -> Awaitable[None]: ...


class FrameSource(Protocol):
    """Where a session's frames come from; `attach` starts the flow (a client that already
    left is reported to the sink at once)."""

    def attach(self, sink: FrameSink) -> None: ...

    def hold(self) -> None:
        """Reading stopped: keep the frames of the read under way instead of delivering
        them (a compressed one as it came, not inflated)."""
        ...

    def release(self) -> None:
        """Deliver the frames held since `hold`, in order (the sink may `hold` again)."""
        ...
