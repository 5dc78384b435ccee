"""`wsside doctor --serve`: a production `wsside serve` folder checked as an operator would,
with no Vite or Node checks, and the backplane asked of a real `redis-server`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cluster import RedisServer
from doctor_projects import run_doctor, write
from serve_process import free_port

HANDLER = {"ws/chat.py": "from wsside import Handler\nchat = Handler('/ws/chat')\n"}
SERVE_CHECKS = [
    "python",
    "packages",
    "config",
    "handlers folder",
    "handler ws/chat.py",
    "patterns",
    "workers",
    "backplane",
    "origins",
    "error details",
]


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {check["name"]: check for check in report["checks"]}


def test_a_first_deploy_is_warned_of_what_production_needs(tmp_path: Path) -> None:
    write(tmp_path, {**HANDLER, "wsside.toml": "workers = 2\n"})
    code, report = run_doctor(tmp_path, "--serve")
    assert code == 0, report
    assert [check["name"] for check in report["checks"]] == SERVE_CHECKS  # no node, no Vite
    checks = by_name(report)
    assert checks["handler ws/chat.py"]["message"] == "imports: /ws/chat"
    assert checks["workers"] == {
        "name": "workers",
        "status": "pass",
        "message": "2 processes sharing the port",
        "fix": "",
    }
    assert checks["backplane"]["status"] == "warn"
    assert (
        "a broadcast reaches only the connections of the worker" in (checks["backplane"]["message"])
    )
    assert checks["origins"]["status"] == "warn"
    assert checks["origins"]["fix"].startswith('allowed_origins = ["https://your.site"]')
    assert checks["error details"]["fix"] == "[defaults] error_details = false in wsside.toml"


def test_an_unreachable_redis_fails(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    write(tmp_path, {**HANDLER, "wsside.toml": f'backplane = "{url}"\n'})
    code, report = run_doctor(tmp_path, "--serve")
    assert code == 1
    check = by_name(report)["backplane"]
    assert check["status"] == "fail"
    assert check["message"].startswith(f"{url}: ConnectionError: "), check
    assert check["fix"] == "start Redis there, or correct host and port in the URL"


@pytest.mark.slow
def test_a_redis_that_wants_a_password_says_where_it_goes_then_passes(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis", args=("--requirepass", "s3cret"))
    redis.start()
    try:
        write(tmp_path, {**HANDLER, "wsside.toml": f'backplane = "{redis.url}"\n'})
        code, report = run_doctor(tmp_path, "--serve")
        assert code == 1
        check = by_name(report)["backplane"]
        assert check["message"].startswith(f"{redis.url}: AuthenticationError"), check
        assert check["fix"].startswith(
            f"Redis asks for a password, and the URL has none: redis://:PASSWORD@127.0.0.1:"
            f"{redis.port}/0"
        ), check
        good = f"redis://:s3cret@127.0.0.1:{redis.port}/0"
        config = (
            f'backplane = "{good}"\nworkers = 2\nallowed_origins = ["https://app.example"]\n'
            "loopback_origins = false\n[defaults]\nerror_details = false\n"
        )
        write(tmp_path, {"wsside.toml": config})
        code, report = run_doctor(tmp_path, "--serve")
        assert code == 0, report
        assert {c["status"] for c in report["checks"]} == {"pass"}, report
        check = by_name(report)["backplane"]
        assert check["message"] == (
            f"redis://:***@127.0.0.1:{redis.port}/0: Redis answers, and lets wsside publish"
        )
    finally:
        redis.stop()
