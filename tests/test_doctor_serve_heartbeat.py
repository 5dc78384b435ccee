"""`wsside doctor --serve` warns of served handlers without a heartbeat: a reverse proxy
(nginx's proxy_read_timeout is 60 s by default) or a load balancer drops a quiet WebSocket,
which the client sees as 1006 with nothing in the log (docs/deploy.md recommends `[defaults]
heartbeat = 30`). Real `wsside doctor --serve` processes."""

from __future__ import annotations

from pathlib import Path

from doctor_projects import CHAT_HANDLER, one, run_doctor, write

NOISE = "a reverse proxy or load balancer drops a quiet WebSocket (nginx after 60 s by default)"


def handler(pattern: str, options: str = "") -> str:
    return f"from wsside import Handler\n\nh = Handler({pattern!r}{options})\n"


def test_no_heartbeat_is_a_warning_naming_the_handler_and_the_fix(tmp_path: Path) -> None:
    write(tmp_path, CHAT_HANDLER)
    code, report = run_doctor(tmp_path, "--serve", "--no-live")
    assert code == 0, report
    assert one(report, "heartbeat") == {
        "name": "heartbeat",
        "status": "warn",
        "message": f"no heartbeat: /ws/chat (ws/chat.py:2); {NOISE}, which the client sees "
        "as 1006 with nothing in the log",
        "fix": "[defaults] heartbeat = 30 in wsside.toml",
    }


def test_the_config_s_default_heartbeat_passes(tmp_path: Path) -> None:
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": "[defaults]\nheartbeat = 30\n"})
    _, report = run_doctor(tmp_path, "--serve", "--no-live")
    assert one(report, "heartbeat") == {
        "name": "heartbeat",
        "status": "pass",
        "message": "1 handler(s) ping every 30 s",
        "fix": "",
    }


def test_each_handler_s_own_heartbeat_counts(tmp_path: Path) -> None:
    """A handler's own `heartbeat=` wins over [defaults]; one that turns it off is named too,
    at its line (the default does not fill in what the handler sets)."""
    files = {
        "ws/a.py": handler("/a", ", heartbeat=10"),
        "ws/b.py": handler("/b"),
        "ws/off.py": handler("/off", ", heartbeat=0"),
        "ws/gone.py": handler("/gone", ", disabled=True"),  # not served: not asked
    }
    write(tmp_path, files)
    _, report = run_doctor(tmp_path, "--serve", "--no-live")
    check = one(report, "heartbeat")
    assert check["status"] == "warn"
    assert check["message"].startswith(
        "no heartbeat: /b (ws/b.py:3), /off (ws/off.py:3, heartbeat off); "
    ), check
    assert check["fix"] == (
        "[defaults] heartbeat = 30 in wsside.toml and heartbeat=30 at ws/off.py:3"
    )
    write(tmp_path, {"wsside.toml": "[defaults]\nheartbeat = 25\n", "ws/off.py": handler("/off")})
    _, report = run_doctor(tmp_path, "--serve", "--no-live")
    assert one(report, "heartbeat")["message"] == "3 handler(s) ping every 10, 25 s"


def test_pyproject_s_table_is_named_as_it_is_written(tmp_path: Path) -> None:
    write(tmp_path, {**CHAT_HANDLER, "pyproject.toml": '[tool.wsside]\nprefix = "/ws"\n'})
    _, report = run_doctor(tmp_path, "--serve", "--no-live")
    assert one(report, "heartbeat")["fix"] == (
        "[tool.wsside.defaults] heartbeat = 30 in pyproject.toml"
    )
