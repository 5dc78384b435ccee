"""What a traceback shows when wsside refuses what a user's line gave it (a bad option at load
time, `conn.send(set())` in a callback): it ends at the user's line, since the message already
says what was refused; `--log-level debug` keeps wsside's frames. Frames of other code the user
called (the standard library's) stay. Through a real `wsside serve` and a real client."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from serve_process import ServeProcess, free_port

PACKAGE = str(Path(__file__).resolve().parents[1] / "sidecar" / "wsside")

FILES = {
    "bad_option.py": 'from wsside import Handler\nh = Handler("/bad", heartbeat="abc")\n',
    "bad_pattern.py": 'from wsside import Handler\nh = Handler("/ws/{")\n',
    "bad_typo.py": 'from wsside import Handler\nh = Handler("/typo", hartbeat=5)\n',
    "bad_user.py": 'def f():\n    raise ValueError("mine")\nf()\n',
    "sends.py": (
        "import json\n"
        "from wsside import Handler\n"
        'h = Handler("/sends")\n'
        "@h.on_message\n"
        "def m(conn, data):\n"
        '    if data == "set":\n'
        "        conn.send({1, 2})\n"
        "    json.loads(data)\n"
    ),
}


def project(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / "ws").mkdir(exist_ok=True)
        (tmp_path / "ws" / name).write_text(text)
    return tmp_path


async def traceback_after(server: ServeProcess, headline: str, last: str) -> list[str]:
    """The lines printed from the error's headline to the traceback's last line."""
    await server.expect(headline)
    start = len(server.lines) - 1
    await server.expect(last)
    return server.lines[start:]


async def error_after(port: int, text: str) -> None:
    """Send `text` to /api/sends and wait for the error frame it causes."""
    url = f"http://127.0.0.1:{port}/api/sends"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(text)
        reply = await ws.receive_json(timeout=10)
        assert reply["type"] == "error", reply


async def test_a_refused_option_is_one_line_and_a_send_ends_at_the_users_line(
    tmp_path: Path,
) -> None:
    port = free_port()
    server = await ServeProcess.start("--port", str(port), cwd=project(tmp_path))
    try:
        await server.expect("serving on")
        said = {
            line.split(": ", 2)[1]: n
            for n, line in enumerate(server.lines)
            if "cannot load" in line
        }
        # wsside's own check of the Handler(...) line: the headline says all, no traceback.
        for refused in ("bad_option.py:2", "bad_pattern.py:2", "bad_typo.py:2"):
            n = said[f"cannot load ws/{refused}"]
            assert "Traceback" not in server.lines[n + 1], server.lines[n : n + 3]
        # An exception of the user's own code keeps its traceback.
        n = said["cannot load ws/bad_user.py:2"]
        assert server.lines[n + 1].startswith("Traceback"), server.lines[n : n + 3]

        await error_after(port, '"set"')
        printed = await traceback_after(server, "error in on_message", "TypeError: cannot send")
        assert 'sends.py", line 7, in m' in "".join(printed), printed
        assert not any(PACKAGE in line for line in printed), printed

        # The standard library's frames below the user's line stay: the error is theirs.
        await error_after(port, "not json")
        printed = await traceback_after(server, "error in on_message", "JSONDecodeError")
        assert 'sends.py", line 8, in m' in "".join(printed), printed
        assert any("json" in line and "decoder.py" in line for line in printed), printed
    finally:
        await server.stop()


async def test_log_level_debug_keeps_wsside_frames(tmp_path: Path) -> None:
    server = await ServeProcess.start(
        "--port", str(free_port()), "--log-level", "debug", cwd=project(tmp_path)
    )
    try:
        printed = await traceback_after(
            server, "cannot load ws/bad_option.py:2", "ValueError: heartbeat: expected seconds"
        )
        assert any(f"{PACKAGE}/handler_options.py" in line for line in printed), printed
    finally:
        await server.stop()
