"""wsside: Python WebSocket back ends for Vite dev servers.

Declare endpoints with `Handler` in any `.py` file of the handlers folder (default `ws/`).
`ASGIApp` serves the same handlers under any ASGI server; `Publisher` broadcasts to their
connections from a process that is not a wsside one, through the backplane's Redis.

The public API is this module's `__all__` and `wsside.testing`; the other modules are
internal, whatever their names.
"""

from typing import TYPE_CHECKING, Any

from .closecodes import CloseCode, ProtocolError
from .connection import Connection, Sendable
from .handler import Handler
from .handler_options import Deflate
from .interrupted import HandlerInterrupted
from .request import Request
from .responses import Broadcast, Response
from .schema import MessageTypeError

if TYPE_CHECKING:
    from ._edge.asgi import ASGIApp
    from ._runtime.backplane_url import BackplaneError
    from ._runtime.publisher import Publisher

__version__ = "0.1.0"

__all__ = [
    "ASGIApp",
    "BackplaneError",
    "Broadcast",
    "CloseCode",
    "Connection",
    "Deflate",
    "Handler",
    "HandlerInterrupted",
    "MessageTypeError",
    "ProtocolError",
    "Publisher",
    "Request",
    "Response",
    "Sendable",
    "__version__",
]


# `ASGIApp` is public, so it stays in `__all__`, and is loaded on first use: `import wsside`
# (what a handler file does) loads no server, while `wsside.ASGIApp`, `from wsside import
# ASGIApp` and `from wsside import *` load the ASGI app (and aiohttp, which it uses).
# `Publisher` likewise: it lives in the runtime (the backplane's wire format), and redis-py
# is imported only when one is made; and `BackplaneError`, what it raises for a bad URL.
def __getattr__(name: str) -> Any:
    if name == "ASGIApp":
        from ._edge.asgi import ASGIApp

        return ASGIApp
    if name == "Publisher":
        from ._runtime.publisher import Publisher

        return Publisher
    if name == "BackplaneError":  # what Publisher and ASGIApp raise for a backplane URL
        from ._runtime.backplane_url import BackplaneError

        return BackplaneError
    raise AttributeError(f"module 'wsside' has no attribute {name!r}")


def __dir__() -> list[str]:
    # What `dir(wsside)` and editors' completion list: the public names (the lazy `ASGIApp`
    # too) and the module's own dunders, not the typing names or the internal submodules.
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
