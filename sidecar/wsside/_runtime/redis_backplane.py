"""The Redis backplane: broadcasts between processes through Redis pub/sub.

Uses redis-py's asyncio client (the `wsside[redis]` extra), imported only when a backplane is
configured, so a process without one never loads it. The wire format (docs/backplane.md):

- channel `wsside:<db>`: every process on the same Redis and database number shares it
  (pub/sub ignores the database number, so it goes into the name to keep databases apart);
- one Redis message carries a batch: version (1 byte), sender (8 random bytes per process, so
  a process skips its own messages: process ids repeat across hosts and containers), then
  records of `opcode u8, room count u32 (0xFFFFFFFF: every connection), pattern length u32,
  payload length u32, pattern, (room length u32, room)*, payload`, strings in UTF-8.

Order: one task publishes, in order, on one connection, and one subscription reads, so the
records of one process reach every other process in the order they were published.
Delivery is at most once: what is published while a process is not subscribed is lost.

An outage (Redis stopped, unreachable, slow or answering errors) never raises: local delivery
goes on, cross-process records are dropped and counted, one warning marks the start and one
line the end (with the count); both loops retry with a backoff capped at `RETRY_CAP`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import random
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .events import emit, logger

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "BackplaneError",
    "Deliver",
    "RedisBackplane",
    "backplane_from_url",
    "check_backplane",
    "url_problem",
]

Deliver = Callable[[str, tuple[str, ...] | None, int, bytes], None]

VERSION = 1
CHANNEL_PREFIX = "wsside:"
# Outgoing records waiting for Redis, at most (beyond it they are dropped and counted).
MAX_PENDING_BYTES = 8 * 1024 * 1024
# One Redis message carries at most about this much; a bigger backlog goes in several.
BATCH_BYTES = 256 * 1024
# Retries after a failure wait FIRST, then twice as long each time, up to CAP (with jitter):
# Redis back means broadcasts flow again within about CAP plus one connect.
RETRY_FIRST = 0.05
RETRY_CAP = 1.0
CONNECT_TIMEOUT = 1.0
# A PUBLISH unanswered this long counts as an outage (a Redis that is stuck or far too slow).
COMMAND_TIMEOUT = 2.0
# How long every part must work before an outage is declared over.
SETTLE = 0.5
# How long `start()` waits for the first subscription before serving without it.
START_WAIT = 1.0
# How long `close()` may spend sending what is still queued.
CLOSE_FLUSH = 0.5

_HEAD = struct.Struct("!B8s")
_RECORD = struct.Struct("!BIII")
_LEN = struct.Struct("!I")
_ALL = 0xFFFFFFFF


class BackplaneError(ValueError):
    """A backplane that cannot be used: a bad URL, or redis-py missing."""


def url_problem(url: str) -> str | None:
    """What is wrong with a backplane URL (a sentence), or None when it can be used."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: it raises when it is not a number
    except ValueError as exc:
        return f"cannot read {url!r} as a URL ({exc})"
    if parts.scheme not in ("redis", "rediss"):
        return f"expected a redis:// or rediss:// URL such as redis://localhost:6379/0, got {url!r}"
    if not parts.hostname:
        return f"no host in {url!r}; expected redis://[user:password@]host:port/db"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"the database in {url!r} is {db!r}; expected a number such as /0"
    return None


def check_backplane(url: str) -> None:
    """Raise `BackplaneError` (one sentence a user can act on) when `url` is not a usable
    Redis URL or redis-py is not installed; imports nothing."""
    problem = url_problem(url)
    if problem is not None:
        raise BackplaneError(f"backplane: {problem}")
    if importlib.util.find_spec("redis") is None:
        raise BackplaneError(
            "backplane: a redis:// backplane needs redis-py: pip install 'wsside[redis]'"
        )


def backplane_from_url(url: str, deliver: Deliver) -> RedisBackplane:
    """The backplane for `url` (`redis://[user:password@]host:port/db` or `rediss://`),
    handing broadcasts from other processes to `deliver` (`Registry.deliver`).

    Raises `BackplaneError` for a bad URL or when redis-py is not installed (see
    `check_backplane`). Connecting happens in `start()`.
    """
    check_backplane(url)
    return RedisBackplane(url, deliver)


