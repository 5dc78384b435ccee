"""The Redis backplane's queue of outgoing records: what `RedisBackplane.publish` queued and
its publishing task has not sent yet.

The queue is bounded (`MAX_PENDING_BYTES`), and each round trip takes all of it, as messages
of about `BATCH_BYTES` at most. A record that waited more than `MAX_WAIT` for Redis is dropped
and counted, not published: a broadcast is on time or lost. Time spent waiting for the event
loop does not count: the queue reads a clock of the time the loop's thread ran or waited for a
CPU (`/proc/thread-self/schedstat` on Linux), so a busy loop or host is not a late Redis.
What the queue drops is counted in the backplane's `Outage` (`backplane_outage.py`).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable

from .backplane_outage import RETRY_CAP, Outage
from .backplane_wire import MAX_BYTES

__all__ = ["BATCH_BYTES", "MAX_PENDING_BYTES", "MAX_WAIT", "PublishQueue"]

# Outgoing records waiting for Redis, at most (beyond it they are dropped and counted).
MAX_PENDING_BYTES = MAX_BYTES
# A record still queued this long after it was made is dropped and counted, not published:
# a broadcast is on time or lost, never seconds late (a stuck Redis, a slow reconnection).
MAX_WAIT = RETRY_CAP
# One Redis message carries at most about this much; a bigger backlog goes in several, sent
# together (a pipeline: one round trip).
BATCH_BYTES = 256 * 1024


class PublishQueue:
    """The records waiting for Redis, oldest first, each message starting with `head` (the
    wire format's header of this process). What it drops is counted in `outage`."""

    def __init__(self, head: bytes, outage: Outage) -> None:
        self._head = head
        self._outage = outage
        # (when it was queued, record), oldest first
        self._pending: deque[tuple[float, bytes]] = deque()
        self._pending_bytes = 0
        # When the publisher last woke with nothing in flight: a record queued before it
        # waited for the event loop (a callback that blocked it), not for Redis.
        self._woke = 0.0
        # When the last PUBLISH round trip began, by the clock and by `_busy` (set in start).
        self._sent = 0.0
        self._sent_busy = 0.0
        self._in_flight = False  # a round trip has begun and not been answered
        self._busy: Callable[[], float] = time.thread_time
        self._busy_fd: int | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, record: bytes) -> bool:
        """Queue `record` (at most `MAX_BYTES`: `RedisBackplane.publish` keeps longer ones
        out); False when it is dropped and counted instead: the queue is full, so records
        wait, and the publisher that takes them next ends the outage this begins."""
        if self._pending_bytes + len(record) > MAX_PENDING_BYTES:
            # Redis is down or slower than the broadcasts: keep memory bounded.
            self._outage.dropped += 1
            oldest = self._pending[0][0] if self._pending else None
            if self._in_flight:  # the age tells a burst (ms) from a slow Redis (s)
                waited = (time.monotonic() - self._sent) * 1000
                why = (
                    f"{self._pending_bytes} bytes already wait for Redis, which has not "
                    f"answered the last PUBLISH, sent {waited:.0f} ms ago"
                )
            else:  # the publisher has not run since they came: the loop did not let it
                why = (
                    f"{self._pending_bytes} bytes of broadcasts came before the event loop let "
                    "any be sent: one callback's burst (await asyncio.sleep(0) between its "
                    "parts lets them go), or a blocked loop"
                )
            self._outage.begin("queue", why, oldest)
            return False
        self._pending.append((time.monotonic(), record))
        self._pending_bytes += len(record)
        return True

    def start(self) -> None:
        """Read the busy clock of the calling thread (the event loop's) from now on."""
        self._busy, self._busy_fd = _busy_clock()

    def close(self) -> None:
        """Close the file the busy clock reads."""
        if self._busy_fd is not None:
            os.close(self._busy_fd)
            self._busy, self._busy_fd = time.thread_time, None

    def woke(self) -> None:
        """The publisher has woken with nothing in flight."""
        self._woke = time.monotonic()

    def sending(self) -> float:
        """A PUBLISH round trip begins now; returns when (`time.monotonic()`)."""
        self._sent, self._sent_busy = time.monotonic(), self._busy()
        self._in_flight = True
        return self._sent

    def answered(self) -> None:
        """The round trip begun at `sending` has ended (Redis answered, or it failed)."""
        self._in_flight = False

    @property
    def late(self) -> bool:
        """Whether a round trip has gone unanswered longer than a record may wait, the loop's
        thread idle (waiting for Redis) most of that time: as for dropping, a callback that
        blocked the loop is not a late Redis."""
        if not self._in_flight:
            return False
        waited = time.monotonic() - self._sent
        return waited > MAX_WAIT and self._busy() - self._sent_busy < waited / 2

    def take_all(self) -> tuple[list[bytes], int]:
        """Every queued record, as messages of about `BATCH_BYTES` at most, and how many
        records they hold (none when every queued record is stale: those are dropped). All of
        it goes in one round trip, so the publisher keeps up with whatever a round trip lets
        pile up, however busy the event loop is."""
        self._drop_stale()
        pending = self._pending
        messages: list[bytes] = []
        count = 0
        while pending:
            parts = [self._head]
            size = 0
            while pending and (size == 0 or size + len(pending[0][1]) <= BATCH_BYTES):
                record = pending.popleft()[1]
                parts.append(record)
                size += len(record)
            self._pending_bytes -= size
            count += len(parts) - 1
            messages.append(b"".join(parts))
        self._outage.end("queue")
        return messages, count

    def drop_all(self) -> None:
        """Drop and count every queued record (Redis is still down)."""
        self._outage.dropped += len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self._outage.end("queue")

    def _drop_stale(self) -> None:
        """Drop what has waited more than `MAX_WAIT` for Redis. Not for the event loop: a
        publisher that has just woken, or whose last round trip the loop's thread was busy
        for (running callbacks, or ready to and waiting for a CPU of a busy host, rather than
        idle waiting for Redis's answer, most of the time), drops nothing."""
        pending = self._pending
        now = time.monotonic()
        deadline = now - MAX_WAIT
        if not pending or pending[0][0] >= deadline or self._woke >= deadline:
            return
        if self._busy() - self._sent_busy >= (now - self._sent) / 2:
            return  # the loop ran (or waited for a CPU) most of the round trip: not Redis
        stale, oldest = 0, pending[0][0]
        while pending and pending[0][0] < deadline:
            self._pending_bytes -= len(pending.popleft()[1])
            stale += 1
        self._outage.dropped += stale
        self._outage.begin("queue", f"broadcasts waited more than {MAX_WAIT:g} s for Redis", oldest)


def _busy_clock() -> tuple[Callable[[], float], int | None]:
    """A clock of the seconds the calling thread has run or been ready to run (waiting for a
    CPU), and the file it reads, to close. On Linux, `/proc/thread-self/schedstat` (its first
    two fields, in ns; about 2 µs a reading); elsewhere the thread's CPU time, which a host
    too busy to run the thread does not advance."""
    try:
        fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except OSError:
        return time.thread_time, None

    def busy() -> float:
        running, waiting = os.pread(fd, 128, 0).split()[:2]
        return (int(running) + int(waiting)) / 1e9

    return busy, fd
