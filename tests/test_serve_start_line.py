"""`wsside serve`'s start line names every prefix it serves under, in one process and with
workers; with one prefix the line is as it always was (tests, docs and scripts grep it)."""

import re
from pathlib import Path

import pytest

from serve_process import ServeProcess, free_port
from wsside import __version__

ECHO = "from wsside import Handler\n\nHandler('/echo')\n"


@pytest.mark.parametrize(
    ("config", "workers", "served"),
    [
        ("", [], "/api/ ("),
        ('prefix = ["/api", "/rt"]\n', [], "/api/ and /rt/ ("),
        ('prefix = ["/api", "/rt", "/"]\n', ["--workers", "2"], "/api/, /rt/ and / with 2 workers"),
    ],
    ids=["one-prefix", "two-prefixes", "three-prefixes-workers"],
)
async def test_the_start_line_names_every_prefix(
    tmp_path: Path, config: str, workers: list[str], served: str
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    (tmp_path / "wsside.toml").write_text(config)
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", *workers, cwd=tmp_path)
    try:
        line = await server.expect("serving on")
    finally:
        assert await server.stop() == 0
    start = f"wsside {__version__} serving on ws://127.0.0.1:{port}{served}"
    assert start in line, line
    if not config:  # byte for byte the line it always was
        assert re.fullmatch(rf"{re.escape(start)}(uvloop|asyncio), \w+\)\n", line), line
