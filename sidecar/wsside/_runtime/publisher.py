"""`wsside.Publisher`: broadcasts to the connections of wsside processes from a process that is
not one (a Celery task, a cron job, a Django view, a script), through the backplane's Redis.

It publishes what a wsside process publishes for `handler.broadcast(message, room)`: one
record of the wire format (`backplane_wire.py`, docs/backplane.md) on the channel of the URL,
the message encoded by the codec `conn.send` uses. Synchronous, with redis-py's sync client,
imported when a `Publisher` is made: `import wsside` still loads no redis.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING

from .._protocol.codec import encode
from ..connection import Sendable, room_error
from ..pattern import Pattern, PatternError
from .backplane_outage import tls_hint
from .backplane_url import check_backplane, for_redis, no_password, safe_url
from .backplane_wire import HEAD, VERSION, channel, encode_record, too_big

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["Publisher"]

# How long connecting, and then each PUBLISH, may take before redis-py raises its
# TimeoutError (the URL's own `?socket_connect_timeout=` and `?socket_timeout=` win).
TIMEOUT = 5.0


class Publisher:
    """Broadcasts to the browsers connected to wsside processes, from a process that is not
    one: a Celery task, a cron job, a Django view, a script.

    `url` is the backplane's URL, the one `wsside serve --backplane` (or `ASGIApp(...,
    backplane=...)`) is given, its `?channel=` too::

        with Publisher("redis://localhost:6379/0") as news:
            news.broadcast("/ws/chat", {"type": "news", "text": "hi"}, room="general")

    A bad URL raises `BackplaneError` with the words `wsside serve --backplane` gives, and so
    does a Python without redis-py (`pip install 'wsside[redis]'`). Connecting waits for the
    first broadcast.

    Synchronous: each `broadcast` waits for Redis's answer. Async code runs it in a thread
    (`await asyncio.to_thread(news.broadcast, "/ws/chat", message)`); inside a wsside process,
    use `handler.broadcast`. One Publisher may be shared by threads (redis-py's connection
    pool), and is closed with `close()` or by leaving its `with` block.
    """

    def __init__(self, url: str) -> None:
        check_backplane(url)
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self._channel = channel(url)
        self._head = HEAD.pack(VERSION, os.urandom(8))
        self._client: Redis | None = Redis.from_url(
            for_redis(url),
            socket_connect_timeout=TIMEOUT,
            socket_timeout=TIMEOUT,
            # A PUBLISH whose answer was lost may have reached Redis: trying it again could
            # deliver it twice. The caller sees the error and decides.
            retry=Retry(NoBackoff(), 0),
        )

    def broadcast(self, pattern: str, message: Sendable, room: str | None = None) -> int:
        """Send `message` to every connection of the endpoint `pattern` in `room` (every
        connection of it when `room` is None), in every wsside process on this backplane.

        `pattern` is the Handler's pattern as declared, without the URL prefix: `/ws/chat`
        for `Handler("/ws/chat")` served at `/api/ws/chat`, and `/ws/rooms/{id}` (the text,
        not a path such as `/ws/rooms/7`) for `Handler("/ws/rooms/{id}")`. One that
        `Handler(...)` refuses is a ValueError, and nothing is sent. A process that has no
        handler of the pattern (`/api/ws/chat`) delivers nothing and says so in its log,
        once per pattern. `message` is encoded as `handler.broadcast` encodes it: a dict,
        list, number, bool, None or dataclass instance as JSON text, a str as text, bytes as
        binary; anything else is a TypeError naming its type. A message over 8 MiB (with its
        pattern and room) is a ValueError, and nothing is sent: no wsside process would take
        it (`handler.broadcast` delivers such a one in its own process only).

        Returns how many wsside processes were subscribed (Redis PUBLISH's answer), whether
        or not they have a handler of the pattern: 0 means none heard it. Delivery is at most
        once, as for every broadcast through the backplane (docs/backplane.md). Redis
        unreachable, or an error it answers, raises redis-py's exception
        (`redis.exceptions.ConnectionError`, ...), once: nothing is retried. A Redis that asks
        for a password the URL lacks raises its `AuthenticationError` saying where it goes,
        and TLS that fails (a certificate not trusted, or for another name) adds what to
        change in the URL, as `wsside serve`'s outage line does.
        """
        if self._client is None:
            raise RuntimeError(f"{self!r} is closed")
        if room is not None and not isinstance(room, str):
            raise room_error(room, "Publisher.broadcast")
        try:  # as Handler(pattern) checks it, and records it: "ws/chat" is "/ws/chat"
            source = Pattern(pattern).source
        except PatternError as exc:
            raise ValueError(
                f"Publisher.broadcast(): {pattern!r} cannot be a Handler's pattern ({exc}); "
                "the pattern is the one declared in Handler(...), below the URL prefix: "
                "'/ws/chat' for Handler('/ws/chat') served at /api/ws/chat"
            ) from None
        opcode, payload = encode(message)
        record = encode_record(source, None if room is None else (room,), opcode, payload)
        if (why := too_big(source, record)) is not None:
            raise ValueError(f"Publisher.broadcast(): {why}: nothing was sent")
        from redis import exceptions

        try:
            return int(self._client.publish(self._channel, self._head + record))
        except exceptions.AuthenticationError as exc:
            # redis-py's words are about HELLO and AUTH: what wsside serve's outage line says.
            said = no_password(self.url, served=False)
            if said is None:
                raise
            raise exceptions.AuthenticationError(f"Publisher.broadcast(): {said}") from exc
        except exceptions.ConnectionError as exc:
            hint = tls_hint(self.url, exc)
            if hint is None:
                raise
            raise type(exc)(f"{str(exc).rstrip('.')}; {hint}") from exc

    def close(self) -> None:
        """Disconnect from Redis. A closed Publisher broadcasts no more (RuntimeError)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Publisher({safe_url(self.url)!r})"
