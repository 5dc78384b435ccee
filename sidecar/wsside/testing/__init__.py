"""Test your handlers: the engine of `wsside serve` and Vite's sidecar, in the test's own event
loop on a free loopback port, and clients that speak JSON.

    from wsside.testing import serve

    async def test_a_message_reaches_the_room():
        async with serve() as server:  # what `wsside serve` would serve here
            ada = await server.connect("/ws/chat", query={"username": "Ada"})
            bob = await server.connect("/ws/chat", query={"username": "Bob"})
            await ada.send({"type": "chat", "text": "hi"})
            message = await bob.receive_json(match={"type": "chat-message"})
            assert message == {"type": "chat-message", "from": "Ada", "text": "hi"}

Leaving the block closes every client (code 1000: each `on_close` runs), then the server,
and fails the test with `HandlerError` when a callback or background task of the handlers
raised meanwhile (`serve(..., raise_errors=False)` keeps the reports in `server.errors`
instead). Every wait has a timeout (5 s unless given) and says what it waited for.
"""

from .client import Client, ConnectionClosed, HandshakeRefused
from .server import HandlerError, Server, serve

__all__ = ["Client", "ConnectionClosed", "HandlerError", "HandshakeRefused", "Server", "serve"]
