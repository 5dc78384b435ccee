"""What a team porting from the JavaScript plugin types by habit, and what it is told.

- `logLevel` left in `wsside({...})`: Vite stops with a line saying where the setting lives
  now (`log_level` in wsside.toml), as it does for `endpointPrefix` or `delay`; through a real
  Vite.
- A duration copied in milliseconds (`heartbeat=30000`, `inactivity_timeout=300000`,
  `delay=250`, the guide's values) loads, and would ping every 8 h, time out after 83 h, or
  hold each message 4 min: a warning names the file and line and the value in seconds;
  through a real `wsside serve`. Values in seconds get no warning.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from doctor_projects import env_for, link_modules, vite_modules, write
from serve_process import ServeProcess, free_port

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

LOG_LEVEL_CONFIG = """import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'
export default defineConfig({ plugins: [wsside({ logLevel: 'debug' })] })
"""


@pytest.mark.slow
def test_log_level_left_in_the_plugin_options_says_where_it_lives(
    tmp_path: Path, vite_modules: Path
) -> None:
    write(
        tmp_path,
        {
            "vite.config.js": LOG_LEVEL_CONFIG,
            "ws/echo.py": "from wsside import Handler\nh = Handler('/echo')\n",
        },
    )
    link_modules(tmp_path, vite_modules)
    done = subprocess.run(
        [
            "node",
            str(tmp_path / "node_modules" / "vite" / "bin" / "vite.js"),
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--strictPort",
        ],
        cwd=tmp_path,
        env=env_for(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    line = next((x for x in said.splitlines() if "`logLevel`" in x), "")
    assert "log_level" in line and "wsside.toml" in line, said


MILLISECONDS = """from wsside import Handler

chat = Handler("/ws/chat", heartbeat=30000)
idle = Handler("/ws/idle", inactivity_timeout=300000)
slow = Handler("/ws/slow", delay=250)
fine = Handler("/ws/fine", heartbeat=30, inactivity_timeout=3600, delay=0.25)
"""


async def test_durations_copied_in_milliseconds_are_named_at_load(tmp_path: Path) -> None:
    write(tmp_path, {"ws/app.py": MILLISECONDS})
    server = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        await server.expect("serving on")  # loading, and its warnings, come before this line
        warned = [line for line in server.lines if "seconds" in line]
        for where, given, meant in [
            ("ws/app.py:3", "heartbeat=30000", "heartbeat=30)"),
            ("ws/app.py:4", "inactivity_timeout=300000", "inactivity_timeout=300)"),
            ("ws/app.py:5", "delay=250", "delay=0.25)"),
        ]:
            assert any(where in x and given in x and meant in x for x in warned), server.lines
        assert not any("ws/app.py:6" in x for x in warned), server.lines
    finally:
        await server.stop()


async def test_durations_in_milliseconds_under_defaults_are_named_at_their_line(
    tmp_path: Path,
) -> None:
    """The same values under [defaults] of the config file: one warning each, naming the file,
    line and key (pyproject.toml's keys under tool.wsside), before the handlers load."""
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "app"\n\n[tool.wsside.defaults]\n'
                "heartbeat = 30000\ndelay = 0.25\ninactivity_timeout = 300000\n"
            ),
            "ws/app.py": "from wsside import Handler\nh = Handler('/ws/app')\n",
        },
    )
    server = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        await server.expect("serving on")
        warned = [line for line in server.lines if "wsside's times are seconds" in line]
        assert [line.split("wsside: ", 1)[1].split(" is ")[0] for line in warned] == [
            'pyproject.toml:5: key "tool.wsside.defaults.heartbeat": heartbeat=30000',
            'pyproject.toml:7: key "tool.wsside.defaults.inactivity_timeout": '
            "inactivity_timeout=300000",
        ], server.lines
    finally:
        await server.stop()
