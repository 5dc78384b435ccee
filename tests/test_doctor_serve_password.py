"""`wsside doctor --serve` against a real `redis-server` that asks for a password the URL does
not give: the finding says so in the words of `wsside serve`'s own outage line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster import RedisServer
from doctor_projects import CHAT_HANDLER, run_doctor, write


@pytest.mark.slow
def test_a_missing_password_is_said_plainly(tmp_path: Path) -> None:
    """Before, the finding was redis-py's `AuthenticationError: HELLO must be called with the
    client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used …`
    (AUTH's words on older redis-py)."""
    redis = RedisServer(tmp_path / "redis", args=("--requirepass", "s3cret"))
    redis.start()
    try:
        write(tmp_path, {**CHAT_HANDLER, "wsside.toml": f'backplane = "{redis.url}"\n'})
        code, report = run_doctor(tmp_path, "--serve")
    finally:
        redis.stop()
    assert code == 1, report
    [check] = [c for c in report["checks"] if c["name"] == "backplane"]
    assert check["status"] == "fail", check
    assert check["message"] == (
        f"{redis.url}: AuthenticationError: Redis asks for a password, and the URL has none"
    ), check
    assert check["fix"].startswith(
        f"Redis asks for a password, and the URL has none: redis://:PASSWORD@127.0.0.1:"
        f"{redis.port}/0, in wsside.toml"
    ), check
