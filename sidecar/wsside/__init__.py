"""wsside: Python WebSocket back ends for Vite dev servers.

Declare endpoints with `Handler` in any `.py` file of the handlers folder (default `ws/`).
"""

from .closecodes import CloseCode, ProtocolError
from .connection import Connection
from .handler import Broadcast, Deflate, Handler, Response
from .request import Request
from .schema import MessageTypeError

__version__ = "0.1.0"

__all__ = [
    "Broadcast",
    "CloseCode",
    "Connection",
    "Deflate",
    "Handler",
    "MessageTypeError",
    "ProtocolError",
    "Request",
    "Response",
    "__version__",
]
