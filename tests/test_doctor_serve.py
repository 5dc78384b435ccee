"""`wsside doctor --serve`: a production `wsside serve` folder checked as an operator would,
with no Vite or Node checks, and the backplane asked of a real `redis-server`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from cluster import RedisServer
from doctor_projects import (
    CHAT_HANDLER,
    VENV_PYTHON,
    doctor_process,
    env_for,
    run_doctor,
    write,
)
from serve_process import free_port

SERVE_CHECKS = [
    "python",
    "packages",
    "config",
    "handlers folder",
    "handler ws/chat.py",
    "patterns",
    "engines",
    "workers",
    "backplane",
    "origins",
    "error details",
    "heartbeat",
]


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {check["name"]: check for check in report["checks"]}


def test_a_first_deploy_is_warned_of_what_production_needs(tmp_path: Path) -> None:
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": "workers = 2\n"})
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
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": f'backplane = "{url}"\n'})
    code, report = run_doctor(tmp_path, "--serve")
    assert code == 1
    check = by_name(report)["backplane"]
    assert check["status"] == "fail"
    assert check["message"].startswith(f"{url}: ConnectionError: "), check
    assert check["fix"] == "start Redis there, or correct host and port in the URL"
    # A build step, where Redis is not there yet: the URL is checked, Redis is not asked.
    code, report = run_doctor(tmp_path, "--serve", "--no-live")
    check = by_name(report)["backplane"]
    assert code == 0, report
    assert check == {
        "name": "backplane",
        "status": "pass",
        "message": f"{url}: a usable URL (Redis not asked: --no-live)",
        "fix": "",
    }


@pytest.mark.slow
def test_a_redis_that_wants_a_password_says_where_it_goes_then_passes(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis", args=("--requirepass", "s3cret"))
    redis.start()
    try:
        write(tmp_path, {**CHAT_HANDLER, "wsside.toml": f'backplane = "{redis.url}"\n'})
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
            "loopback_origins = false\n[defaults]\nerror_details = false\nheartbeat = 30\n"
        )
        write(tmp_path, {"wsside.toml": config})
        code, report = run_doctor(tmp_path, "--serve")
        assert code == 0, report
        assert {c["status"] for c in report["checks"]} == {"pass"}, report
        check = by_name(report)["backplane"]
        assert check["message"] == (
            f"redis://:***@127.0.0.1:{redis.port}/0: Redis answers, and lets wsside publish and "
            "subscribe"
        )
    finally:
        redis.stop()


def test_serve_s_options_after_dashes_are_checked_as_it_would_take_them(tmp_path: Path) -> None:
    """`wsside doctor --serve -- OPTIONS` checks what `wsside serve OPTIONS` would run: the
    options win over the config file they name, and paths are the served folder's (--root),
    not the doctor's working folder."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    config = 'workers = 2\nallowed_origins = ["https://file.example"]\n'
    write(tmp_path, {"api/chat.py": CHAT_HANDLER["ws/chat.py"], "conf/prod.toml": config})
    code, report = run_doctor(
        tmp_path,
        "--serve",
        "--",
        *("--handlers", "api", "--config", "conf/prod.toml", "--workers", "3"),
        *("--allow-origin", "https://app.example", "--no-loopback-origins", "--backplane", url),
    )
    checks = by_name(report)
    assert checks["config"]["message"] == "conf/prod.toml is valid"
    assert checks["handler api/chat.py"]["message"] == "imports: /ws/chat"
    assert checks["workers"]["message"] == "3 processes sharing the port"
    assert (checks["origins"]["status"], checks["origins"]["message"]) == (
        "pass",
        "https://app.example",
    )
    assert checks["backplane"]["message"].startswith(f"{url}: ConnectionError: "), checks
    assert code == 1


def test_an_allowed_null_origin_is_a_warning(tmp_path: Path) -> None:
    # Every sandboxed iframe's Origin, on any site; under Vite `null` means "no Origin".
    config = 'allowed_origins = ["https://app.example", "null"]\nloopback_origins = false\n'
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": config})
    _, report = run_doctor(tmp_path, "--serve")
    check = by_name(report)["origins"]
    assert check["status"] == "warn"
    assert check["message"].startswith(
        'https://app.example, null; the allowed origin "null" is the Origin of every sandboxed '
        "frame and file:// page, so any website can open sockets here"
    ), check
    assert check["fix"].startswith("take null out of allowed_origins"), check


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert (done.returncode, done.stdout) == (2, ""), done
    (line,) = done.stderr.splitlines()
    return line


@pytest.mark.parametrize(
    "options",
    [
        ("--prot", "9000"),
        ("--port", "abc"),
        ("--port", "99999"),
        ("--workers", "0"),
        ("--allow-origin", "app.example"),
        ("--backplane", "http://localhost:6379"),
    ],
)
def test_a_bad_serve_option_is_the_line_wsside_serve_gives(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    write(tmp_path, CHAT_HANDLER)
    served = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "serve", *options],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    doctor = doctor_process(tmp_path, "--serve", "--", *options)
    assert one_line(doctor).replace("wsside doctor: ", "wsside: ", 1) == one_line(served)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("--serve", "--", "--handlers", "api"),
            "--handlers {root}/api: no such folder (give the folder of handler files)",
        ),
        (("--serve", "--", "--config", "prod.toml"), "--config {root}/prod.toml: no such file"),
        (("--serve", "--", "--ipc"), "--ipc is the Vite shim's: leave out --serve"),
        (("--", "--port", "9000"), "--port 9000: options of `wsside serve` go with --serve"),
    ],
)
def test_a_serve_option_the_doctor_cannot_use_is_one_line(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    write(tmp_path, CHAT_HANDLER)
    done = doctor_process(tmp_path, *args)
    assert one_line(done) == "wsside doctor: " + said.format(root=tmp_path.resolve())


@pytest.mark.parametrize("variable", ["WSSIDE_JSON", "WSSIDE_LOOP"])
def test_an_engine_serve_refuses_fails_with_the_line_serve_gives(
    tmp_path: Path, variable: str
) -> None:
    """`wsside serve` exits 2 when WSSIDE_LOOP or WSSIDE_JSON names an engine it cannot have:
    the doctor fails that check with serve's own line (it passed, saying nothing)."""
    write(tmp_path, CHAT_HANDLER)
    env = env_for(**{variable: "bogus"})
    served = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "serve", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert served.returncode == 2
    code, report = run_doctor(tmp_path, "--serve", env=env)
    assert code == 1
    check = by_name(report)["engines"]
    assert check["status"] == "fail"
    assert f"wsside: {check['message']}" == served.stderr.strip()
    code, report = run_doctor(tmp_path, "--serve")
    assert by_name(report)["engines"]["status"] == "pass", report
