"""The backplane hook: how a broadcast reaches the connections of other processes.

A single process has no backplane (`None`): a broadcast costs nothing beyond local delivery.
With one, every hub publishes each broadcast once, already encoded, and the backplane hands
broadcasts from other processes to `Registry.deliver`.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Backplane"]


class Backplane(Protocol):
    def publish(
        self, pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
    ) -> None:
        """Send an encoded broadcast to the other processes: to the members of `rooms` (each
        once) of the endpoint `pattern`, or to all its connections when `rooms` is None.
        Never blocks and never raises: an outage drops cross-process deliveries only."""
        ...
