"""`wsside serve` as a user runs it: a real process, a real port, a graceful stop."""

import asyncio
import os
import re
import resource
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from serve_process import ServeProcess, read_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_serve(
    handlers: Path, port: int, *args: str, **options: Any
) -> asyncio.subprocess.Process:
    """`wsside serve` on `port` without reload, its stderr piped (the banner comes there)."""
    argv = ["serve", "--handlers", str(handlers), "--port", str(port), "--no-reload", *args]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wsside",
        *argv,
        **{"stderr": asyncio.subprocess.PIPE, **options},
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def test_serve_then_sigterm_closes_clients_with_1001(tmp_path: Path) -> None:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "chat.py").write_text(
        "from wsside import Handler\n"
        "chat = Handler('/ws/chat')\n"
        "@chat.on_message\n"
        "def echo(conn, data):\n"
        "    conn.send({'echo': data})\n"
    )
    (handlers / "off.py").write_text(
        "from wsside import Handler\noff = Handler('/ws/off', disabled=True)\n"
    )
    port = free_port()
    proc = await start_serve(handlers, port)
    serve = ServeProcess(proc)  # its stderr read to one deadline per wait
    try:
        await serve.expect("serving on")
        banner = "".join(serve.lines)
        assert f"ws://127.0.0.1:{port}/api/ws/chat  (" in banner and "chat.py:2)\n" in banner
        assert (
            f"ws://127.0.0.1:{port}/api/ws/off  (" in banner and "off.py:2)  [disabled]\n" in banner
        )
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/chat")
            await ws.send_json({"hi": 1})
            assert await ws.receive_json() == {"echo": {"hi": 1}}
            proc.send_signal(signal.SIGTERM)
            msg = await ws.receive()
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1001, "Going Away")
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
async def test_what_a_handler_prints_reaches_a_piped_stdout_at_once(
    tmp_path: Path, workers: list[str]
) -> None:
    """Under systemd or in a container stdout is a pipe, and nobody sets PYTHONUNBUFFERED."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "hello.py").write_text(
        "from wsside import Handler\n"
        "hello = Handler('/ws/hello')\n"
        "@hello.on_connect\n"
        "def greet(conn, request):\n"
        "    print('connected', request.query['n'])\n"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    argv = ["serve", "--handlers", str(handlers), "--port", str(port), "--no-reload", *workers]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wsside",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        await ServeProcess(proc).expect("serving on", timeout=30)
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/hello?n=1")
            # While the connection is open, not at the exit.
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
            assert line == b"connected 1\n"
            await ws.close()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.communicate()


async def test_port_0_announces_the_port_the_system_chose(tmp_path: Path) -> None:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "echo.py").write_text("from wsside import Handler\nHandler('/ws/echo')\n")
    proc = await start_serve(handlers, 0)
    serve = ServeProcess(proc)
    try:
        banner = await serve.expect("serving on")
        port = int(banner.split("ws://127.0.0.1:")[1].split("/")[0])
        assert port != 0
        assert f"ws://127.0.0.1:{port}/api/ws/echo" in "".join(serve.lines)
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo")
            await ws.close()
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_serve_raises_its_soft_limit_on_open_files(tmp_path: Path) -> None:
    """Started from a shell whose soft limit is low, `wsside serve` still accepts more
    connections than that limit: it raises its own to the hard limit, as Node does."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "echo.py").write_text("from wsside import Handler\necho = Handler('/ws/echo')\n")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low, count = 128, 200
    if hard != resource.RLIM_INFINITY and hard < 4 * count:
        pytest.skip(f"the hard limit on open files here ({hard}) is too low to tell")
    port = free_port()
    proc = await start_serve(
        handlers,
        port,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)),
    )
    clients: list[asyncio.StreamWriter] = []
    try:
        serve = ServeProcess(proc)
        await serve.expect("serving on")
        if hard == resource.RLIM_INFINITY or hard >= 4096:  # raised: nothing to say
            assert not [line for line in serve.lines if "open-file limit" in line], serve.lines
        request = (
            f"GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        for i in range(count):  # each stays open: one descriptor each in the server
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            clients.append(writer)
            writer.write(request)
            status = await asyncio.wait_for(reader.readline(), 5)
            assert status.startswith(b"HTTP/1.1 101"), f"connection {i + 1}: {status!r}"
    finally:
        for writer in clients:
            writer.close()
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 10)


