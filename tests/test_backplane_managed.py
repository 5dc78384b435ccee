"""The backplane against a Redis as managed services set it up: ACL users with some rights
and not others, passwords, database numbers. A real `redis-server` whose `default` user has
a password of its own, real `wsside doctor --serve` and `wsside serve` processes: doctor's fix
and the serve's outage line say the same thing, and the `ACL SETUSER` line of
docs/backplane.md is run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from cluster import ROOMS_HANDLER, RedisServer, Seen, connect, start_serve, write_handlers
from doctor_projects import CHAT_HANDLER, REPO, one, run_doctor, write
from serve_process import ServeProcess, free_port
from wsside._runtime import events
from wsside._runtime.backplane_url import url_problem
from wsside._runtime.backplane_wire import channel
from wsside._runtime.redis_backplane import backplane_from_url

pytestmark = pytest.mark.slow

ADMIN = "admin-pw"  # the `default` user's password: the URLs below log in as other users


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    redis = RedisServer(tmp_path_factory.mktemp("redis"), args=("--requirepass", ADMIN))
    redis.start()
    yield redis
    redis.stop()


def acl(server: RedisServer, *args: str) -> None:
    assert server.cli("-a", ADMIN, "--no-auth-warning", "ACL", "SETUSER", *args) == "OK"


def backplane_check(tmp_path: Path, url: str) -> dict[str, str]:
    """`wsside doctor --serve`'s backplane row for `url` (given as `--backplane`)."""
    write(tmp_path, CHAT_HANDLER)
    _, report = run_doctor(tmp_path, "--serve", "--timeout", "5", "--", "--backplane", url)
    return one(report, "backplane")


async def outage_line(tmp_path: Path, url: str) -> str:
    """The `is unavailable` line of a `wsside serve --backplane URL`."""
    write(tmp_path, CHAT_HANDLER)
    serve = await ServeProcess.start("--port", str(free_port()), "--backplane", url, cwd=tmp_path)
    try:
        return await serve.expect("is unavailable since")
    finally:
        await serve.stop()


async def test_a_user_that_may_not_subscribe_fails_doctor_and_serve_names_the_same_fix(
    tmp_path: Path, server: RedisServer
) -> None:
    """The walkthrough's user: it may publish and ping, not subscribe. doctor passed it, and
    serve then stayed in an outage that never ends."""
    acl(server, "nosub", "on", ">s3cret", "resetchannels", "&wsside:*", "+publish", "+ping")
    url = f"redis://nosub:s3cret@127.0.0.1:{server.port}/0"
    check = backplane_check(tmp_path, url)
    assert check["status"] == "fail", check
    assert (
        "NoPermissionError: this user has no permissions to run the 'subscribe' command"
        in (check["message"])
    ), check
    assert check["fix"] == (
        "give the Redis user +subscribe (ACL SETUSER nosub +subscribe); wsside needs &wsside:0 "
        "(or &wsside:*) and +publish +subscribe +ping (docs/backplane.md)"
    )
    line = await outage_line(tmp_path, url)
    assert f"'subscribe' command; {check['fix']}): serving local connections only" in line, line


def documented_acl_line() -> list[str]:
    """docs/backplane.md's `ACL SETUSER wsside …` line, as redis-cli's arguments."""
    page = (REPO / "docs" / "backplane.md").read_text()
    [line] = re.findall(r"^ACL SETUSER wsside on >PASSWORD [^\n]+$", page, re.MULTILINE)
    return shlex.split(line)


async def test_the_documented_acl_user_serves_a_database_other_than_0(
    tmp_path: Path, server: RedisServer
) -> None:
    """The line as the docs give it: doctor passes on database 1, and the workers of a
    `wsside serve` on it hear each other. The same rights without +select fail, with +select
    named."""
    args = documented_acl_line()
    assert args[:3] == ["ACL", "SETUSER", "wsside"] and "+select" in args, args
    acl(server, *[arg.replace("PASSWORD", "pw-1") for arg in args[2:]])
    url = f"redis://wsside:pw-1@127.0.0.1:{server.port}/1"
    check = backplane_check(tmp_path, url)
    assert check["status"] == "pass", check
    assert check["message"].endswith("Redis answers, and lets wsside publish and subscribe")

    write_handlers(tmp_path / "ws", rooms=ROOMS_HANDLER)
    serve, port, (a, b) = await start_serve(tmp_path, "--workers", "2", "--backplane", url)
    try:
        async with aiohttp.ClientSession() as session:
            near, far = await connect(session, port, a), await connect(session, port, b)
            for client in (near, far):
                await client.join("red")
            await near.send({"room": "red", "data": {"n": 1}})
            assert await far.receive() == {"n": 1}
        assert not [line for line in serve.lines if "is unavailable" in line], serve.lines
    finally:
        await serve.stop()

    rights = [arg.replace("PASSWORD", "pw-2") for arg in args[3:] if arg != "+select"]
    acl(server, "noselect", *rights)
    url = f"redis://noselect:pw-2@127.0.0.1:{server.port}/1"
    check = backplane_check(tmp_path, url)
    assert check["status"] == "fail", check
    assert "'select' command" in check["message"], check
    assert check["fix"] == (
        "give the Redis user +select (ACL SETUSER noselect +select); wsside needs &wsside:1 "
        "(or &wsside:*) and +publish +subscribe +ping +select (docs/backplane.md)"
    )
    assert f"; {check['fix']}): serving" in await outage_line(tmp_path, url)


