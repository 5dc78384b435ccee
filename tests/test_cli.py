"""The `wsside` command as a user meets it: one clear line and the right exit code for each
mistake, help that shows the defaults, `--version`, the access log, and the Windows line.
Every case is a real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside import __version__

ECHO = "from wsside import Handler\necho = Handler('/ws/echo')\n"
TIME = r"\d\d:\d\d:\d\d"


def wsside(
    *args: str, cwd: Path, env: dict[str, str] | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m wsside ARGS` (or `python -c CODE ARGS`), bounded in time."""
    command = (
        [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "wsside", *args]
    )
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The only line the command printed (on stderr), checked to be one and no traceback."""
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "echo.py").write_text(ECHO)
    return tmp_path


@pytest.mark.parametrize(
    "args, line",
    [
        (("--port", "99999"), "wsside: --port 99999: expected an integer from 0 to 65535"),
        (("--port", "-1"), "wsside: --port -1: expected an integer from 0 to 65535"),
        (("--host", ""), 'wsside: --host "": expected a host name or address (a string)'),
        (
            ("--shutdown-timeout", "inf"),
            "wsside: --shutdown-timeout inf: expected seconds, 0.1 or more",
        ),
        (
            ("--shutdown-timeout", "0"),
            "wsside: --shutdown-timeout 0: expected seconds, 0.1 or more",
        ),
        (
            ("--workers", "100000"),
            "wsside: --workers 100000: expected a number of processes from 1 to 1024",
        ),
        (("--workers=0",), "wsside: --workers 0: expected a number of processes from 1 to 1024"),
        (
            ("--log-level", "loud"),
            "wsside: --log-level loud: expected one of debug, info, warning, error",
        ),
        (
            ("--handlers", "/nonexistent"),
            "wsside: --handlers /nonexistent: no such folder (give the folder of handler files)",
        ),
        (
            ("--handlers", "ws/echo.py"),
            "wsside: --handlers ws/echo.py: is a file, not a folder (give the folder of handler "
            "files)",
        ),
        (
            ("--prefix", "/a?x"),
            'wsside: --prefix /a?x: expected a URL path such as "/api" (no spaces, query or '
            "fragment)",
        ),
        (
            ("--prefix", "/api", "--prefix", "/a b"),
            'wsside: --prefix /a b: expected a URL path such as "/api" (no spaces, query or '
            "fragment)",
        ),
        (
            ("--handlers", ""),
            'wsside: --handlers "": expected a folder (the folder of handler files)',
        ),
        (
            ("--host", "127.0.0.1:8000"),
            "wsside: --host 127.0.0.1:8000: the port is a setting of its own (--port, or port in "
            "a config file): did you mean 127.0.0.1?",
        ),
        (
            ("--host", "[::1]"),
            "wsside: --host [::1]: an IPv6 address goes without brackets: did you mean ::1?",
        ),
        (
            ("--host", "http://0.0.0.0"),
            "wsside: --host http://0.0.0.0: a host, not a URL: did you mean 0.0.0.0?",
        ),
        (
            ("--allow-origin", "http://devbox:5173/"),
            "wsside: --allow-origin http://devbox:5173/: not an origin (scheme://host[:port], "
            "lower case, no default port, nothing after); did you mean http://devbox:5173?",
        ),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(
    project: Path, args: tuple[str, ...], line: str
) -> None:
    done = wsside("serve", *args, cwd=project)
    assert (done.returncode, one_line(done)) == (2, line)


@pytest.mark.parametrize("mode", [0, 0o644], ids=["unlisted", "not-entered"])
def test_a_handlers_folder_that_cannot_be_read_is_one_line_and_exit_2(
    project: Path, mode: int
) -> None:
    locked = project / "locked"
    locked.mkdir()
    (locked / "echo.py").write_text(ECHO)
    locked.chmod(mode)  # 0o644: its names listed, its files not opened
    # As root, without the capabilities that read any folder whatever its mode.
    drop = (
        ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    )
    if drop and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    done = subprocess.run(
        [*drop, sys.executable, "-m", "wsside", "serve", "--handlers", "locked"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    locked.chmod(0o755)
    line = (
        "wsside: --handlers locked: cannot be read (Permission denied) (give the folder of "
        "handler files)"
    )
    assert (done.returncode, one_line(done)) == (2, line)


@pytest.mark.parametrize(
    "args, start, help_of",
    [
        (
            ("serve", "--port", "abc"),
            "wsside: --port abc: Input should be a valid integer",
            "serve",
        ),
        (("serve", "--port", "58561", "--port", "abc"), "wsside: --port abc: Input", "serve"),
        (("serve", "--prot", "1"), "wsside: No such option: --prot", "serve"),
        (("serv",), "wsside: No such command 'serv'.", ""),
        (("doctor", "--bogus"), "wsside: No such option: --bogus", "doctor"),
    ],
)
def test_a_command_line_typer_cannot_parse_is_one_line_and_exit_2(
    project: Path, args: tuple[str, ...], start: str, help_of: str
) -> None:
    """Typer's own parse errors read like wsside's: one line naming the option, and where
    the help is (`python -m wsside` is the program name click reports here)."""
    done = wsside(*args, cwd=project)
    line = one_line(done)
    assert done.returncode == 2
    assert line.startswith(start), line
    assert line.endswith(f"python -m wsside {help_of} --help)".replace("  ", " ")), line


@pytest.mark.parametrize(
    "args, line",
    [
        # --ipc is hidden (only the Vite plugin gives it): click alone suggested it here
        (("serve", "--dir", "ws"), "No such option: --dir"),
        (("serve", "--handler", "ws"), "No such option: --handler (did you mean --handlers?)"),
        (("serve", "ws"), "unexpected argument ws: give the folder as --handlers ws"),
    ],
)
def test_a_mistyped_command_line_suggests_only_what_help_shows(
    project: Path, args: tuple[str, ...], line: str
) -> None:
    done = wsside(*args, cwd=project)
    assert (done.returncode, one_line(done)) == (
        2,
        f"wsside: {line} (python -m wsside serve --help)",
    )


def test_no_handlers_folder_is_one_line_naming_where_it_was_looked_for(tmp_path: Path) -> None:
    done = wsside("serve", cwd=tmp_path)
    assert done.returncode == 2
    assert one_line(done) == (
        f"wsside: handlers folder {tmp_path.resolve() / 'ws'}: no such "
        "folder: create it, or give another with --handlers DIR"
    )


def test_a_missing_ws_folder_names_the_handlers_option_of_vite_config(tmp_path: Path) -> None:
    # wsside serve does not read vite.config (a deploy may have none): it names what to give
    # it instead, from the folder where it runs.
    (tmp_path / "handlers").mkdir()
    (tmp_path / "vite.config.ts").write_text(
        "import wsside from 'vite-plugin-wsside'\n"
        "export default { plugins: [wsside({ handlers: 'handlers' })] }\n"
    )
    below = tmp_path / "src"
    below.mkdir()
    for cwd, fix in (
        (tmp_path, 'wsside serve --handlers handlers, or handlers = "handlers" in wsside.toml'),
        (below, "wsside serve --handlers ../handlers"),
    ):
        done = wsside("serve", cwd=cwd)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            f"wsside: handlers folder {cwd.resolve() / 'ws'}: no such folder: create it, or give "
            "another with --handlers DIR",
            "  vite.config.ts gives wsside() handlers: 'handlers', which wsside serve does not "
            f"read: {fix}",
        ]


def test_a_config_file_naming_a_missing_folder_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.wsside]\nhandlers = "backend"\n'
    )
    done = wsside("serve", cwd=tmp_path)
    assert done.returncode == 2
    assert one_line(done) == (
        f"wsside: {tmp_path / 'pyproject.toml'}:5: key "
        f'"tool.wsside.handlers": no such folder: {tmp_path / "backend"}'
    )


def test_a_port_in_use_is_one_line_and_exit_1(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = wsside("serve", "--port", str(port), "--no-reload", cwd=project)
    assert done.returncode == 1
    assert done.stdout == "" and "Traceback" not in done.stderr
    # The handler files load first (their lines may come before), then the one error line.
    assert done.stderr.strip().splitlines()[-1] == (
        f"wsside: cannot listen on 127.0.0.1:{port}: the port is in use (stop what uses it, "
        "or --port N)"
    )


def test_an_unknown_host_is_one_line_naming_the_flag_or_the_key(project: Path) -> None:
    done = wsside("serve", "--host", "no-such-host.invalid", "--no-reload", cwd=project)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("wsside: --host no-such-host.invalid: cannot listen there: ")
    )
    (project / "wsside.toml").write_text('reload = false\nhost = "no-such-host.invalid"\n')
    said = (
        f'wsside: {project / "wsside.toml"}:2: key "host": "no-such-host.invalid": cannot listen '
        "there: "
    )
    for workers in ("1", "2"):  # the parent of workers checks the address first
        done = wsside("serve", "--workers", workers, cwd=project)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines()[-1].startswith(said), done.stderr


def test_a_host_written_wrong_in_the_config_file_is_one_line_and_exit_2(project: Path) -> None:
    (project / "wsside.toml").write_text('host = ["::1", "999.1.1.1"]\n')
    done = wsside("serve", cwd=project)
    said = (
        f'wsside: {project / "wsside.toml"}:1: key "host": "999.1.1.1": not an IPv4 address '
        "(four numbers from 0 to 255)"
    )
    assert (done.returncode, one_line(done)) == (2, said)


def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback(project: Path) -> None:
    """A real SIGINT, sent as `serve` first imports typer (its modules take 0.5 s and more
    to load, before its own handling of the signal is in place)."""
    code = (
        "import builtins, os, signal, sys\n"
        "import wsside.cli\n"
        "real = builtins.__import__\n"
        "def imp(name, *args, **kwargs):\n"
        "    if name == 'typer':\n"
        "        builtins.__import__ = real\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = imp\n"
        "sys.argv = ['wsside', 'serve']\n"
        "wsside.cli.main()\n"
    )
    done = wsside(cwd=project, code=code)
    # Killed by SIGINT, as Python's own handling ends it: a shell's loop stops too.
    assert (done.returncode, done.stdout, done.stderr) == (-signal.SIGINT, "", "")


def test_windows_gets_one_line_pointing_to_wsl(project: Path) -> None:
    # Only `serve` sees Windows: typer, rich and the standard library, which read
    # sys.platform too, go on as on this machine.
    code = (
        "import sys, types, wsside.cli, wsside.cli.serve\n"
        "wsside.cli.serve.sys = types.SimpleNamespace(platform='win32')\n"
        "sys.argv = ['wsside', *sys.argv[1:]]\nwsside.cli.main()\n"
    )
    done = wsside("serve", "--port", str(free_port()), cwd=project, code=code)
    assert done.returncode == 1
    assert one_line(done) == (
        "wsside: `wsside serve` needs Linux or macOS (Unix signals and "
        "sockets); on Windows, run it and Vite inside WSL"
    )


def test_serve_help_shows_every_default(tmp_path: Path) -> None:
    done = wsside("serve", "--help", cwd=tmp_path)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # the table may wrap a line anywhere
    for option, default in [
        ("handlers", "ws"),
        ("prefix", "/api"),
        ("host", "127.0.0.1"),
        ("port", "8765"),
        ("reload", "on"),
        ("log-level", "info"),
    ]:
        assert re.search(rf"--{option}\b.*?\[default: \({re.escape(default)}\)\]", text), option
    assert "[default: None]" not in text


@pytest.mark.parametrize("command", ["", "serve", "doctor", "init", "types"])
def test_help_fits_80_columns_with_every_name_whole(tmp_path: Path, command: str) -> None:
    done = wsside(*command.split(), "--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout
    assert "…" not in done.stdout and "\\[" not in done.stdout, done.stdout
    if command == "serve":
        for whole in (
            "--no-loopback-origins",
            "redis://host:port/db",
            "(redis://user:PASSWORD@host...)",
            "wsside[redis]",
        ):
            assert whole in done.stdout, whole


def test_version_flag_and_command(tmp_path: Path) -> None:
    for args in (("--version",), ("version",)):
        done = wsside(*args, cwd=tmp_path)
        assert (done.returncode, done.stdout) == (0, f"{__version__}\n")


async def test_with_only_a_file_that_did_not_load_the_start_names_it(project: Path) -> None:
    """Not "declares no Handler": the file does, and its error is just above."""
    (project / "ws" / "echo.py").write_text("def (:\n")
    server = await ServeProcess.start("--port", str(free_port()), cwd=project)
    try:
        line = await server.expect("no endpoints")
    finally:
        assert await server.stop() == 0
    assert line.endswith(
        "wsside: no endpoints: ws/echo.py did not load (see above), so every request gets 404 "
        "until a fix is saved\n"
    ), line


async def test_an_ipv6_host_is_in_brackets_in_every_url_and_line(project: Path) -> None:
    port = free_port()
    server = await ServeProcess.start(
        "--host", "::1", "--port", str(port), "--no-reload", cwd=project
    )
    try:
        endpoint = await server.expect("  WS  ")
        assert endpoint == f"  WS  ws://[::1]:{port}/api/ws/echo  (ws/echo.py:2)\n"
        assert f"serving on ws://[::1]:{port}/api/" in await server.expect("serving on")
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://[::1]:{port}/api/ws/echo")
            local = ws.get_extra_info("sockname")
            opened = await server.expect('"WebSocket /api/ws/echo" 101')
            await ws.close()
    finally:
        assert await server.stop() == 0
    assert f" [::1]:{local[1]} - " in opened, opened


async def test_access_log_one_line_per_upgrade_and_per_close_with_timestamps(project: Path) -> None:
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", cwd=project)
    try:
        endpoint = await server.expect("  WS  ")
        # The file as the user finds it from where they typed the command.
        assert endpoint == f"  WS  ws://127.0.0.1:{port}/api/ws/echo  (ws/echo.py:2)\n"
        await server.expect("serving on")
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo?token=secret")
            local = ws.get_extra_info("sockname")
            opened = await server.expect('"WebSocket /api/ws/echo" 101')
            await ws.close(code=1000)
            closed = await server.expect('"WebSocket /api/ws/echo" closed')
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/nothing")
            refused = await server.expect('"WebSocket /api/ws/nothing"')
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/ecoh")
            meant = await server.expect("/api/ws/ecoh: no endpoint there")
            async with client.get(f"http://127.0.0.1:{port}/api/ws/echo") as response:
                assert response.status == 426
            plain = await server.expect('"GET /api/ws/echo"')
    finally:
        assert await server.stop() == 0
    client_at = f"127.0.0.1:{local[1]}"
    assert re.fullmatch(rf'{TIME} {client_at} - "WebSocket /api/ws/echo" 101\n', opened)
    assert re.fullmatch(
        rf'{TIME} {client_at} - "WebSocket /api/ws/echo" closed 1000 by the client after '
        r"\d+\.\d s\n",
        closed,
    )
    assert re.fullmatch(rf'{TIME} 127\.0\.0\.1:\d+ - "WebSocket /api/ws/nothing" 404\n', refused)
    assert re.fullmatch(rf'{TIME} 127\.0\.0\.1:\d+ - "GET /api/ws/echo" 426\n', plain)
    # A slip in the URL is named with the endpoint meant, once per path.
    assert meant.endswith(" the client got 404: did you mean /api/ws/echo?\n"), meant
    assert "secret" not in "".join(server.lines)  # the query string stays out of the log


async def test_warning_level_has_no_access_lines_and_debug_no_raw_watchdog_events(
    project: Path,
) -> None:
    port = free_port()
    # asyncio's own loop (not uvloop), whose debug lines are about itself, not the app.
    asyncio_loop = {**os.environ, "WSSIDE_LOOP": "asyncio"}
    server = await ServeProcess.start(
        "--port", str(port), "--log-level", "debug", cwd=project, env=asyncio_loop
    )
    try:
        await server.expect("serving on")
        (project / "ws" / "echo.py").write_text(ECHO + "# saved again\n")
        await server.expect("reloaded")
    finally:
        assert await server.stop() == 0
    output = "".join(server.lines)
    assert "in-event" not in output and "Inotify" not in output and "FileSystemEvent" not in output
    assert "Using selector" not in output, output

    quiet = await ServeProcess.start(
        "--port", str(port), "--no-reload", "--log-level", "warning", cwd=project
    )
    try:
        await quiet.expect("serving on")
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo")
            await ws.close()
    finally:
        assert await quiet.stop() == 0
    assert quiet.proc.stderr is not None
    rest = (await quiet.proc.stderr.read()).decode()
    assert "WebSocket" not in "".join(quiet.lines) + rest


async def test_a_handler_file_that_blocks_at_import_is_named(project: Path) -> None:
    """No endpoint serves before every file has loaded: one that blocks is named while it
    blocks (here until the test lets it go on)."""
    slow = project / "ws" / "slow.py"
    slow.write_text(
        "import time\nfrom pathlib import Path\nfrom wsside import Handler\n"
        "while not (Path(__file__).parent / 'go').exists():\n    time.sleep(0.05)\n"
        "Handler('/ws/slow')\n"
    )
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", cwd=project)
    try:
        line = await server.expect("is still importing")
        (project / "ws" / "go").touch()
        await server.expect("serving on")
    finally:
        assert await server.stop() == 0
    assert line.rstrip("\n").endswith(
        "wsside: ws/slow.py is still importing after 2 s, and no endpoint serves until "
        "every handler file has loaded: does code at its top level block?"
    )


async def test_ctrl_c_twice_stops_an_import_that_never_returns(project: Path) -> None:
    """The first SIGINT is noted for when the handler files have loaded; the next one ends
    the process at once (killed by it), as this import never returns."""
    (project / "ws" / "stuck.py").write_text(
        "import time\nfrom wsside import Handler\nwhile True:\n    time.sleep(0.05)\n"
    )
    server = await ServeProcess.start("--port", str(free_port()), "--no-reload", cwd=project)
    try:
        await server.expect("is still importing")
        # Two signals sent before the process takes the first would be one: each try sends
        # one more, until one comes after the first was noted.
        for _ in range(100):
            server.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(server.proc.wait()), 0.2)
                break
        assert server.proc.returncode == -signal.SIGINT
        await server.expect("SIGINT again while starting: exiting now")
    finally:
        if server.proc.returncode is None:
            server.proc.kill()
        await server.proc.wait()


class IpcSidecar:
    """`wsside serve --ipc` with this test as its shim: the control channel on a socketpair,
    connections through the sidecar's Unix socket with the per-run secret."""

    SECRET = "s" * 43

    def __init__(self, project: Path, *args: str) -> None:
        self.channel, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wsside", "serve", "--ipc", "--no-reload", *args],
            env={
                **os.environ,
                "NODE_CHANNEL_FD": str(child.fileno()),
                "WSSIDE_SECRET": self.SECRET,
                "PYTHONUNBUFFERED": "1",
            },
            pass_fds=(child.fileno(),),
            cwd=project,
            stderr=subprocess.PIPE,
            text=True,
        )
        child.close()
        self.buffer = b""

    def ready(self) -> dict[str, object]:
        return self.next("ready")

    def next(self, kind: str, timeout: float = 15.0) -> dict[str, object]:
        """The next message of type `kind` (earlier ones of other types are skipped), within
        `timeout` s however many other messages come first."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self.buffer:
                self.channel.settimeout(max(deadline - time.monotonic(), 0.001))
                try:
                    data = self.channel.recv(65536)
                except TimeoutError:
                    raise AssertionError(
                        f"no {kind!r} message from the sidecar within {timeout:g} s"
                    ) from None
                assert data, "the sidecar closed its channel"
                self.buffer += data
            line, self.buffer = self.buffer.split(b"\n", 1)
            msg: dict[str, object] = json.loads(line)
            if msg.get("type") == kind:
                return msg

    async def connect_once(self, socket_path: str) -> None:
        connector = aiohttp.UnixConnector(path=socket_path)
        async with aiohttp.ClientSession(connector=connector) as client:
            ws = await client.ws_connect(
                "http://localhost/api/ws/echo", headers={"X-Wsside-Secret": self.SECRET}
            )
            await ws.close()

    def stop(self) -> str:
        """End the sidecar as the shim does (its channel closes); its stderr."""
        self.channel.close()
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # it did not end with its channel: the test fails, leaving none
            self.proc.communicate()
            raise
        return err


async def test_under_vite_a_bad_config_at_start_stands_until_the_file_is_fixed(
    project: Path,
) -> None:
    """Vite keeps running whatever wsside.toml says: the sidecar reports the error (the shim
    shows it in the terminal and overlay) and serves once the file is valid, without a
    restart of Vite."""
    config = project / "wsside.toml"
    config.write_text('prefix = "/api"\nhearbeat = 30\n')
    sidecar = IpcSidecar(project)
    try:
        first = await asyncio.to_thread(sidecar.next, "config_error")
        assert (
            first["message"]
            == 'key "hearbeat": unknown key; did you mean "heartbeat" under [defaults]?'
        )
        assert (first["file"], first["line"]) == (str(config), 2)
        assert sidecar.proc.poll() is None
        config.write_text('prefix = "/api"\nport = "x"\n')  # still wrong: said again
        second = await asyncio.to_thread(sidecar.next, "config_error")
        assert second["message"] == 'key "port": expected an integer from 0 to 65535, got "x"'
        config.write_text('prefix = "/api"\n\n[defaults]\nheartbeat = 30\n')
        ready = await asyncio.to_thread(sidecar.ready)
        await sidecar.connect_once(str(ready["socket"]))
    finally:
        sidecar.stop()
    assert sidecar.proc.returncode == 0


async def test_under_vite_a_bad_config_at_start_ends_with_the_channel(project: Path) -> None:
    (project / "wsside.toml").write_text("port = 0.5\n")
    sidecar = IpcSidecar(project)
    try:
        await asyncio.to_thread(sidecar.next, "config_error")
    finally:
        err = sidecar.stop()  # Vite quits before the file was fixed
    assert sidecar.proc.returncode == 0, err


async def test_under_vite_a_sidecar_waiting_for_its_config_holds_no_socket_folder(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shim kills a sidecar that never got ready (SIGKILL, no clean-up): its private
    socket folder is made only once it serves, so none is left in /tmp."""
    # Short: a socket path in tmp_path (longer under pytest-xdist) may pass the limit, and
    # the sidecar would then use /tmp instead.
    temp = Path(tempfile.mkdtemp(prefix="ws-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(temp))
    config = project / "wsside.toml"
    config.write_text("port = 0.5\n")
    sidecar = IpcSidecar(project)
    try:
        await asyncio.to_thread(sidecar.next, "config_error")
        assert list(temp.glob("wsside-*")) == []
        config.write_text("port = 0\n")
        ready = await asyncio.to_thread(sidecar.ready)
        assert Path(str(ready["socket"])).parent.parent == temp
    finally:
        sidecar.stop()
    try:
        assert list(temp.glob("wsside-*")) == []  # a clean exit removes it
    finally:
        shutil.rmtree(temp)


DOCTOR_HINT = "(`wsside doctor` finds handler files kept in another folder)"


@pytest.mark.parametrize("source", ["plugin option", "config file", "default", "src/ws"])
async def test_under_vite_a_missing_handlers_folder_is_named_with_its_setting(
    tmp_path: Path, source: str
) -> None:
    """The warning names the setting that chose the folder (the plugin gives its `handlers`
    option as an absolute --handlers), and `ready` carries no types, so the types file keeps
    the last ones rather than emptying."""
    args: tuple[str, ...] = ()
    if source == "plugin option":
        args = ("--handlers", str(tmp_path / "wss"))
    elif source == "config file":
        (tmp_path / "wsside.toml").write_text('log_level = "info"\nhandlers = "server/ws"\n')
    elif source == "src/ws":  # Vite's `root: 'src'`, the handlers beside index.html
        (tmp_path / "src" / "ws").mkdir(parents=True)
        (tmp_path / "src" / "ws" / "chat.py").write_text(
            "from wsside import Handler\n\nchat = Handler('/ws/chat')\n"
        )
    sidecar = IpcSidecar(tmp_path, *args)
    try:
        warning = await asyncio.to_thread(sidecar.next, "log")
        ready = await asyncio.to_thread(sidecar.ready)  # it serves: the folder may be made later
    finally:
        sidecar.stop()
    assert warning["level"] == "warning"
    expected = {
        "plugin option": f"wsside({{ handlers }}) in vite.config: no such folder: "
        f"{tmp_path / 'wss'}: create it, or correct the option {DOCTOR_HINT}",
        "config file": f'{tmp_path / "wsside.toml"}:2: key "handlers": '
        f'"{tmp_path.resolve() / "server" / "ws"}": no such folder: create it, or correct the '
        f"key {DOCTOR_HINT}",
        "default": f"no handlers folder at {tmp_path.resolve() / 'ws'} (the default, ws/ beside "
        "vite.config): create it, or set `handlers` in wsside() in vite.config or in "
        f"wsside.toml {DOCTOR_HINT}",
        "src/ws": f"no handlers folder at {tmp_path.resolve() / 'ws'} (the default), while "
        "src/ws/chat.py declares a Handler: use wsside({ handlers: 'src/ws' })",
    }[source]
    assert warning["message"] == expected
    assert "types" not in ready


async def test_under_vite_a_404_without_a_handlers_folder_names_the_folder(tmp_path: Path) -> None:
    """A page's socket that gets 404 because the handlers folder is missing is told so in
    Vite's terminal, not "no handler file declares an endpoint"."""
    sidecar = IpcSidecar(tmp_path, "--handlers", str(tmp_path / "wss"))
    try:
        await asyncio.to_thread(sidecar.next, "log")  # the warning at start
        ready = await asyncio.to_thread(sidecar.ready)
        connector = aiohttp.UnixConnector(path=str(ready["socket"]))
        async with aiohttp.ClientSession(connector=connector) as client:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(
                    "http://localhost/api/ws/chat", headers={"X-Wsside-Secret": sidecar.SECRET}
                )
        assert refused.value.status == 404
        note = await asyncio.to_thread(sidecar.next, "log")
    finally:
        sidecar.stop()
    assert note["message"] == (
        "/api/ws/chat: no endpoint there, so the client got 404: no handlers folder at "
        f"{(tmp_path / 'wss').resolve()}"
    )


async def notes_at_404(project: Path, paths: list[str]) -> list[object]:
    """The note the sidecar sends its shim for an upgrade to each of `paths` (each gets 404)."""
    sidecar = IpcSidecar(project)
    try:
        ready = await asyncio.to_thread(sidecar.ready)
        connector = aiohttp.UnixConnector(path=str(ready["socket"]))
        notes = []
        secret = {"X-Wsside-Secret": sidecar.SECRET}
        async with aiohttp.ClientSession(connector=connector) as client:
            for path in paths:
                with pytest.raises(aiohttp.WSServerHandshakeError):
                    await client.ws_connect(f"http://localhost{path}", headers=secret)
                notes.append((await asyncio.to_thread(sidecar.next, "log"))["message"])
    finally:
        sidecar.stop()
    return notes


async def test_under_vite_404s_past_the_named_paths_are_said_once(project: Path) -> None:
    """The first 20 paths that get 404 are named, one line each; the 21st says that further
    paths are not named, rather than the notes stopping without a word."""
    notes = await notes_at_404(project, [f"/api/ws/no{n}" for n in range(21)])
    assert all(str(m).startswith(f"/api/ws/no{n}: no endpoint there") for n, m in enumerate(notes))
    assert notes[-1] == (
        "/api/ws/no20: no endpoint there, so the client got 404; 20 other paths were named "
        "already, so the next paths that get 404 are not named"
    )


async def test_under_vite_the_404_note_compares_a_pattern_s_variables_as_parts(
    project: Path,
) -> None:
    """`/api/ws/room/ABC` is closest to `/ws/room/{room:[a-z]+}`, whose text shares fewer
    letters with it than a short `/ws/hb` does; a trailing `/` is named as the difference."""
    (project / "ws" / "more.py").write_text(
        "from wsside import Handler\n"
        "room = Handler('/ws/room/{room:[a-z]+}')\n"
        "blob = Handler('/ws/blob')\n"
        "hb = Handler('/ws/hb')\n"
    )
    notes = await notes_at_404(project, ["/api/ws/room/ABC", "/api/ws/room/abc/"])
    assert notes == [
        "/api/ws/room/ABC: no endpoint there, so the client got 404: did you mean "
        "/api/ws/room/{room:[a-z]+}? (`ABC` does not match `{room:[a-z]+}`)",
        "/api/ws/room/abc/: no endpoint there, so the client got 404: did you mean "
        "/api/ws/room/{room:[a-z]+}? (without the trailing /)",
    ]


async def test_under_vite_a_pattern_that_repeats_the_prefix_is_named_by_the_404(
    project: Path,
) -> None:
    (project / "ws" / "chat.py").write_text(
        "from wsside import Handler\n\nchat = Handler('/api/ws/chat')\n"
    )
    notes = await notes_at_404(project, ["/api/ws/chat"])
    assert notes == [
        "/api/ws/chat: no endpoint there, so the client got 404: the pattern /api/ws/chat "
        "(ws/chat.py:3) starts with the prefix /api, so it answers at /api/api/ws/chat: "
        'patterns are below the prefix, Handler("/ws/chat")'
    ]


async def test_under_vite_ready_carries_the_types_when_the_folder_is_there(
    project: Path,
) -> None:
    sidecar = IpcSidecar(project)
    try:
        ready = await asyncio.to_thread(sidecar.ready)
    finally:
        sidecar.stop()
    assert str(ready.get("types")).startswith("// wsside-env.d.ts: the message types")


@pytest.mark.parametrize("level, shown", [("info", False), ("debug", True)])
async def test_under_vite_access_lines_show_only_at_debug(
    project: Path, level: str, shown: bool
) -> None:
    sidecar = IpcSidecar(project, "--log-level", level)
    try:
        ready = await asyncio.to_thread(sidecar.ready)
        await sidecar.connect_once(str(ready["socket"]))
    finally:
        err = sidecar.stop()
    lines = [ln for ln in err.splitlines() if '"WebSocket /api/ws/echo"' in ln]
    if shown:
        # Vite prints its own timestamp before each line of the sidecar's; the shim shows
        # the line after the level mark (`_edge/logs.py`) once, as wsside's own.
        assert re.fullmatch(r'wsside:info: - - "WebSocket /api/ws/echo" 101', lines[0]), lines
        assert re.fullmatch(
            r'wsside:info: - - "WebSocket /api/ws/echo" closed 1000 by the client after \d+\.\d s',
            lines[1],
        ), lines
    else:
        assert lines == []


@pytest.mark.parametrize(
    "link, said",
    [
        ("/nonexistent", "symlink to /nonexistent, which does not exist"),
        ("wsside.toml", "symlink to wsside.toml, which leads back to itself (a loop of links)"),
        (None, "a folder, not a file"),
    ],
    ids=["dangling", "to-itself", "folder"],
)
def test_a_config_file_that_is_no_file_is_one_line_and_exit_2(
    project: Path, link: str | None, said: str
) -> None:
    """A wsside.toml that cannot be read as a file was skipped: serve ran on the defaults."""
    config = project / "wsside.toml"
    if link is None:
        config.mkdir()
    else:
        config.symlink_to(link)
    done = wsside("serve", "--port", "0", cwd=project)
    assert (done.returncode, one_line(done)) == (2, f"wsside: {config}: {said}")


def test_a_config_option_naming_a_device_or_a_pipe_says_so(project: Path) -> None:
    fifo = project / "pipe.toml"
    os.mkfifo(fifo)
    for given, kind in (("/dev/null", "a device"), ("pipe.toml", "a named pipe")):
        done = wsside("serve", "--port", "0", "--config", given, cwd=project)
        assert (done.returncode, one_line(done)) == (
            2,
            f"wsside: {given}: not a regular file ({kind}): give the config file itself",
        )


@pytest.mark.parametrize(
    "name, content, said",
    [
        (
            "wsside.toml",
            b'prefix = "/a?b"\n',
            'wsside.toml:1: key "prefix": expected a URL path such as "/api" (no spaces, query '
            'or fragment), or a non-empty list of them, got "/a?b"',
        ),
        (
            "wsside.toml",
            b"port = 8000\n\n[foo]\nx = 1\n",
            'wsside.toml:3: key "foo": unknown key; expected one of prefix,',
        ),
        ("pp.toml", b'[project]\nname = "x"\n', 'pp.toml:1: key "project": unknown key;'),
        (
            "wsside.toml",
            b"\xef\xbb\xbfport = 8000\n",
            "wsside.toml:1: starts with a byte-order mark (BOM), which TOML does not allow: "
            "save it as UTF-8 without BOM",
        ),
    ],
    ids=["prefix-with-query", "unknown-table", "unknown-table-given", "bom"],
)
def test_a_config_file_error_names_the_file_line_and_key(
    project: Path, name: str, content: bytes, said: str
) -> None:
    (project / name).write_bytes(content)
    done = wsside("serve", "--port", "0", "--config", name, cwd=project)
    assert done.returncode == 2
    assert one_line(done).startswith(f"wsside: {name}:" if name != "wsside.toml" else "wsside:")
    assert said in one_line(done)


@pytest.mark.parametrize("value", ["x", "1:2:3", "1:80:x:h", "0:80:99:127.0.0.1"])
def test_a_stray_worker_variable_is_one_line_and_exit_2(project: Path, value: str) -> None:
    done = wsside("serve", "--port", "0", cwd=project, env={"WSSIDE_WORKER": value})
    assert (done.returncode, one_line(done)) == (
        2,
        f"wsside: WSSIDE_WORKER={value!r} is malformed: it is internal to `wsside serve "
        "--workers N`, which sets it for each worker it starts; unset it",
    )


async def test_under_vite_a_dangling_config_link_is_a_config_error(project: Path) -> None:
    (project / "wsside.toml").symlink_to("/nonexistent")
    sidecar = IpcSidecar(project)
    try:
        error = await asyncio.to_thread(sidecar.next, "config_error")
        assert error["message"] == "symlink to /nonexistent, which does not exist"
        assert error["file"] == str(project / "wsside.toml")
    finally:
        sidecar.stop()


def test_a_helper_that_fails_names_the_handler_files_it_kept_from_loading(tmp_path: Path) -> None:
    # As Vite's terminal words it: one error, at the helper's line, naming what it held back.
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "_shared.py").write_text('V = 3\nraise RuntimeError("helper broke")\n')
    for name in ("chat", "game"):
        (tmp_path / "ws" / f"{name}.py").write_text(
            f"import _shared\nfrom wsside import Handler\n{name} = Handler('/ws/{name}')\n"
        )
    done = wsside("serve", "--no-reload", "--port", str(free_port()), cwd=tmp_path)
    assert done.returncode == 3
    headlines = [line for line in done.stderr.splitlines() if "cannot load" in line]
    assert [line.split(" ", 1)[1] for line in headlines] == [
        "wsside: cannot load ws/_shared.py:2 (so ws/chat.py and ws/game.py did not load): "
        "RuntimeError: helper broke"
    ], done.stderr