async def serve_under_file_limit(
    tmp_path: Path, port: int, limit: int, loop: str
) -> asyncio.subprocess.Process:
    """`wsside serve` of an echo endpoint on `loop`, with soft and hard open-file limit
    `limit`."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "echo.py").write_text("from wsside import Handler\necho = Handler('/ws/echo')\n")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wsside",
        *("serve", "--handlers", str(handlers), "--port", str(port), "--no-reload"),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "WSSIDE_LOOP": loop},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)),
    )


async def stop_with(proc: asyncio.subprocess.Process, clients: list[socket.socket]) -> str:
    """Close the clients, stop `proc` with SIGTERM (it must exit 0): the rest of its stderr."""
    for client in clients:
        client.close()
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    rest = (await asyncio.wait_for(proc.communicate(), 10))[1].decode()
    assert proc.returncode == 0, rest[-2000:]
    return rest


async def test_a_low_hard_limit_on_open_files_is_said_at_start(tmp_path: Path) -> None:
    """`ulimit -n 1024` in a shell sets the hard limit too, which no raise passes: the start
    says how many connections that allows, before a load finds it."""
    proc = await serve_under_file_limit(tmp_path, free_port(), 1024, "asyncio")
    serve = ServeProcess(proc)
    try:
        line = await serve.expect("open-file limit")
        await serve.expect("serving on")
    finally:
        await stop_with(proc, [])
    assert line.rstrip().endswith(
        "wsside: the open-file limit is 1024, and its hard limit too: every connection is a "
        "descriptor, so each process serves at most about 1024 connections. Raise the hard "
        "limit (LimitNOFILE= in systemd, --ulimit nofile= in Docker, ulimit -Hn)"
    ), line


async def test_at_the_open_file_limit_one_warning_says_so_instead_of_a_flood(
    tmp_path: Path,
) -> None:
    """asyncio's loop logs every failed accept() with a traceback, many per readiness event
    (hundreds of MB of log in a minute, seen in a run): `wsside serve` says it once."""
    limit, port = 48, free_port()
    proc = await serve_under_file_limit(tmp_path, port, limit, "asyncio")
    assert proc.stderr is not None
    serve = ServeProcess(proc)
    clients: list[socket.socket] = []

    def the_warning(line: str) -> bool:
        assert "Traceback" not in line and "out of system resource" not in line, line
        return "cannot accept new connections" in line

    try:
        await serve.expect("serving on")
        for _ in range(limit + 8):  # more than it may open: accepted ones stay open (10 s)
            clients.append(socket.create_connection(("127.0.0.1", port)))
        line = await read_until(
            proc.stderr,
            serve.lines,
            the_warning,
            "line containing 'cannot accept new connections'",
            15,
            "wsside serve",
        )
        assert f"open-file limit {limit}" in line and "LimitNOFILE=" in line, line
    finally:
        rest = await stop_with(proc, clients)
    assert rest.count("\n") < 20, rest[:2000]  # no repeats while it stopped


async def test_near_the_open_file_limit_a_warning_says_so_on_any_loop(tmp_path: Path) -> None:
    """On uvloop (the default with wsside[speed]) nothing else would say it: libuv accepts
    and closes the connections past the limit without a word."""
    pytest.importorskip("uvloop")
    limit, port = 48, free_port()
    proc = await serve_under_file_limit(tmp_path, port, limit, "uvloop")
    serve = ServeProcess(proc)
    request = (
        f"GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    clients: list[socket.socket] = []
    try:
        await serve.expect("serving on")
        for _ in range(limit + 8):  # upgraded ones stay open
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(request)
            clients.append(client)
        line = await serve.expect("open files of the limit")
        assert f"of the limit of {limit}" in line and "LimitNOFILE=" in line, line
    finally:
        await stop_with(proc, clients)


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_with_reload_off_a_handler_file_that_does_not_load_stops_the_start(
    tmp_path: Path, workers: str
) -> None:
    """A production start (`--no-reload`) with a broken deploy exits, where a supervisor or an
    orchestrator sees it, instead of serving 404s: nothing would ever reload the file."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "ok.py").write_text("from wsside import Handler\nHandler('/ws/ok')\n")
    (handlers / "broken.py").write_text("import missing_dependency_module\n")
    proc = await start_serve(handlers, free_port(), "--workers", workers)
    assert proc.stderr is not None
    err = (await asyncio.wait_for(proc.stderr.read(), 30)).decode()
    assert await asyncio.wait_for(proc.wait(), 30) == 3, err
    assert "ModuleNotFoundError: No module named 'missing_dependency_module'" in err
    # Each line says which process; a worker leaves what comes of it to its parent's line.
    said = (
        "wsside: a handler file did not load \\(above\\), and with reload off"
        if workers == "1"
        else r"wsside\[\d\]: a handler file did not load \(above\), so this worker does not serve"
    )
    assert re.search(said, err), err
    if workers == "2":  # and the parent why it stops the others
        assert "exited with code 3: its handler files do not load (above); stopping" in err
    assert "serving on" not in err


