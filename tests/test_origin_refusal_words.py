"""The line saying why `wsside serve` refused an upgrade's Origin gives the one reason it was
refused, and names where the setting came from: the flag that set it (the config file's case
is in test_config.py). A real `wsside serve`, raw upgrades."""

from __future__ import annotations

from pathlib import Path

from serve_process import ServeProcess, free_port
from support import raw_upgrade

POLL = "from wsside import Handler\n\nHandler('/ws/poll/o')\n"


async def status(port: int, origin: str) -> bytes:
    head = await raw_upgrade(port, "/api/ws/poll/o", f"Origin: {origin}\r\n")
    return head.split(b" ")[1]


async def test_with_the_flags_the_refusal_names_them(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "poll.py").write_text(POLL)
    port = free_port()
    site = f"http://poll.localhost:{port}"
    serve = await ServeProcess.start(
        "--port",
        str(port),
        "--no-reload",
        "--allow-origin",
        site,
        "--no-loopback-origins",
        cwd=tmp_path,
    )
    try:
        await serve.expect("serving on")
        assert await status(port, site) == b"101"
        page = f"http://127.0.0.1:{port}"
        assert await status(port, page) == b"403"
        loopback = await serve.expect(f"Origin '{page}'")
        assert await status(port, "https://evil.example") == b"403"
        other = await serve.expect("Origin 'https://evil.example'")
    finally:
        assert await serve.stop() == 0
    assert loopback.endswith(
        f"wsside: refused /api/ws/poll/o: Origin '{page}' is a loopback origin, and "
        "loopback_origins is off (--no-loopback-origins)\n"
    ), loopback
    assert other.endswith(
        "wsside: refused /api/ws/poll/o: Origin 'https://evil.example' is not in "
        "allowed_origins (--allow-origin): if it is a page of yours, --allow-origin "
        "https://evil.example (config: allowed_origins) accepts it\n"
    ), other


async def test_with_loopback_origins_on_the_refusal_names_the_flag_too(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "poll.py").write_text(POLL)
    port = free_port()
    serve = await ServeProcess.start(
        "--port", str(port), "--no-reload", "--allow-origin", "https://app.example", cwd=tmp_path
    )
    try:
        await serve.expect("serving on")
        assert await status(port, f"http://127.0.0.1:{port}") == b"101"
        assert await status(port, "https://evil.example") == b"403"
        line = await serve.expect("Origin 'https://evil.example'")
    finally:
        assert await serve.stop() == 0
    assert line.endswith(
        "Origin 'https://evil.example' is not a loopback origin nor in allowed_origins "
        "(--allow-origin): if it is a page of yours, --allow-origin https://evil.example "
        "(config: allowed_origins) accepts it\n"
    ), line


async def test_a_file_page_s_null_origin_is_named_as_such(tmp_path: Path) -> None:
    """A page opened from the file system sends `Origin: null`: the refusal says so, and
    does not suggest accepting null (every site's sandboxed frames send it too)."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "poll.py").write_text(POLL)
    port = free_port()
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await serve.expect("serving on")
        assert await status(port, "null") == b"403"
        line = await serve.expect("Origin 'null'")
    finally:
        assert await serve.stop() == 0
    assert line.endswith(
        "Origin 'null' is not a loopback origin nor in allowed_origins: a page opened as a "
        "file (file://) sends it, as a sandboxed frame does: serve the page over http "
        "(accepting null would let in every website's sandboxed frames)\n"
    ), line
