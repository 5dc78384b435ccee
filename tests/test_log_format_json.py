"""`wsside serve --log-format json` (`log_format = "json"`): every line on stderr is one JSON
object (time, level, logger, message, worker, pid, exc), for a log aggregator; stdout keeps
what handlers print, and Vite's sidecar keeps its own lines."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp

from serve_process import ServeProcess, free_port
from test_cli import IpcSidecar
from test_logs import Stream
from test_logs import serve as serve_into
from test_logs import stop as stop_process

HANDLER = (
    "import logging\n"
    "import threading\n"
    "from wsside import Handler\n"
    "boom = Handler('/ws/boom')\n"
    "@boom.on_connect\n"
    "def hello(conn):\n"
    "    logging.getLogger(__name__).warning('disk almost full')\n"
    "    print('printed by the handler', flush=True)\n"
    "@boom.on_message\n"
    "def fail(conn, data):\n"
    "    if data == 'thread':\n"
    "        threading.Thread(target=lambda: 1 / 0, name='side').start()\n"
    "        return\n"
    "    raise ValueError('no such room')\n"
)

# ISO 8601, local time with its UTC offset, milliseconds.
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d")


def project(tmp_path: Path, config: str | None = None) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "boom.py").write_text(HANDLER)
    if config is not None:
        (tmp_path / "wsside.toml").write_text(config)
    return tmp_path


async def start(cwd: Path, *args: str) -> ServeProcess:
    """`wsside serve ARGS` with its stdout read too (`proc.stdout`)."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "wsside", "serve", *args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return ServeProcess(proc)


def records(lines: list[str]) -> list[dict[str, Any]]:
    """Each line as its JSON object, each with the fields every line has."""
    found = []
    for line in lines:
        assert line.endswith("\n") and line.count("\n") == 1, line
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert TIME.fullmatch(record["time"]), record
        assert record["level"] in ("debug", "info", "warning", "error"), record
        assert isinstance(record["logger"], str) and isinstance(record["message"], str), record
        assert isinstance(record["pid"], int), record
        assert record["host"] == socket.gethostname(), record
        assert set(record) <= {"time", "level", "logger", "message", "worker", "host", "pid", "exc"}
        found.append(record)
    return found