def _safe_url(url: str) -> str:
    """The URL without its password, for log lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + parts.netloc.rpartition("@")[2]).geturl()


def _channel(url: str) -> bytes:
    db = urlsplit(url).path.strip("/") or "0"
    return f"{CHANNEL_PREFIX}{db}".encode()


def encode_record(
    pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
) -> bytes:
    """One broadcast as a record of the wire format."""
    name = pattern.encode("utf-8", "surrogatepass")
    parts = [_RECORD.pack(opcode, _ALL if rooms is None else len(rooms), len(name), len(payload))]
    parts.append(name)
    for room in rooms or ():
        encoded = room.encode("utf-8", "surrogatepass")
        parts.append(_LEN.pack(len(encoded)))
        parts.append(encoded)
    parts.append(payload)
    return b"".join(parts)


def decode_records(
    data: bytes, offset: int
) -> list[tuple[str, tuple[str, ...] | None, int, bytes]]:
    """The records of a message from `offset` on; ValueError when they are cut or garbled."""
    records = []
    view = memoryview(data)
    end = len(data)
    try:
        while offset < end:
            opcode, count, name_len, size = _RECORD.unpack_from(data, offset)
            offset += _RECORD.size
            pattern = str(view[offset : offset + name_len], "utf-8", "surrogatepass")
            offset += name_len
            rooms: tuple[str, ...] | None = None
            if count != _ALL:
                names = []
                for _ in range(count):
                    (length,) = _LEN.unpack_from(data, offset)
                    offset += _LEN.size
                    names.append(str(view[offset : offset + length], "utf-8", "surrogatepass"))
                    offset += length
                rooms = tuple(names)
            payload = data[offset : offset + size]
            offset += size
            if offset > end:
                raise ValueError("record cut short")
            records.append((pattern, rooms, opcode, payload))
    except struct.error as exc:
        raise ValueError(str(exc)) from None
    return records


class _Outage:
    """Whether the backplane works, from the side of each loop: one warning when the first
    part fails, one line once all have worked for `SETTLE` seconds, with what was dropped
    meanwhile. (A Redis that is shutting down still answers for a moment: without the wait,
    one outage would read as two.)"""

    def __init__(self, url: str) -> None:
        self.url = _safe_url(url)
        self.failing: set[str] = set()
        self.open = False  # warned, and not yet declared over
        self.since = 0.0
        self.recovered = 0.0
        self.dropped = 0
        self._settle: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        return bool(self.failing)

    def begin(self, part: str, cause: str) -> None:
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None
        if not self.open:
            self.open = True
            self.since = time.monotonic()
            emit(
                {
                    "type": "log",
                    "level": "warning",
                    "message": f"backplane {self.url} is unavailable ({cause}): serving local "
                    "connections only; cross-process broadcasts are dropped until it is back",
                }
            )
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
        emit(
            {
                "type": "log",
                "level": "info",
                "message": f"backplane {self.url} is back after "
                f"{self.recovered - self.since:.1f} s; {self.dropped} cross-process "
                "messages were dropped",
            }
        )
        self.dropped = 0

    def cancel(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Retry:
    """Exponential backoff with jitter, capped: the waits of one loop between attempts."""

    def __init__(self) -> None:
        self.delay = RETRY_FIRST

    def reset(self) -> None:
        self.delay = RETRY_FIRST

    async def wait(self) -> None:
        await asyncio.sleep(self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, RETRY_CAP)


class RedisBackplane:
    """Broadcasts between processes through Redis pub/sub (see the module docstring for the
    wire format and guarantees). Implements the `Backplane` protocol.

    `deliver(pattern, rooms, opcode, payload)` receives each broadcast of another process
    (`Registry.deliver`). Call `await start()` in the event loop that serves, and
    `await close()` when done; `publish` works before, during and after an outage.
    """

    def __init__(self, url: str, deliver: Deliver) -> None:
        self.url = url
        self._deliver = deliver
        self._channel = _channel(url)
        self._sender = os.urandom(8)
        self._head = _HEAD.pack(VERSION, self._sender)
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._wake = asyncio.Event()
        # Set while nothing is queued or being published (what `close()` waits for).
        self._idle = asyncio.Event()
        self._idle.set()
        self._subscribed = asyncio.Event()
        self._outage = _Outage(url)
        self._client: Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._foreign_versions: set[int] = set()

    # ---- the Backplane protocol ----------------------------------------------------------

    def publish(
        self, pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
    ) -> None:
        """Queue a broadcast for the other processes; never blocks, never raises."""
        record = encode_record(pattern, rooms, opcode, payload)
        if self._pending_bytes + len(record) > MAX_PENDING_BYTES:
            # Redis is down or slower than the broadcasts: keep memory bounded.
            self._outage.dropped += 1
            self._outage.begin("queue", f"{self._pending_bytes} bytes already wait for Redis")
            return
        self._pending.append(record)
        self._pending_bytes += len(record)
        self._idle.clear()
        self._wake.set()

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and subscribe in the background; waits up to `START_WAIT` for the
        subscription so that broadcasts from other processes reach this one from the first
        connection on. An unreachable Redis is logged, never raised: the loops keep trying."""
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._client = Redis.from_url(
            self.url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            socket_keepalive=True,
            # The loops here retry, with their own backoff, and count what an outage drops.
            retry=Retry(NoBackoff(), 0),
        )
        self._tasks = [
            asyncio.ensure_future(self._subscribe_loop()),
            asyncio.ensure_future(self._publish_loop()),
        ]
        try:
            await asyncio.wait_for(self._subscribed.wait(), START_WAIT)
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        """Let the publisher send what is queued (briefly: `CLOSE_FLUSH`), then stop both
        loops and disconnect."""
        if self._tasks and not self._outage.active:
            try:
                await asyncio.wait_for(self._idle.wait(), CLOSE_FLUSH)
            except asyncio.TimeoutError:
                pass  # leaving anyway: what is left is dropped
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._outage.cancel()
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---- publishing ----------------------------------------------------------------------

    def _take_batch(self) -> tuple[bytes, int]:
        """The oldest queued records as one message, and how many it holds."""
        parts = [self._head]
        size = 0
        pending = self._pending
        while pending and (size == 0 or size + len(pending[0]) <= BATCH_BYTES):
            record = pending.popleft()
            parts.append(record)
            size += len(record)
        self._pending_bytes -= size
        if not pending:
            self._outage.end("queue")
        return b"".join(parts), len(parts) - 1

    def _drop_pending(self) -> None:
        self._outage.dropped += len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self._outage.end("queue")

    async def _publish_loop(self) -> None:
        from redis.exceptions import ResponseError

        assert self._client is not None
        client, retry = self._client, _Retry()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                message, count = self._take_batch()
                try:
                    await client.publish(self._channel, message)
                except Exception as exc:  # noqa: BLE001 - any failure is an outage, never fatal
                    self._outage.dropped += count
                    self._outage.begin("publish", _cause(exc))
                    if isinstance(exc, ResponseError):
                        # Redis answered with an error: the next batch is the next try.
                        await retry.wait()
                    else:
                        await self._reconnect(client, retry)
                else:
                    retry.reset()
                    self._outage.end("publish")
            self._idle.set()

    async def _reconnect(self, client: Redis, retry: _Retry) -> None:
        """Wait for Redis to answer again. What is queued meanwhile is dropped at each failed
        try, so no broadcast is published more than one retry interval late."""
        while True:
            await retry.wait()
            try:
                await client.ping()
            except Exception:  # noqa: BLE001 - still down
                self._drop_pending()
                continue
            retry.reset()
            self._outage.end("publish")
            return

    # ---- subscribing ---------------------------------------------------------------------

    async def _subscribe_loop(self) -> None:
        assert self._client is not None
        retry = _Retry()
        while True:
            pubsub: Any = self._client.pubsub()  # redis-py leaves parts of PubSub untyped
            try:
                await pubsub.subscribe(self._channel)
                await self._confirmed(pubsub)
                retry.reset()
                self._subscribed.set()
                self._outage.end("subscribe")
                while True:
                    # A timeout keeps the read from depending on how each redis-py version
                    # treats a blocking read and its socket timeout.
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if msg is not None and msg["type"] == "message":
                        self._receive(msg["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is an outage, never fatal
                self._subscribed.clear()
                self._outage.begin("subscribe", _cause(exc))
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001 - the connection is already broken
                    pass
            await retry.wait()

    @staticmethod
    async def _confirmed(pubsub: Any) -> None:
        """Wait for Redis to confirm the subscription: from then on nothing published is
        missed (until the connection breaks)."""
        while True:
            msg = await pubsub.get_message(timeout=COMMAND_TIMEOUT)
            if msg is None:
                raise TimeoutError("no answer to SUBSCRIBE")
            if msg["type"] == "subscribe":
                return

    def _receive(self, data: bytes) -> None:
        if len(data) < _HEAD.size:
            return
        version, sender = _HEAD.unpack_from(data)
        if sender == self._sender:
            return  # our own broadcast: delivered locally already
        if version != VERSION:
            if version not in self._foreign_versions:
                self._foreign_versions.add(version)
                emit(
                    {
                        "type": "log",
                        "level": "warning",
                        "message": f"backplane: ignoring messages of wire version {version} "
                        f"(this process speaks {VERSION}): run the same wsside version in "
                        "every process",
                    }
                )
            return
        try:
            records = decode_records(data, _HEAD.size)
        except ValueError as exc:
            emit({"type": "log", "level": "warning", "message": f"backplane: {exc}"})
            return
        for pattern, rooms, opcode, payload in records:
            try:
                self._deliver(pattern, rooms, opcode, payload)
            except Exception:  # noqa: BLE001 - one bad delivery must not stop the subscription
                logger.exception("wsside: delivering a broadcast from the backplane failed")
