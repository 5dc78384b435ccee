"""Transports and streams: the bytes of a connection on an asyncio transport, or (`asgi.py`)
the messages of one that an ASGI server owns.

This is the only layer that touches aiohttp's private names, and all of them come through
`engine.py`, which checks at import that the installed aiohttp is one wsside supports.
"""

__all__ = ["EngineVersionError"]


class EngineVersionError(ImportError):
    """The installed aiohttp is outside the range wsside supports. Importing `engine` raises
    it; its message is the one line to show a user (the command line prints it alone)."""
