"""Closing every open session at shutdown, within a time limit: what `Sidecar.close`
(`_edge/server.py`) and `ASGIApp`'s lifespan shutdown (`_edge/asgi.py`) both do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from .session import Session

__all__ = ["close_sessions"]

# Of the time given, what is kept for the sessions still open when the rest ran out: a
# callback of theirs still running is cancelled, then their `on_close` runs (most take a
# few turns of the loop). At most a quarter of the time.
AFTER_CUT = 0.5


async def close_sessions(
    sessions: Iterable[Session], code: int, reason: bytes, wait: Callable[[], float]
) -> None:
    """Close each of `sessions` with `code` and `reason`, then wait for them to finish (their
    `on_close` run), for `wait()` seconds in all, asked once every close frame is written (at
    least 0). Those still open near the end are cut (`Session.abort`) and their callbacks
    stopped (`stop_callbacks`), so that `on_close` runs, with the code the client was sent; an
    `on_close` still running at the end is cancelled."""
    closing = tuple(sessions)
    for session in closing:
        session.close(code, reason)
    if not closing:
        return
    budget = max(wait(), 0.0)
    after_cut = min(AFTER_CUT, budget / 4)
    await asyncio.wait([s.finished for s in closing], timeout=budget - after_cut)
    late = [s for s in closing if not s.finished.done()]
    for session in late:
        session.stop_callbacks()
        session.abort()
    if late:
        await asyncio.wait([s.finished for s in late], timeout=after_cut)
        for session in late:
            if not session.finished.done():
                session.stop_callbacks()
