"""How the Redis backplane goes through an outage (Redis stopped, unreachable, slow or
answering errors) without raising: local delivery goes on, cross-process records are dropped
and counted, one warning marks the start and one line the end (with the count); the
publishing and the subscribing loop each retry with a backoff capped at `RETRY_CAP`.
Messages on the channel that no wsside process publishes are refused in a few lines
(`Refusals`, summarised by `repeats.Repeats`), however many come.
"""

from __future__ import annotations

import asyncio
import random
import time

from .backplane_url import safe_url
from .backplane_wire import VERSION, Refused
from .events import log, this_process
from .repeats import REPEAT_WINDOW, Repeats

__all__ = [
    "RETRY_CAP",
    "RETRY_FIRST",
    "SETTLE",
    "Outage",
    "Refusals",
    "Retry",
    "cause",
]

# Retries after a failure wait FIRST, then twice as long each time, up to CAP (with jitter):
# Redis back means broadcasts flow again within about CAP plus one connect.
RETRY_FIRST = 0.05
RETRY_CAP = 1.0
# How long every part must work before an outage is declared over.
SETTLE = 0.5


class Outage:
    """Whether the backplane works, from the side of each loop: one warning when the first
    part fails, one line once all have worked for `SETTLE` seconds, with how long it lasted
    (from when the first failing operation began to when the last part worked again) and
    what was dropped meanwhile. (A Redis that is shutting down still answers for a moment:
    without the wait, one outage would read as two.)"""

    def __init__(self, url: str) -> None:
        self.url = safe_url(url)
        self.failing: set[str] = set()
        self.open = False  # warned, and not yet declared over
        self.since = 0.0
        self.recovered = 0.0
        self.dropped = 0
        self._settle: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        return bool(self.failing)

    def begin(self, part: str, cause: str, started: float | None = None) -> None:
        """`part` fails, for `cause`; `started` (`time.monotonic()`) is when the operation
        that failed began (a PUBLISH that timed out after 2 s began 2 s before it failed): the
        outage is dated from the earliest one, which is when broadcasts stopped crossing."""
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None
        now = time.monotonic()
        began = now if started is None else min(started, now)
        if not self.open:
            self.open = True
            self.since = began
            log(
                this_process(
                    f"backplane {self.url} is unavailable since {self._clock(began)} ({cause}): "
                    "serving local connections only; cross-process broadcasts are dropped "
                    "until it is back"
                ),
                "warning",
            )
        else:
            self.since = min(self.since, began)
        self.failing.add(part)

    def end(self, part: str) -> None:
        self.failing.discard(part)
        if self.failing or not self.open or self._settle is not None:
            return
        self.recovered = time.monotonic()
        self._settle = asyncio.get_running_loop().call_later(SETTLE, self._over)

    def _over(self) -> None:
        self._settle = None
        self.open = False
        dropped = (
            "1 cross-process message was dropped"
            if self.dropped == 1
            else f"{self.dropped} cross-process messages were dropped"
        )
        # As loud as the outage's line: an ASGI server shows only warnings of loggers it did
        # not configure, and the pair belongs together.
        back_after = self.recovered - self.since
        log(
            this_process(
                f"backplane {self.url} is back after {back_after:.1f} s (unavailable since "
                f"{self._clock(self.since)}); {dropped}"
            ),
            "warning",
        )
        self.dropped = 0

    @staticmethod
    def _clock(moment: float) -> str:
        """`moment` (`time.monotonic()`) as the time of day, to the tenth of a second
        (`19:10:01.6`): the lines are written seconds after it, and show their own time."""
        wall = time.time() - (time.monotonic() - moment)
        return time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall % 1 * 10)}"

    def cancel(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None


class Refusals:
    """The warnings for messages on the channel that no wsside process publishes (forged, or
    from a foreign or broken publisher), never delivered: the first is written at once, the
    others counted (`Repeats`)."""

    def __init__(self, url: str, channel: str) -> None:
        self.head = f"backplane {safe_url(url)}: dropped"
        self.channel = channel
        self._repeats = Repeats(self._write, self._more)
        self._versions: set[int] = set()

    def refuse(self, refused: Refused) -> None:
        """One message refused, for what `refused` says (`record 1 has opcode 8: …`)."""
        if refused.version is not None:
            self._foreign(refused.version)
            return
        what = str(refused)
        self._repeats.add(
            f"a message on {self.channel} that no wsside process publishes ({what}); anyone "
            "who may PUBLISH there can send to this process's clients: see docs/backplane.md",
            what,
        )

    def _foreign(self, version: int) -> None:
        """A message of another version of the format: one line per version, ever."""
        if version not in self._versions:
            self._versions.add(version)
            log(
                f"backplane: ignoring messages of wire version {version} (this process speaks "
                f"{VERSION}): run the same wsside version in every process",
                "warning",
            )

    def _more(self, count: int, last: str) -> str:
        more = "1 more message" if count == 1 else f"{count} more messages"
        return (
            f"{more} on {self.channel} that no wsside process publishes in the last "
            f"{REPEAT_WINDOW:g} s (the last: {last})"
        )

    def _write(self, message: str) -> None:
        log(this_process(f"{self.head} {message}"), "warning")

    def flush(self) -> None:
        """Write the count of the open window, if any, and close it (when stopping)."""
        self._repeats.flush()


def cause(exc: BaseException) -> str:
    """A failure as the outage warning names it."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Retry:
    """Exponential backoff with jitter, capped: the waits of one loop between attempts."""

    def __init__(self) -> None:
        self.delay = RETRY_FIRST

    def reset(self) -> None:
        self.delay = RETRY_FIRST

    async def wait(self) -> None:
        await asyncio.sleep(self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, RETRY_CAP)
