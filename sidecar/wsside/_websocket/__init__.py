"""wsside's seam with aiohttp: everything that extends or bypasses aiohttp's WebSocket code.

Nothing outside this package reaches into aiohttp's private WebSocket machinery.
"""
