"""Helpers for tests that speak raw HTTP to a sidecar."""

from __future__ import annotations

import asyncio


async def raw_upgrade(port: int, path: str, extra: str = "", host: str = "127.0.0.1") -> bytes:
    """Send a hand-written upgrade request and return the whole response head (and body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode("latin-1")
        )
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        # Also when no answer came in time: the socket is not left open past the test.
        writer.close()
