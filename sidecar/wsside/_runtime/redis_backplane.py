"""The Redis backplane: broadcasts between processes through Redis pub/sub.

Uses redis-py's asyncio client (the `wsside[redis]` extra), imported only when a backplane is
configured, so a process without one never loads it. The wire format is in
`backplane_wire.py` (docs/backplane.md).

Order: one task publishes, in order, on one connection, and one subscription reads, so the
records of one process reach every other process in the order they were published.
Delivery is at most once: what is published while a process is not subscribed is lost.
A broadcast is published within `MAX_WAIT` of being made or dropped, time spent waiting for
the event loop aside (and a PUBLISH that Redis had already received when it stalled runs
whenever Redis resumes). Each round trip takes the whole queue, so the publisher keeps up with
a loop however busy (the queue: `backplane_queue.py`).

An outage (Redis stopped, unreachable, slow or answering errors) never raises: local delivery
goes on, cross-process records are dropped and counted (`backplane_outage.py`).

Anyone who may PUBLISH on the channel can put bytes there: a message that no wsside process
publishes (a control frame, a text that is not UTF-8, a garbled batch) is dropped whole
(`backplane_wire.read`), with a warning and then a count every few seconds (`Refusals`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .backplane_outage import Outage, Refusals, Retry, TooBig, advice, cause
from .backplane_queue import PublishQueue
from .backplane_url import check_backplane, for_redis, no_password
from .backplane_wire import HEAD, VERSION, Refused, channel, encode_record, read, too_big
from .events import logger

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Deliver", "RedisBackplane", "backplane_from_url"]

Deliver = Callable[[str, tuple[str, ...] | None, int, bytes], None]

CONNECT_TIMEOUT = 1.0
# A PUBLISH unanswered this long counts as an outage (a Redis that is stuck or far too slow).
COMMAND_TIMEOUT = 2.0
# A subscription silent this long gets a PING, and one that does not answer it within
# COMMAND_TIMEOUT is an outage: a connection that died without a word (a failover to another
# host, a dropped route) is found in seconds, not when TCP keepalive gives up hours later.
PING_AFTER = 5.0
# How long `start()` waits for the first subscription before serving without it.
START_WAIT = 1.0
# How long `close()` may spend sending what is still queued.
CLOSE_FLUSH = 0.5


def backplane_from_url(url: str, deliver: Deliver) -> RedisBackplane:
    """The backplane for `url` (`redis://[user:password@]host:port/db`, `rediss://` or
    `unix:///path/redis.sock?db=N`),
    handing broadcasts from other processes to `deliver` (`Registry.deliver`).

    Raises `backplane_url.BackplaneError` for a bad URL or when redis-py is not installed (see
    `check_backplane`). Connecting happens in `start()`.
    """
    check_backplane(url)
    return RedisBackplane(url, deliver)


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
        self._channel = channel(url)
        self._sender = os.urandom(8)
        self._outage = Outage(url)
        self._head = HEAD.pack(VERSION, self._sender)  # a message of no broadcasts
        self._queue = PublishQueue(self._head, self._outage)
        self._wake = asyncio.Event()
        # Set while nothing is queued or being published, or once the publisher stopped
        # (what `close()` waits for).
        self._idle = asyncio.Event()
        self._idle.set()
        self._subscribed = asyncio.Event()
        self._client: Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._refusals = Refusals(url, self._channel.decode())
        self._too_big = TooBig()

    # ---- the Backplane protocol ----------------------------------------------------------

    def publish(
        self, pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
    ) -> None:
        """Queue a broadcast for the other processes; never blocks, never raises. One too
        big to cross (`too_big`) is not queued, with a warning: the caller delivers it here."""
        record = encode_record(pattern, rooms, opcode, payload)
        if (why := too_big(pattern, record)) is not None:
            # Not an outage (Redis is fine): no queue could hold it, no process would take it.
            self._too_big.refuse(why, pattern)
            return
        # A full queue drops it and begins an outage; the publisher, busy with what is queued,
        # ends it when it next takes the queue.
        if self._queue.add(record):
            self._idle.clear()
            self._wake.set()

    @property
    def up(self) -> bool:
        """Whether broadcasts cross processes now: subscribed, no part failing, and no
        PUBLISH unanswered for longer than a broadcast may wait (a stall shorter than the
        round trip's timeout is not an outage yet, but broadcasts do not cross meanwhile)."""
        return self._subscribed.is_set() and not self._outage.active and not self._queue.late

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and subscribe in the background; waits up to `START_WAIT` for the
        subscription so that broadcasts from other processes reach this one from the first
        connection on. An unreachable Redis is logged, never raised: the loops keep trying."""
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._queue.start()

        # A Unix socket has no keepalive (redis-py's connection refuses the option).
        tcp = not self.url.lower().startswith("unix:")
        self._client = Redis.from_url(
            for_redis(self.url),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            **({"socket_keepalive": True} if tcp else {}),
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
        self._refusals.flush()
        self._too_big.flush()
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._queue.close()

    # ---- publishing ----------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        try:
            await self._publish_all()
        finally:  # cancelled, e.g. by the end of the event loop: nothing more goes out
            self._idle.set()

    async def _publish_all(self) -> None:
        from redis.exceptions import ResponseError

        assert self._client is not None
        client, retry = self._client, Retry()
        while True:
            await self._wake.wait()
            self._queue.woke()
            self._wake.clear()
            while self._queue:
                messages, count = self._queue.take_all()
                if not count:
                    continue  # all of it was too old
                sent = self._queue.sending()
                try:
                    if len(messages) == 1:
                        await client.publish(self._channel, messages[0])
                    else:  # a backlog: several messages, one round trip
                        async with client.pipeline(transaction=False) as pipe:
                            for message in messages:
                                pipe.publish(self._channel, message)
                            await pipe.execute()
                except Exception as exc:  # noqa: BLE001 - any failure is an outage, never fatal
                    self._queue.answered()
                    self._outage.dropped += count
                    self._outage.begin("publish", self._cause(exc), sent)
                    # Redis answered with an error (an ACL without +publish): it is over once
                    # a message of no broadcasts goes through, with or without broadcasts.
                    refused = isinstance(exc, ResponseError)
                    await self._reconnect(client, retry, refused)
                else:
                    self._queue.answered()
                    retry.reset()
                    self._outage.end("publish")
            self._idle.set()

    async def _reconnect(self, client: Redis, retry: Retry, refused: bool = False) -> None:
        """Wait for Redis to answer again (a PING; after an error reply, `refused`, a PUBLISH
        of no broadcasts, which the others read as nothing). What is queued meanwhile is
        dropped at each failed try (and, once Redis answers, whatever has waited longer than
        `MAX_WAIT`)."""
        while True:
            await retry.wait()
            try:
                if refused:
                    await client.publish(self._channel, self._head)
                else:
                    await client.ping()
            except Exception:  # noqa: BLE001 - still down
                self._queue.drop_all()
                continue
            retry.reset()
            self._outage.end("publish")
            return

    def _cause(self, exc: Exception) -> str:
        """`exc` as the outage warning names it, with what to do when the URL or the Redis
        user explains it (`advice`, which `wsside doctor --serve` gives as its fix). For a
        Redis that wants a password the URL lacks, that instead of redis-py's words (about
        HELLO and AUTH, on redis-py 8)."""
        from redis.exceptions import AuthenticationError

        if isinstance(exc, AuthenticationError) and (hint := no_password(self.url)) is not None:
            return f"{type(exc).__name__}: {hint}"
        # TLS on one side only is named until the backplane has worked once: after that, a
        # reset connection is Redis going away, not a URL to change.
        return cause(exc, advice(self.url, exc, tls=not self._outage.worked))

    # ---- subscribing ---------------------------------------------------------------------

    async def _subscribe_loop(self) -> None:
        assert self._client is not None
        retry = Retry()
        while True:
            pubsub: Any = self._client.pubsub()  # redis-py leaves parts of PubSub untyped
            # When what now waits for Redis began (the outage is dated from it): the attempt to
            # subscribe, then a PING; None while the subscription only waits for messages.
            waiting: float | None = time.monotonic()
            try:
                await pubsub.subscribe(self._channel)
                await self._confirmed(pubsub)
                retry.reset()
                self._subscribed.set()
                self._outage.end("subscribe")
                waiting = None
                while True:
                    # A timeout keeps the read from depending on how each redis-py version
                    # treats a blocking read and its socket timeout.
                    wait = PING_AFTER if waiting is None else COMMAND_TIMEOUT
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                    if msg is None:
                        if waiting is not None:
                            raise TimeoutError("no answer to PING on the subscription")
                        waiting = time.monotonic()
                        await pubsub.ping()  # its answer comes back as a message
                        continue
                    waiting = None
                    if msg["type"] == "message":
                        self._receive(msg["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is an outage, never fatal
                self._subscribed.clear()
                self._outage.begin("subscribe", self._cause(exc), waiting)
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
        """Deliver the broadcasts of a message from another process. One that no wsside
        process publishes (`Refused`: forged, or from a foreign or broken publisher) is
        dropped whole, with a warning (`Refusals`): it never reaches a client."""
        try:
            records = read(data, self._sender)
        except Refused as exc:
            self._refusals.refuse(exc)
            return
        for pattern, rooms, opcode, payload in records:
            try:
                self._deliver(pattern, rooms, opcode, payload)
            except Exception:  # noqa: BLE001 - one bad delivery must not stop the subscription
                logger.exception("wsside: delivering a broadcast from the backplane failed")
