"""The grace of a pattern no longer declared: its hub keeps its connections for
`ORPHAN_GRACE` seconds, served by its old code but routed no more, in case a file declares
the pattern again (a file renamed, or saved in two steps: emptied or moved aside, then
written). Declared again, the registry adopts the hub and its connections go on with the new
code; still gone after the grace, its connections close with 1012.
"""

from __future__ import annotations

import asyncio

from .hub import Hub

__all__ = ["ORPHAN_GRACE", "Orphans"]

# Seconds a pattern no longer declared keeps its connections, waiting to be declared again.
ORPHAN_GRACE = 1.0


class Orphans:
    """The hubs of patterns no longer declared, in their grace, by pattern."""

    def __init__(self) -> None:
        # Each hub with the timer that ends its grace.
        self._hubs: dict[str, tuple[Hub, asyncio.TimerHandle]] = {}

    def set_aside(self, hub: Hub) -> None:
        """Set aside the hub of a pattern no longer declared, for `ORPHAN_GRACE` seconds
        (outside an event loop no timer can end a grace: its connections close at once)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            hub.retire()
            return
        pattern = hub.handler.pattern.source
        self._hubs[pattern] = (hub, loop.call_later(ORPHAN_GRACE, self._end_grace, pattern))

    def adopt(self, pattern: str) -> Hub | None:
        """The hub `pattern` had before it disappeared, if its grace still runs."""
        hub, timer = self._hubs.pop(pattern, (None, None))
        if timer is not None:
            timer.cancel()
        return hub

    def get(self, pattern: str) -> Hub | None:
        """The hub of `pattern` in its grace, left there."""
        entry = self._hubs.get(pattern)
        return None if entry is None else entry[0]

    def close(self) -> None:
        """End every grace now: their connections close."""
        hubs, self._hubs = self._hubs, {}
        for hub, timer in hubs.values():
            timer.cancel()
            hub.retire()

    def _end_grace(self, pattern: str) -> None:
        hub, _ = self._hubs.pop(pattern)
        hub.retire()
