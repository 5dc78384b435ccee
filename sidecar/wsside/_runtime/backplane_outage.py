"""How the Redis backplane goes through an outage (Redis stopped, unreachable, slow or
answering errors) without raising: local delivery goes on, cross-process records are dropped
and counted, one warning marks the start and one line the end (with the count); the
publishing and the subscribing loop each retry with a backoff capped at `RETRY_CAP`.
Messages on the channel that no wsside process publishes are refused in a few lines
(`Refusals`, summarised by `repeats.Repeats`), however many come, and so are this process's
broadcasts too big to cross (`TooBig`): neither is an outage.

What a failure means for the URL or the Redis user (`advice`) is said here once, for the
outage line, `wsside doctor --serve`'s fix and `Publisher`'s errors alike.
"""

from __future__ import annotations

import asyncio
import random
import re
import ssl
import time
from urllib.parse import parse_qs, urlsplit

from .backplane_url import database, no_password, safe_url, user_name, wrong_password
from .backplane_wire import VERSION, Refused, channel
from .events import log, this_process
from .repeats import REPEAT_WINDOW, Repeats

__all__ = [
    "RETRY_CAP",
    "RETRY_FIRST",
    "SETTLE",
    "Outage",
    "Refusals",
    "Retry",
    "TooBig",
    "advice",
    "cause",
    "no_permission",
    "tls_hint",
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
        # Whether the subscription failed during this outage: then what the other processes
        # broadcast meanwhile never reached this one, and no count here includes it.
        self.deaf = False
        self._settle: asyncio.TimerHandle | None = None
        # Whether any part has worked since the start: a backplane that has is set up right,
        # and a later failure is an outage, never TLS on one side only (`tls_hint`).
        self.worked = False

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
        if part == "subscribe":
            self.deaf = True

    def end(self, part: str) -> None:
        self.worked = True
        self.failing.discard(part)
        if self.failing or not self.open or self._settle is not None:
            return
        self.recovered = time.monotonic()
        self._settle = asyncio.get_running_loop().call_later(SETTLE, self._over)

    def _over(self) -> None:
        self._settle = None
        self.open = False
        dropped = (
            "1 broadcast from this process was dropped"
            if self.dropped == 1
            else f"{self.dropped} broadcasts from this process were dropped"
        )
        if self.deaf:
            # Counted by none: the others' own lines count only what they could not publish.
            dropped += "; what other processes broadcast meanwhile did not reach this one"
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
        self.deaf = False

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


class TooBig:
    """The warnings for this process's broadcasts too big to cross (`backplane_wire.too_big`),
    delivered on this process only: Redis is fine, so no outage; the first is written at once,
    the others counted (`Repeats`)."""

    def __init__(self) -> None:
        self._repeats = Repeats(self._write, self._more)

    def refuse(self, why: str, pattern: str) -> None:
        """One broadcast to `pattern` not published, for `why` (`too_big`'s words)."""
        self._repeats.add(f"{why}: delivered on this process only", pattern)

    @staticmethod
    def _more(count: int, last: str) -> str:
        more = "1 more broadcast" if count == 1 else f"{count} more broadcasts"
        return (
            f"{more} too big for the backplane in the last {REPEAT_WINDOW:g} s (the last to "
            f"{last}): delivered on this process only"
        )

    @staticmethod
    def _write(message: str) -> None:
        log(this_process(f"backplane: {message}"), "warning")

    def flush(self) -> None:
        """Write the count of the open window, if any, and close it (when stopping)."""
        self._repeats.flush()


def cause(exc: BaseException, fix: str | None = None) -> str:
    """A failure as the outage warning names it, and `fix` after it (`advice`)."""
    text = str(exc).strip()
    said = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return said if fix is None else f"{said.rstrip('.')}; {fix}"


def advice(url: str, exc: BaseException, tls: bool = True) -> str | None:
    """What to do about `exc`, a failure of the backplane at `url`, when the URL or the Redis
    user explains it: a password missing or wrong, a right the user lacks, a database this Redis
    has not, and with `tls`, TLS on one side only (`tls_hint`). None for the rest (Redis down,
    unreachable, stuck), which nothing in the URL mends."""
    from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

    if isinstance(exc, AuthenticationError):
        return no_password(url) or wrong_password(url)
    if isinstance(exc, NoPermissionError):
        return no_permission(url, str(exc))
    if isinstance(exc, ResponseError) and "DB index is out of range" in str(exc):
        return (
            f"this Redis has no database {database(url)} (it has 16 unless `databases` in "
            "redis.conf says otherwise, numbered from 0): use a lower number in the URL"
        )
    return tls_hint(url, exc) if tls else None


def no_permission(url: str, said: str) -> str:
    """For a Redis user refused a command or the channel (`said`, Redis's words): the right to
    give it, as an `ACL SETUSER` line, and all that `wsside serve` needs."""
    name = channel(url).decode()
    command = re.search(r"run the '([^']+)' command", said)
    right = f"+{command[1].lower()}" if command else f"&{name}"
    select = "" if database(url) == "0" else " +select"  # redis-py sends SELECT for another
    return (
        f"give the Redis user {right} (ACL SETUSER {user_name(url) or 'default'} {right}); "
        f"wsside needs &{name} (or &wsside:*) and +publish +subscribe +ping{select} "
        "(docs/backplane.md)"
    )


# What the TLS hints say; `wsside doctor --serve` gives the same as its fix.
UNTRUSTED = (
    "the server's certificate is not trusted here (self-signed?): give its CA in the URL, "
    "?ssl_ca_certs=/path/ca.pem (or ssl_cert_reqs=none, for tests only)"
)
WRONG_CA = (
    "the server's certificate is not signed by the CA in ?ssl_ca_certs=: give the CA that signed it"
)
MISMATCH = (
    "the host in the URL is not a name the server's certificate holds: use the host name the "
    "certificate names"
)
NOT_TLS = "that port may not speak TLS: for a Redis without TLS, use redis://"
WANTS_TLS = "the server may want TLS: use rediss://"


def tls_hint(url: str, exc: BaseException) -> str | None:
    """For a failure that TLS explains, what to change in `url`: a certificate for other names,
    or not trusted (rediss://, self-signed, or another CA than `?ssl_ca_certs=`), a handshake a
    plain port never answers (rediss:// to a Redis without TLS: a timeout or an SSL error), a
    TLS port that drops a plain command (redis://: the connection reset or closed at once).
    None for other failures (nothing listening)."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    scheme = urlsplit(url).scheme.lower()
    secure = scheme == "rediss"
    if secure and (
        any(isinstance(e, ssl.SSLCertVerificationError) for e in chain)
        or "CERTIFICATE_VERIFY_FAILED" in text
    ):
        if "mismatch, certificate is not valid for" in text:  # OpenSSL's words, IP or name
            return MISMATCH
        return WRONG_CA if "ssl_ca_certs" in parse_qs(urlsplit(url).query) else UNTRUSTED
    # A plain Redis never answers the handshake (a timeout while connecting), or answers it
    # with a plain error (an SSL error); a timeout reading a reply is an outage, not this.
    if secure and (
        # (An alert is the server's TLS refusing something, such as a missing client cert.)
        (any(isinstance(e, ssl.SSLError) for e in chain) and "ALERT" not in text)
        or "Timeout connecting" in text
        or "handshake" in text
    ):
        return NOT_TLS
    closed = any(isinstance(e, ConnectionResetError) for e in chain) or any(
        words in text for words in ("Connection reset by peer", "Connection closed by server")
    )
    if scheme == "redis" and closed:  # (a Unix socket has no TLS to want)
        return WANTS_TLS
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from (redis-py wraps the socket's error), outermost first."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


class Retry:
    """Exponential backoff with jitter, capped: the waits of one loop between attempts."""

    def __init__(self) -> None:
        self.delay = RETRY_FIRST

    def reset(self) -> None:
        self.delay = RETRY_FIRST

    async def wait(self) -> None:
        await asyncio.sleep(self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, RETRY_CAP)
