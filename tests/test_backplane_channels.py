"""Applications on one Redis kept apart by `?channel=` in the backplane's URL (docs/backplane.md,
"Who can reach the clients"): a real `redis-server`, real `wsside serve` processes, and a
Redis client of the test's own that publishes fences.

"Not delivered" is checked with a fence: after the broadcast has reached the process that
should get it, the test publishes a marker on the channel of the one that should not; Redis
sends each subscriber its messages in the order it ran the PUBLISHes, so a stray delivery
would reach that client before the marker does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import redis as redis_py

from cluster import ROOMS_HANDLER, RedisServer, Seen, connect, start_serve, write_handlers
from doctor_projects import CHAT_HANDLER, run_doctor, write
from wsside._runtime.backplane_url import (
    BackplaneError,
    check_backplane,
    for_redis,
    url_problem,
)
from wsside._runtime.backplane_wire import HEAD, VERSION, channel, encode_record, read
from wsside._runtime.redis_backplane import backplane_from_url


def fence(url: str, name: bytes, text: bytes) -> None:
    """Publish, as another process would, a broadcast of `text` to room "r" of /ws/rooms on
    the channel `name` of the Redis at `url`."""
    message = HEAD.pack(VERSION, os.urandom(8)) + encode_record("/ws/rooms", ("r",), 1, text)
    client = redis_py.Redis.from_url(url)
    try:
        assert client.publish(name, message) == 1  # the one process on that channel heard it
    finally:
        client.close()


# ---- the URL, without a server -----------------------------------------------------------


def test_the_channel_is_the_database_and_the_name() -> None:
    assert channel("redis://h:6379/0") == b"wsside:0"
    assert channel("redis://h:6379") == b"wsside:0"
    assert channel("redis://h:6379/3?channel=shop") == b"wsside:3:shop"
    assert channel("rediss://h/0?ssl_cert_reqs=none&channel=shop.v2_x-1") == b"wsside:0:shop.v2_x-1"
    # redis-py gets every other option as written, and never wsside's own.
    url = "rediss://h/0?ssl_ca_certs=%2Fca.pem&channel=shop&health_check_interval=5"
    assert for_redis(url) == "rediss://h/0?ssl_ca_certs=%2Fca.pem&health_check_interval=5"
    assert for_redis("redis://:p@h/1?channel=shop") == "redis://:p@h/1"
    assert for_redis("redis://h/0") == "redis://h/0"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis://h/0?channel=", "the channel in 'redis://h/0?channel=' is ''; expected letters"),
        ("redis://h/0?channel=my+shop", "is 'my shop'; expected letters, digits, '.', '_' or '-'"),
        ("redis://h/0?channel=shop*", "is 'shop*'"),
        ("redis://h/0?channel=a&channel=b", "channel is given 2 times in"),
    ],
)
def test_a_bad_channel_is_named_in_one_line(tmp_path: Path, url: str, words: str) -> None:
    problem = url_problem(url)
    assert problem is not None and words in problem, problem
    with pytest.raises(BackplaneError, match="backplane: "):
        check_backplane(url)
    (tmp_path / "ws").mkdir(exist_ok=True)
    (tmp_path / "wsside.toml").write_text(f'backplane = "{url}"\n')
    out = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--handlers", "ws", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        timeout=15,
    )
    assert out.returncode == 2, out.stderr.decode()
    [line] = out.stderr.decode().strip().splitlines()
    assert 'wsside.toml:1: key "backplane": ' in line and words in line, line


def test_a_message_of_no_broadcasts_is_read_as_such() -> None:
    """What `wsside doctor --serve` publishes on the channel to see that it may: the
    processes there take it without a warning, and deliver nothing."""
    assert read(HEAD.pack(VERSION, os.urandom(8)), own=os.urandom(8)) == []


# ---- through Redis -----------------------------------------------------------------------


async def test_backplanes_hear_only_their_own_channel(redis: RedisServer) -> None:
    shop, blog, plain = Seen(), Seen(), Seen()
    base = redis.url
    sender = backplane_from_url(f"{base}?channel=shop", lambda *_: None)
    receivers = [
        backplane_from_url(f"{base}?channel=shop", shop),
        backplane_from_url(f"{base}?channel=blog", blog),
        backplane_from_url(base, plain),
    ]
    for backplane in (sender, *receivers):
        await backplane.start()
    try:
        assert all(backplane.up for backplane in (sender, *receivers))
        sender.publish("/ws/rooms", ("r",), 1, b"for the shop")
        # Once the shop's receiver has it, fence the two others.
        await shop.until(lambda: shop.items)
        assert shop.items == [("/ws/rooms", ("r",), 1, b"for the shop")]
        fence(base, b"wsside:0:blog", b"fence")
        fence(base, b"wsside:0", b"fence")
        await blog.until(lambda: blog.items)
        await plain.until(lambda: plain.items)
        assert blog.items == plain.items == [("/ws/rooms", ("r",), 1, b"fence")]
    finally:
        for backplane in (sender, *receivers):
            await backplane.close()


@pytest.mark.slow
async def test_two_applications_on_one_redis_keep_their_rooms(
    tmp_path: Path, redis: RedisServer
) -> None:
    """Two `wsside serve` processes of the shop share a room through `?channel=shop`; a
    process of another application, with the same pattern and room on the same Redis and
    database, hears none of it."""
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    shop_url = f"{redis.url}?channel=shop"
    one, port1, _ = await start_serve(tmp_path, "--backplane", shop_url)
    two, port2, _ = await start_serve(tmp_path, "--backplane", shop_url)
    other, port3, _ = await start_serve(tmp_path, "--backplane", redis.url)
    try:
        assert f"  backplane {shop_url}\n" in one.lines
        async with aiohttp.ClientSession() as session:
            here = await connect(session, port1)
            there = await connect(session, port2)
            elsewhere = await connect(session, port3)
            await there.join("r")
            await elsewhere.join("r")
            await here.send({"room": "r", "data": {"hello": "shop"}})
            assert await there.receive() == {"hello": "shop"}
            fence(redis.url, b"wsside:0", b'{"fence": 1}')
            assert await elsewhere.receive() == {"fence": 1}
    finally:
        for serve in (one, two, other):
            assert await serve.stop() == 0
    for serve in (one, two, other):
        assert not [line for line in serve.lines if "no wsside process publishes" in line]


@pytest.mark.slow
def test_doctor_publishes_on_the_channel_the_url_names(tmp_path: Path) -> None:
    """An ACL user that may use only its application's channel passes `wsside doctor --serve`
    with that channel in the URL, and fails without it: the check publishes where `wsside
    serve` would."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        server.cli(
            "ACL", "SETUSER", "shop", "on", ">pw", "resetchannels", "&wsside:0:shop",
            "+ping", "+publish", "+subscribe",
        )  # fmt: skip
        base = f"redis://shop:pw@127.0.0.1:{server.port}/0"
        write(tmp_path, {**CHAT_HANDLER, "wsside.toml": f'backplane = "{base}?channel=shop"\n'})
        code, report = run_doctor(tmp_path, "--serve")
        [check] = [c for c in report["checks"] if c["name"] == "backplane"]
        assert check["status"] == "pass", check
        assert check["message"] == (
            f"redis://shop:***@127.0.0.1:{server.port}/0?channel=shop: Redis answers, and lets "
            "wsside publish and subscribe"
        )
        write(tmp_path, {"wsside.toml": f'backplane = "{base}"\n'})
        code, report = run_doctor(tmp_path, "--serve")
        assert code == 1
        [check] = [c for c in report["checks"] if c["name"] == "backplane"]
        assert check["status"] == "fail" and "NoPermissionError" in check["message"], check
        assert check["fix"] == (
            "give the Redis user &wsside:0 (ACL SETUSER shop &wsside:0); wsside needs &wsside:0 "
            "(or &wsside:*) and +publish +subscribe +ping (docs/backplane.md)"
        ), check
    finally:
        server.stop()
