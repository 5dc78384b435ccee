"""The backplane as an operator meets it: a Redis that asks for a password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cluster import ROOMS_HANDLER, RedisServer, start_serve, write_handlers


@pytest.mark.slow
async def test_a_redis_that_asks_for_a_password_says_where_to_give_it(tmp_path: Path) -> None:
    """The outage line says that Redis wants a password the URL does not give, and where it
    goes. Before, it was redis-py's `HELLO must be called with the client already
    authenticated, otherwise the HELLO AUTH <user> <pass> option can be used …`."""
    redis = RedisServer(tmp_path / "redis", args=("--requirepass", "s3cret"))
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    try:
        serve, _, _ = await start_serve(tmp_path, "--backplane", redis.url)
        try:
            line = next(line for line in serve.lines if "is unavailable" in line)
            assert "AuthenticationError" in line, line
            assert "Redis asks for a password, and the URL has none" in line, line
            assert "redis://:PASSWORD@127.0.0.1" in line, line
        finally:
            assert await serve.stop() == 0
    finally:
        redis.stop()


@pytest.mark.slow
async def test_a_wrong_password_says_to_correct_it(tmp_path: Path) -> None:
    """redis-py's words alone (`invalid username-password pair`) read like an outage that
    will pass; a wrong password never comes right by itself."""
    redis = RedisServer(tmp_path / "redis", args=("--requirepass", "s3cret"))
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    try:
        url = f"redis://:wrong@127.0.0.1:{redis.port}/0"
        serve, _, _ = await start_serve(tmp_path, "--backplane", url)
        try:
            line = next(line for line in serve.lines if "is unavailable" in line)
            assert "AuthenticationError" in line, line
            assert (
                "or user is disabled; correct the password in the URL; for an ACL user, name it "
                f"too: redis://USER:PASSWORD@127.0.0.1:{redis.port}/0): serving"
            ) in line, line
            assert "wrong" not in line.replace(":***@", ""), line
        finally:
            assert await serve.stop() == 0
    finally:
        redis.stop()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("redis://:s3cret@127.0.0.1:{port}/0", "redis://:***@127.0.0.1:{port}/0"),
        # redis-py's own option: it was written out in the banner and every backplane line.
        (
            "redis://127.0.0.1:{port}/0?password=s3cret&channel=t2",
            "redis://127.0.0.1:{port}/0?password=***&channel=t2",
        ),
    ],
)
async def test_the_start_names_the_backplane_without_its_password(
    tmp_path: Path, given: str, shown: str
) -> None:
    redis = RedisServer(tmp_path / "redis", args=("--requirepass", "s3cret"))
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    url = given.format(port=redis.port)
    try:
        serve, _, _ = await start_serve(tmp_path, "--backplane", url)
        try:
            assert f"  backplane {shown.format(port=redis.port)}\n" in serve.lines
            assert not [line for line in serve.lines if "s3cret" in line]
        finally:
            assert await serve.stop() == 0
    finally:
        redis.stop()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "redis://:s3cret@127.0.0.1:6379/x",
            "the database in 'redis://:***@127.0.0.1:6379/x' is 'x'",
        ),
        # An unencoded / in the password: Python's own words quoted a piece of it.
        (
            "redis://:s3cret/pa:ss@127.0.0.1:6379/0",
            "cannot read 'redis://:***@127.0.0.1:6379/0' as a URL: a password (or user name) "
            "holding /, ?, #, @, : or % is written percent-encoded (%2F, %3F, %23, %40, %3A, %25)",
        ),
    ],
)
def test_a_refused_url_is_quoted_without_its_password(tmp_path: Path, url: str, said: str) -> None:
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    done = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--handlers", "ws", "--backplane", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "s3cret" not in done.stdout + done.stderr, done.stderr
    assert said in done.stderr, done.stderr


CLOCK = """\
import asyncio

from wsside import Handler

clock = Handler("/clock")


@clock.background
async def tick(handler):
    while True:
        handler.broadcast({"tick": 1})
        await asyncio.sleep(1)
"""


@pytest.mark.slow
async def test_background_tasks_of_workers_sharing_a_backplane_are_named_at_the_start(
    tmp_path: Path,
) -> None:
    """Each worker runs every background task, and with a backplane what a task broadcasts
    reaches every client once per worker: the start says so, naming the tasks."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER, clock=CLOCK)
    try:
        serve, _, _ = await start_serve(tmp_path, "--workers", "2", "--backplane", redis.url)
        try:
            line = await serve.expect("background tasks run")
            assert line.rstrip("\n") == (
                "wsside: background tasks run in each of the 2 workers: tick (ws/clock.py:8); "
                "what one broadcasts reaches every client from each (docs/deploy.md, "
                '"Background tasks run once per worker", elects one)'
            )
        finally:
            assert await serve.stop() == 0
        serve, _, _ = await start_serve(tmp_path, "--backplane", redis.url)  # one process
        assert await serve.stop() == 0
        assert not [line for line in serve.lines if "background tasks run" in line]
    finally:
        redis.stop()