async def test_a_handler_that_crashes_the_interpreter_leaves_its_file_and_line(
    tmp_path: Path,
) -> None:
    """A segfault at import (a broken C extension, say) ends the process without a Python
    exception; the traceback still names the handler file and line."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    crash = handlers / "crash.py"
    crash.write_text("import ctypes\n\nctypes.string_at(0)\n")
    proc = await start_serve(handlers, free_port())
    assert proc.stderr is not None
    err = (await asyncio.wait_for(proc.stderr.read(), 30)).decode()
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGSEGV, err
    assert "Segmentation fault" in err
    assert f'File "{crash}", line 3 in <module>' in err


async def test_sighup_restarts_in_place_with_the_files_read_again(tmp_path: Path) -> None:
    """One process: SIGHUP closes its connections 1012 "Service Restart" (the browser client
    reconnects) and serves the handler files as they are now. Before, SIGHUP killed the
    process at once: no close frame, no on_close."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    code = (
        "from wsside import Handler\n"
        "v = Handler('/ws/v')\n"
        "@v.on_connect\n"
        "async def hello(conn, request):\n"
        "    await conn.send({'version': VERSION})\n"
    )
    (handlers / "v.py").write_text("VERSION = 1\n" + code)
    port = free_port()
    proc = await start_serve(handlers, port)
    line_with = ServeProcess(proc).expect

    try:
        await line_with("serving on")
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/v")
            assert (await ws.receive_json()) == {"version": 1}
            (handlers / "v.py").write_text("VERSION = 2\n" + code)
            proc.send_signal(signal.SIGHUP)
            msg = await ws.receive(10)
            assert (msg.type, msg.data, msg.extra) == (
                aiohttp.WSMsgType.CLOSE,
                1012,
                "Service Restart",
            )
            assert "SIGHUP" in await line_with("restarting")
            await line_with("serving on")
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/v")
            assert (await ws.receive_json()) == {"version": 2}
            await ws.close()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
async def test_a_closed_log_pipe_does_not_stop_the_server(
    tmp_path: Path, workers: list[str]
) -> None:
    """`wsside serve 2>&1 | head`, or a log shipper that restarts: stderr's reader is gone
    before the banner. The server serves on; what it would have written is lost."""
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "echo.py").write_text(
        "from wsside import Handler\n"
        "echo = Handler('/ws/echo')\n"
        "@echo.on_message\n"
        "def back(conn, data):\n"
        "    if data == 'boom':\n"
        "        raise ValueError('a line for the console, which nobody reads')\n"
        "    conn.send(data)\n"
    )
    port = free_port()
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the process writes anything
    try:
        proc = await start_serve(handlers, port, *workers, stderr=write_end)
    finally:
        os.close(write_end)
    try:
        async with aiohttp.ClientSession() as client:
            deadline = asyncio.get_running_loop().time() + 30
            while True:  # no line to wait for: the port opening is the event
                assert proc.returncode is None, f"wsside serve exited {proc.returncode}"
                try:
                    ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo")
                    break
                except aiohttp.ClientConnectionError:
                    assert asyncio.get_running_loop().time() < deadline, "never served"
                    await asyncio.wait([asyncio.ensure_future(proc.wait())], timeout=0.05)
            await ws.send_str("boom")  # the runtime error's report goes to the closed pipe
            assert (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT
            await ws.send_str("still here")
            assert await ws.receive_str(timeout=10) == "still here"
            await ws.close()
        assert proc.returncode is None
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


@pytest.mark.parametrize(
    ("args", "noted"),
    [
        (["--allow-origin", "https://example.com"], True),
        (["--allow-origin", "https://example.com", "--no-loopback-origins"], False),
        (["--allow-origin", "http://devbox:5173"], False),  # a dev machine on the LAN
    ],
)
async def test_a_site_that_accepts_localhost_pages_hears_it_once_at_start(
    tmp_path: Path, args: list[str], noted: bool
) -> None:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    (handlers / "chat.py").write_text("from wsside import Handler\nchat = Handler('/ws/chat')\n")
    proc = await start_serve(handlers, free_port(), *args)
    serve = ServeProcess(proc)
    lines = serve.lines  # each line read, up to the banner's last
    try:
        await serve.expect("serving on")
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
    said = [line for line in lines if "pages served from localhost are accepted" in line]
    assert len(said) == (1 if noted else 0), "".join(lines)
    if noted:
        assert "--no-loopback-origins" in said[0] and "loopback_origins = false" in said[0]
