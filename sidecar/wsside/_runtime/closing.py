"""Closing every open session at shutdown, within a time limit: what `Sidecar.close`
(`_edge/server.py`) and `ASGIApp`'s lifespan shutdown (`_edge/asgi.py`) both do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from .session import Session

__all__ = ["close_sessions"]


async def close_sessions(
    sessions: Iterable[Session], code: int, reason: bytes, wait: Callable[[], float]
) -> None:
    """Close each of `sessions` with `code` and `reason`, then wait for them to finish (their
    `on_close` run) for `wait()` seconds, asked once every close frame is written (at least
    0); those still open then are aborted."""
    closing = tuple(sessions)
    for session in closing:
        session.close(code, reason)
    if closing:
        await asyncio.wait([s.finished for s in closing], timeout=max(wait(), 0.0))
        for session in closing:
            if not session.finished.done():
                session.abort()