async def test_a_database_redis_has_not_is_named(tmp_path: Path, server: RedisServer) -> None:
    acl(server, "app", "on", ">s3cret", "resetchannels", "&wsside:*", "+@all")
    url = f"redis://app:s3cret@127.0.0.1:{server.port}/16"
    check = backplane_check(tmp_path, url)
    assert check["status"] == "fail" and "DB index is out of range" in check["message"], check
    assert check["fix"] == (
        "this Redis has no database 16 (it has 16 unless `databases` in redis.conf says "
        "otherwise, numbered from 0): use a lower number in the URL"
    )
    assert f"; {check['fix']}): serving" in await outage_line(tmp_path, url)


async def test_an_acl_user_s_password_without_its_name_names_where_the_name_goes(
    tmp_path: Path, server: RedisServer
) -> None:
    """`redis://:PASSWORD@` logs in as `default`: the password is right, the user is not."""
    acl(server, "shop", "on", ">shop-pw", "resetchannels", "&wsside:*", "+@all")
    url = f"redis://:shop-pw@127.0.0.1:{server.port}/0"
    check = backplane_check(tmp_path, url)
    assert check["status"] == "fail" and "AuthenticationError" in check["message"], check
    assert check["fix"] == (
        "correct the password in the URL; for an ACL user, name it too: "
        f"redis://USER:PASSWORD@127.0.0.1:{server.port}/0"
    )
    line = await outage_line(tmp_path, url)
    assert f"; {check['fix']}): serving" in line and "shop-pw" not in line, line
    named = backplane_check(tmp_path, f"redis://shop:shop-pw@127.0.0.1:{server.port}/0")
    assert named["status"] == "pass", named


PASSWORD = "p@ss/w%rd#1:x"  # the walkthrough's: every character a URL reserves


def test_a_password_with_reserved_characters_is_never_quoted_and_works_encoded(
    tmp_path: Path, server: RedisServer
) -> None:
    """Written as it is, the URL reads as another (the database was 'w%rd', quoted); written
    percent-encoded, as the line says, Redis takes it."""
    acl(server, "special", "on", f">{PASSWORD}", "resetchannels", "&wsside:*", "+@all")
    write(tmp_path, CHAT_HANDLER)
    url = f"redis://special:{PASSWORD}@127.0.0.1:{server.port}/0"
    done = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--port", "0", "--backplane", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"wsside: backplane: cannot read 'redis://special:***@127.0.0.1:{server.port}/0' as a "
        "URL: a password (or user name) holding /, ?, #, @, : or % is written percent-encoded "
        "(%2F, %3F, %23, %40, %3A, %25)"
    ]
    encoded = f"redis://special:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/0"
    check = backplane_check(tmp_path, encoded)
    assert check["status"] == "pass", check


@pytest.mark.parametrize(
    "url",
    [
        f"redis://special:{PASSWORD}@127.0.0.1:6379/0",
        "redis://u:top@sec/ret@127.0.0.1:6379/0",  # 'ret@…' was quoted as the database
        "redis://u:key@pad#wxyz@127.0.0.1:6379/0",  # was taken: host 'pad', password 'key'
        "redis://u:key@pad?wxyz@127.0.0.1:6379/0",  # was an option named 'wxyz@…'
    ],
)
def test_no_refusal_quotes_a_piece_of_the_password(url: str) -> None:
    """A password with an unencoded `@` and `/`, `#` or `?` after it: Python's parser finds a
    host in the password, and the rest of it in the path, fragment or query."""
    problem = url_problem(url)
    assert problem is not None and "percent-encoded" in problem, problem
    secret = url.partition("://")[2].rpartition("@")[0].partition(":")[2]
    pieces = {secret[i : i + 3] for i in range(len(secret) - 2)}
    assert not [piece for piece in pieces if piece in problem], (problem, pieces)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("redis+unix:///run/redis.sock", "redis+unix:// is not a scheme redis-py reads: write "),
        ("unix://localhost/run/redis.sock", "(three slashes: no host)"),
        ("unix:///", "expected the socket's path after unix://"),
        ("redis://h:6379/0?db=two", "the ?db= in 'redis://h:6379/0?db=two' is 'two'"),
    ],
)
def test_socket_urls_and_db_options_that_cannot_work_are_named(url: str, said: str) -> None:
    assert said in (url_problem(url) or ""), url_problem(url)


def test_the_channel_is_of_the_database_redis_py_selects() -> None:
    """`?db=` wins over the path in redis-py, and a socket's database is only that."""
    assert channel("redis://h/3?db=5") == b"wsside:5"
    assert channel("unix:///run/redis.sock?db=2&channel=shop") == b"wsside:2:shop"
    assert channel("unix:///run/redis.sock") == b"wsside:0"


async def test_a_refused_publish_is_over_once_the_user_may_publish_without_another_broadcast(
    server: RedisServer,
) -> None:
    """Redis answered PUBLISH with an error (no +publish): the outage was over only at the
    next broadcast, so a quiet app fixed by its operator stayed "down" and said nothing."""
    acl(server, "nopub", "on", ">s3cret", "resetchannels", "&wsside:*", "+subscribe", "+ping")
    logged = Seen()
    events.subscribe(logged)
    url = f"redis://nopub:s3cret@127.0.0.1:{server.port}/0"
    sender = backplane_from_url(url, lambda *record: None)
    try:
        await sender.start()
        sender.publish("/ws/x", None, 1, b"lost")
        await logged.until(lambda: logged.messages("is unavailable since"), timeout=10)
        [down] = logged.messages("is unavailable since")
        assert "NoPermissionError" in down and "ACL SETUSER nopub +publish" in down, down
        assert not sender.up
        acl(server, "nopub", "+publish")
        await logged.until(lambda: logged.messages("is back after"), timeout=10)
        [back] = logged.messages("is back after")
        assert "1 broadcast from this process was dropped" in back, back
        assert sender.up
    finally:
        await sender.close()
        events.unsubscribe(logged)
