"""wsside: Python WebSocket back ends for Vite dev servers.

Declare endpoints with `Handler` in any `.py` file of the handlers folder (default `ws/`).
`ASGIApp` serves the same handlers under any ASGI server.
"""

from typing import TYPE_CHECKING, Any

from .closecodes import CloseCode, ProtocolError
from .connection import Connection, Sendable
from .handler import Handler, HandlerInterrupted
from .handler_options import Deflate
from .request import Request
from .responses import Broadcast, Response
from .schema import MessageTypeError

if TYPE_CHECKING:
    from ._edge.asgi import ASGIApp

__version__ = "0.1.0"

__all__ = [
    "ASGIApp",
    "Broadcast",
    "CloseCode",
    "Connection",
    "Deflate",
    "Handler",
    "HandlerInterrupted",
    "MessageTypeError",
    "ProtocolError",
    "Request",
    "Response",
    "Sendable",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `import wsside` in a handler file must not load the servers.
    if name == "ASGIApp":
        from ._edge.asgi import ASGIApp

        return ASGIApp
    raise AttributeError(f"module 'wsside' has no attribute {name!r}")