def one(found: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """The one record with `fields` (`message` matched as a regular expression)."""
    message = fields.pop("message", None)
    hits = [
        r
        for r in found
        if all(r.get(k) == v for k, v in fields.items())
        and (message is None or re.search(message, r["message"]))
    ]
    assert len(hits) == 1, (fields, message, found)
    return hits[0]


async def error_and_thread(port: int, server: ServeProcess) -> None:
    """A connection (its access lines, the handler's warning and print), a message its
    handler fails on, and one whose thread fails."""
    async with aiohttp.ClientSession() as client:
        ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/boom")
        await ws.send_str("hi")
        assert (await ws.receive_json(timeout=10))["type"] == "error"
        await ws.send_str("thread")
        await server.expect("Exception in thread side")
        await ws.close()
    await server.expect("closed 1000")


async def test_every_line_of_one_process_is_a_json_object(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    port = free_port()
    server = await start(cwd, "--port", str(port), "--no-reload", "--log-format", "json")
    try:
        await server.expect("serving on")
        await error_and_thread(port, server)
    finally:
        assert await server.stop() == 0
    assert server.proc.stderr is not None and server.proc.stdout is not None
    server.lines += [line.decode() for line in (await server.proc.stderr.read()).splitlines(True)]
    found = records(server.lines)
    pid = server.proc.pid
    assert {r["pid"] for r in found} == {pid} and not [r for r in found if "worker" in r]
    one(found, logger="wsside", level="info", message=r"^wsside: loaded ws/boom\.py ")
    one(found, logger="wsside", level="info", message=r"^wsside \S+ serving on ws://127")
    one(
        found,
        logger="wsside.access",
        level="info",
        message=r'^127\.0\.0\.1:\d+ - "WebSocket /api/ws/boom" 101$',
    )
    one(found, logger="wsside.access", message=r'"WebSocket /api/ws/boom" closed 1000 ')
    one(found, logger="wsside_handlers.boom", level="warning", message="^disk almost full$")
    error = one(found, logger="wsside", level="error", message="error in on_message")
    assert re.fullmatch(
        r"wsside: error in on_message of ws/boom\.py:14 \(127\.0\.0\.1:\d+ - "
        r'"WebSocket /api/ws/boom"\): ValueError: no such room',
        error["message"],
    ), error
    assert error["exc"].startswith("Traceback (most recent call last):\n"), error
    assert error["exc"].endswith("\nValueError: no such room"), error
    assert 'boom.py", line 14, in fail' in error["exc"], error
    thread = one(found, logger="threading", level="error")
    assert thread["message"] == "Exception in thread side", thread
    assert thread["exc"].endswith("\nZeroDivisionError: division by zero"), thread
    one(found, message=r"^wsside: SIGTERM: stopping")
    # What the handler prints stays on stdout as printed.
    assert await server.proc.stdout.read() == b"printed by the handler\n"


async def test_the_config_key_under_workers_names_each_worker(tmp_path: Path) -> None:
    cwd = project(tmp_path, 'log_format = "json"\n')
    port = free_port()
    server = await start(cwd, "--port", str(port), "--no-reload", "--workers", "2")
    try:
        line = await server.expect("serving on")
        pids = [int(p) for p in re.findall(r"\d+", line.split("pids ")[1].split(";")[0])]
        await error_and_thread(port, server)
    finally:
        assert await server.stop() == 0
    assert server.proc.stderr is not None
    server.lines += [line.decode() for line in (await server.proc.stderr.read()).splitlines(True)]
    found = records(server.lines)
    parent = [r for r in found if r["pid"] == server.proc.pid]
    assert parent and not [r for r in parent if "worker" in r], parent
    one(parent, message=r"^wsside \S+ serving on .* with 2 workers ")
    workers = [r for r in found if r["pid"] != server.proc.pid]
    assert {r["pid"] for r in workers} == set(pids), workers
    assert {r["worker"] for r in workers} == {0, 1}, workers
    access = one(workers, logger="wsside.access", message=r'"WebSocket /api/ws/boom" 101$')
    assert access["message"].startswith(f"wsside[{access['worker']}]: 127.0.0.1:"), access
    warning = one(workers, logger="wsside_handlers.boom", level="warning")
    assert warning["message"] == f"wsside[{warning['worker']}]: disk almost full", warning
    error = one(workers, level="error", message="error in on_message")
    assert error["message"].startswith(f"wsside[{error['worker']}]: error in on_message"), error
    # The traceback is the one string, without the worker's name on its lines.
    assert error["exc"].startswith("Traceback (most recent call last):\n"), error
    assert "wsside[" not in error["exc"], error


async def test_in_the_journal_the_json_line_starts_with_its_priority(tmp_path: Path) -> None:
    """journald takes the priority off: its message is the JSON object, filed at the level."""
    stream = Stream()
    proc, port = await serve_into(tmp_path, stream, stream.id, "--log-format", "json")
    try:
        await stream.expect("serving on")
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/boom")
            await ws.send_str("hi")
            await stream.expect("error in on_message")
            await ws.close()
        await stop_process(proc)
        priorities = {"error": "<3>", "warning": "<4>", "info": "<6>"}
        for line in stream.lines:
            prefix, text = line[:3], line[3:]
            (record,) = records([text])
            assert prefix == priorities[record["level"]], line
        assert {json.loads(line[3:])["level"] for line in stream.lines} == set(priorities)
    finally:
        await stop_process(proc)
        stream.close()


async def test_sighup_applies_a_changed_log_format(tmp_path: Path) -> None:
    """As `log_level`: the config file is read again and the restarted sidecar logs with it."""
    cwd = project(tmp_path, 'log_format = "text"\n')
    server = await ServeProcess.start("--port", str(free_port()), "--no-reload", cwd=cwd)
    try:
        await server.expect("serving on")
        (cwd / "wsside.toml").write_text('log_format = "json"\n')
        server.proc.send_signal(signal.SIGHUP)
        first = len(server.lines)
        await server.expect("serving on")
        (cwd / "wsside.toml").write_text('log_format = "text"\n')
        server.proc.send_signal(signal.SIGHUP)
        second = len(server.lines)
        await server.expect("serving on")
    finally:
        assert await server.stop() == 0
    assert re.match(r"\d\d:\d\d:\d\d wsside: loaded", server.lines[0]), server.lines
    assert not [line for line in server.lines[:first] if line.startswith("{")], server.lines
    # From the restart line on (logged after the new settings apply): JSON lines.
    during = records(server.lines[first:second])
    one(during, message=r"^wsside: SIGHUP \(handler files and config file read again\)")
    assert not [line for line in server.lines[second:] if line.startswith("{")], server.lines


async def test_a_bad_log_format_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    server = await ServeProcess.start("--log-format", "xml", cwd=cwd)
    assert await asyncio.wait_for(server.proc.wait(), 15) == 2
    assert server.proc.stderr is not None
    err = (await server.proc.stderr.read()).decode()
    assert err == "wsside: --log-format xml: expected text or json\n", err

    config = cwd / "wsside.toml"
    config.write_text('port = 8765\nlog_format = "yaml"\n')
    server = await ServeProcess.start(cwd=cwd)
    assert await asyncio.wait_for(server.proc.wait(), 15) == 2
    assert server.proc.stderr is not None
    err = (await server.proc.stderr.read()).decode()
    assert err == f'wsside: {config}:2: key "log_format": expected text or json, got "yaml"\n'


async def test_with_the_flag_a_config_error_is_a_json_line_too(tmp_path: Path) -> None:
    cwd = project(tmp_path, 'port = "x"\n')
    server = await ServeProcess.start("--log-format", "JSON", cwd=cwd)
    assert await asyncio.wait_for(server.proc.wait(), 15) == 2
    assert server.proc.stderr is not None
    (record,) = records((await server.proc.stderr.read()).decode().splitlines(True))
    assert record["level"] == "error" and record["message"] == (
        f'wsside: {cwd / "wsside.toml"}:1: key "port": expected an integer from 0 to 65535, got "x"'
    ), record


async def test_under_vite_log_format_json_leaves_the_shims_lines(tmp_path: Path) -> None:
    """wsside.toml is Vite's too: its `log_format = "json"` is for `wsside serve`, and Vite's
    terminal keeps the lines the shim reads (`wsside:<level>: …`)."""
    cwd = project(tmp_path, 'log_format = "json"\n')
    (cwd / "ws" / "echo.py").write_text("from wsside import Handler\necho = Handler('/ws/echo')\n")
    sidecar = IpcSidecar(cwd, "--log-level", "debug")
    try:
        ready = await asyncio.to_thread(sidecar.ready)
        await sidecar.connect_once(str(ready["socket"]))
    finally:
        err = sidecar.stop()
    assert not [line for line in err.splitlines() if line.startswith(("{", "<"))], err
    assert re.search(r'^wsside:info: - - "WebSocket /api/ws/echo" 101$', err, re.M), err
