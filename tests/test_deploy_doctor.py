"""docs/deploy.md's own commands pass the project's own checker: its `wsside serve` command, its
systemd unit's `ExecStart` and its container `CMD`, each with the page's `wsside.toml` of what
no option sets, give `wsside doctor --serve -- OPTIONS` nothing to warn of (against a real
`redis-server`: the page's Redis URL is the one thing substituted)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cluster import RedisServer
from doctor_projects import CHAT_HANDLER, run_doctor, write
from test_deploy_nginx import DOC, doc_block, doc_command, doc_container_command

pytestmark = pytest.mark.slow


def doc_exec_start(redis_url: str) -> list[str]:
    """The systemd unit's `ExecStart` (its options), on `redis_url`."""
    text = doc_block("ini", "ExecStart=").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[0].endswith("/wsside") and argv[1] == "serve", argv
    args = argv[2:]
    args[args.index("--backplane") + 1] = redis_url
    return args


def doc_config() -> str:
    """The `wsside.toml` the page puts beside `ws/` for what no option sets."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    [block] = [b for b in blocks if b.startswith("[defaults]")]
    return block


@pytest.mark.parametrize("which", ["command", "ExecStart", "CMD"])
def test_the_documented_commands_pass_doctor_serve(tmp_path: Path, which: str) -> None:
    """Before, each drew two warnings: `loopback_origins` left on beside the site's origin,
    and `error_details`, which no option of `wsside serve` sets."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        if which == "command":
            args = doc_command(8765, redis.url)
        elif which == "ExecStart":
            args = doc_exec_start(redis.url)
        else:
            args = doc_container_command(8765, redis.url)
        project = tmp_path / "app"
        write(project, {**CHAT_HANDLER, "wsside.toml": doc_config()})
        code, report = run_doctor(project, "--serve", "--", *args)
    finally:
        redis.stop()
    assert code == 0, report
    not_passed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not not_passed, (args, not_passed)
