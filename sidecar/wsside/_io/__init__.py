"""Transports and streams: the bytes of a connection on an asyncio transport.

This is the only layer that touches aiohttp's private names, and all of them come through
`engine.py`, which checks at import that the installed aiohttp is one wsside supports.
"""
