"""A broadcast too big for the backplane (its record over `MAX_BYTES`, 8 MiB): delivered in
its own process only, with a warning written once and then counted, and no outage: Redis is
fine. (Before, the queue took it for a full one: "backplane … is unavailable", /healthz
"down" until the next broadcast, though Redis answered all along.) `Publisher.broadcast`
refuses the same, in the same words."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from cluster import ROOMS_HANDLER, RedisServer, Seen, connect, start_serve, write_handlers
from wsside import Publisher
from wsside._runtime import events
from wsside._runtime.backplane_wire import MAX_BYTES, encode_record, too_big
from wsside._runtime.redis_backplane import backplane_from_url

BIG = 9 * 1024 * 1024
WARNING = (
    "backplane: a broadcast of 9.0 MiB to /ws/rooms is too big for the backplane, which "
    "carries at most 8 MiB per broadcast: delivered on this process only"
)
COUNTED = (
    "backplane: 1 more broadcast too big for the backplane in the last 5 s (the last to "
    "/ws/rooms): delivered on this process only"
)


@pytest.mark.slow
async def test_a_broadcast_too_big_to_cross_stays_here_and_is_no_outage(
    tmp_path: Path, redis: RedisServer
) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    here, port, _ = await start_serve(tmp_path, "--backplane", redis.url, "--health", "/healthz")
    try:
        there, there_port, _ = await start_serve(tmp_path, "--backplane", redis.url)
    except BaseException:
        await here.stop()
        raise
    try:
        async with aiohttp.ClientSession() as session:
            sender = await connect(session, port, max_msg_size=0)
            near = await connect(session, port, max_msg_size=0)
            far = await connect(session, there_port, max_msg_size=0)
            for client in (near, far):
                await client.join("big")
            big = {"big": "x" * BIG}
            for _ in range(2):
                await sender.send({"room": "big", "data": big})
            # The sender's own process delivers both.
            for _ in range(2):
                assert await near.receive(10) == big
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert (await response.json())["backplane"] == "up"
            await here.expect(WARNING)
            # Redis orders messages: had a big one crossed, it would come before this one.
            await sender.send({"room": "big", "data": {"n": 1}})
            assert await far.receive() == {"n": 1}
            assert await near.receive() == {"n": 1}
    finally:
        code = await here.stop()
        assert await there.stop() == 0
    assert code == 0
    assert here.proc.stderr is not None
    lines = [*here.lines, *(await here.proc.stderr.read()).decode().splitlines(keepends=True)]
    mentioned = [line for line in lines if "backplane" in line and "too big" in line]
    # Once, then counted (the count comes when its window ends, or at the latest on stopping).
    said = [line.strip().partition(" wsside: ")[2] for line in mentioned]  # after the time
    assert said == [WARNING, COUNTED], mentioned
    assert not [line for line in lines if "is unavailable" in line or "is back" in line], lines


async def test_the_limit_is_the_one_every_receiver_and_the_publisher_hold(
    redis: RedisServer,
) -> None:
    """A record of exactly `MAX_BYTES` crosses; one byte more is refused before the queue
    (no outage: the backplane stays up) and by `Publisher.broadcast`, in the same words."""
    logged = Seen()
    events.subscribe(logged)
    got = Seen()
    sender = backplane_from_url(redis.url, lambda *r: None)
    receiver = backplane_from_url(redis.url, got)
    await sender.start()
    await receiver.start()
    try:
        fits = bytes(MAX_BYTES - len(encode_record("/ws/x", ("r",), 2, b"")))
        sender.publish("/ws/x", ("r",), 2, fits)
        await got.until(lambda: len(got.items) == 1)
        sender.publish("/ws/x", ("r",), 2, fits + b"!")
        assert sender.up
        sender.publish("/ws/x", None, 1, b"after")
        await got.until(lambda: len(got.items) == 2)
        assert [item[3] for item in got.items] == [fits, b"after"]
        [line] = logged.messages("too big")
        assert line.endswith(
            f"a broadcast of {MAX_BYTES + 1} bytes to /ws/x is too big for the backplane, which "
            f"carries at most 8 MiB per broadcast ({MAX_BYTES} bytes, its pattern and rooms "
            "included): delivered on this process only"
        ), line
        assert not logged.messages("is unavailable")
        with Publisher(redis.url) as news:
            record = encode_record("/ws/x", ("r",), 2, fits + b"!")
            with pytest.raises(ValueError) as refused:
                news.broadcast("/ws/x", fits + b"!", room="r")
            assert (
                str(refused.value)
                == f"Publisher.broadcast(): {too_big('/ws/x', record)}: nothing was sent"
            )
            assert news.broadcast("/ws/x", fits, room="r") >= 1
        await got.until(lambda: len(got.items) == 3)
        assert got.items[2] == ("/ws/x", ("r",), 2, fits)
    finally:
        events.unsubscribe(logged)
        await sender.close()
        await receiver.close()
