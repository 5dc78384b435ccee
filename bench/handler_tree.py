"""A grown project's handler tree, and what it costs to serve and reload it.

    python bench/handler_tree.py [--files 150] [--per-file 4] [--helpers 40] [--heavy 3]
    python bench/handler_tree.py --generate DIR     # only write the project, to look at

`generate` writes a project as a team's grows: handler files in nested folders under ws/
(`ws/rooms/`, `ws/admin/`, `ws/games/<name>/`, ...), helpers beside them (`_util.py`, widely
imported; one helper per area; packages `_lib/`, `_models/`), a third of the endpoints with
`receives=`/`sends=` TypedDicts, and a few helpers whose import takes `--heavy-s` seconds (as
numpy or a model would). The measurements run a real `wsside serve` on a free loopback port:
start-up to "serving", a reload of one handler file, of a helper (how many files load again),
of many files at once (a checkout), the longest echo round trip while that happens, RSS, and
handshakes per second with this many endpoints against a handful.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

AREAS = ("rooms", "admin", "chat", "billing", "presence", "feeds", "support", "ops")
GAMES = ("chess", "go", "poker", "tetris", "snake", "pong", "quiz", "bingo")


def area_of(index: int) -> str:
    """The folder of handler file `index`: areas, and games/<name>/ for a third."""
    if index % 3 == 2:
        return f"games/{GAMES[index % len(GAMES)]}"
    return AREAS[index % len(AREAS)]


def helper_names(helpers: int) -> list[str]:
    """Module names of the helpers: `_util`, one per area, packages, then plain ones."""
    names = ["_util", *(f"_{a}" for a in AREAS), "_games", "_lib.db", "_lib.cache", "_models"]
    n = 0
    while len(names) < helpers:
        names.append(f"_extra{n}")
        n += 1
    return names[:helpers]


def generate(
    dest: Path,
    files: int = 150,
    per_file: int = 4,
    helpers: int = 40,
    heavy: int = 3,
    heavy_s: float = 0.2,
) -> list[Path]:
    """Write the project under `dest` (handlers in `dest/ws`); the handler files, in order."""
    ws = dest / "ws"
    ws.mkdir(parents=True)
    names = helper_names(helpers)
    heavy_names = [f"_heavy{n}" for n in range(heavy)]
    for name in names + heavy_names:
        parts = name.split(".")
        folder = ws.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        if len(parts) > 1:
            (folder / "__init__.py").touch()
        body = f"import time\n\ntime.sleep({heavy_s!r})\n" if name in heavy_names else ""
        if name != "_util":
            body += "from _util import stamp\n"
        body += "\nVERSION = 0\n\n\ndef stamp(value):\n    return value\n"
        if name == "_models":
            body = _MODELS
        ws.joinpath(*parts[:-1], parts[-1] + ".py").write_text(body)
    out = []
    for index in range(files):
        area = area_of(index)
        folder = ws / area
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"h{index:03d}.py"
        path.write_text(handler_source(index, per_file, names, heavy_names, version=0))
        out.append(path)
    return out


_MODELS = """from typing import Literal, TypedDict


class ChatIn(TypedDict):
    type: Literal["chat"]
    room: str
    text: str


class ChatOut(TypedDict):
    type: Literal["chat-message"]
    sender: str
    text: str
    at: float


class Move(TypedDict):
    type: Literal["move"]
    x: int
    y: int
    piece: str | None


VERSION = 0


def stamp(value):
    return value
"""


def handler_source(
    index: int, per_file: int, helpers: list[str], heavy: list[str], version: int
) -> str:
    area = area_of(index)
    group = "_games" if area.startswith("games") else f"_{area}"
    imports = ["from wsside import Handler", "from _util import stamp"]
    if group in helpers:
        imports.append(f"import {group}")
    if index % 10 == 0 and helpers[-1:]:
        extra = helpers[13 + index % max(1, len(helpers) - 13)] if len(helpers) > 13 else None
        if extra:
            imports.append(f"import {extra}")
    if heavy and index % 20 == 0:
        imports.append(f"import {heavy[(index // 20) % len(heavy)]}")
    typed = index % 3 == 0 and "_models" in helpers
    if typed:
        imports.append("from _models import ChatIn, ChatOut, Move")
    lines = [*imports, "", f"VERSION = {version}", ""]
    for n in range(per_file):
        if area.startswith("games") and n % 2 == 1:
            pattern = f"/ws/{area}/t{index}/{{table}}/e{n}"
        elif n == per_file - 1 and index % 4 == 1:
            pattern = f"/ws/{area}/f{index}/*/e{n}"
        else:
            pattern = f"/ws/{area}/f{index}/e{n}"
        options = ""
        if typed:
            options = ", receives=ChatIn | Move, sends=ChatOut" if n % 2 == 0 else ", sends=ChatOut"
        lines += [
            f'h{n} = Handler("{pattern}"{options})',
            "",
            "",
            f"@h{n}.on_message",
            f"def on_message_{n}(conn, data):",
            '    conn.send(stamp({"v": VERSION, "data": data}))',
            "",
            "",
        ]
    return "\n".join(lines)


def echo_project(dest: Path, endpoints: int) -> list[str]:
    """A project of `endpoints` literal endpoints in files of 4; the paths, last declared last."""
    ws = dest / "ws"
    ws.mkdir(parents=True)
    paths = []
    for f in range((endpoints + 3) // 4):
        lines = ["from wsside import Handler", ""]
        for n in range(min(4, endpoints - 4 * f)):
            pattern = f"/ws/a{f:03d}/e{n}"
            paths.append(pattern)
            lines += [f'h{n} = Handler("{pattern}", on_message=lambda c, d: c.send(d))', ""]
        (ws / f"f{f:03d}.py").write_text("\n".join(lines))
    return paths


# ---- a real `wsside serve` -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`wsside serve` in `project`, its stderr read line by line on a thread."""

    def __init__(self, project: Path, *args: str) -> None:
        self.port = free_port()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wsside", "serve", "--port", str(self.port), *args],
            cwd=project,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        # Read all the time: an unread pipe fills up (the access log) and stalls the server.
        self._seen = threading.Condition()
        self._read_at = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self.lines.append("")  # the end
            self._seen.notify_all()

    def expect(self, fragment: str, count: int = 1, timeout: float = 20.0) -> float:
        """Wait for `count` lines containing `fragment`, after those already expected;
        perf_counter() when the last was read."""
        seen = 0
        with self._seen:
            while seen < count:
                if self._read_at == len(self.lines):
                    if not self._seen.wait(timeout):
                        raise TimeoutError(f"{fragment} x{count}:\n" + "".join(self.lines[-20:]))
                    continue
                line = self.lines[self._read_at]
                self._read_at += 1
                if not line:
                    raise RuntimeError("wsside serve exited:\n" + "".join(self.lines[-30:]))
                seen += fragment in line
        return time.perf_counter()

    def skip(self) -> None:
        """Expect only lines that come after now."""
        with self._seen:
            self._read_at = len(self.lines)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def inotify_watches(self) -> int:
        count = 0
        for fd in os.listdir(f"/proc/{self.proc.pid}/fdinfo"):
            try:
                with open(f"/proc/{self.proc.pid}/fdinfo/{fd}") as f:
                    count += sum(line.startswith("inotify wd:") for line in f)
            except OSError:
                pass
        return count

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def save(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def reload_ms(serve: Serve, before: int) -> list[float]:
    """The `reloaded ... in N ms` figures printed since line `before`."""
    return [
        float(m.group(1))
        for line in serve.lines[before:]
        if (m := re.search(r"reloaded .* in ([\d.]+) ms", line))
    ]


async def echo_max_ms(port: int, path: str, until: asyncio.Event) -> float:
    """The longest echo round trip on one socket until `until` is set."""
    import aiohttp

    worst = 0.0
    url = f"ws://127.0.0.1:{port}/api{path}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        while not until.is_set():
            t = time.perf_counter()
            await ws.send_str("x")
            await ws.receive()
            worst = max(worst, time.perf_counter() - t)
            await asyncio.sleep(0.001)
    return worst * 1000


def handshakes_per_s(port: int, path: str, seconds: float = 3.0) -> float:
    """Sequential handshakes from one blocking client for `seconds`: connect, 101 (checked),
    a masked close frame, the server's close frame, TCP close."""
    request = (
        f"GET /api{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    close = bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2])
    done = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            if not head.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(head.decode(errors="replace"))
            s.sendall(close)
            while s.recv(4096):
                pass
        done += 1
    return done / (time.perf_counter() - start)


def timed(*cmd: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def measure(args: argparse.Namespace) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        files = generate(project, args.files, args.per_file, args.helpers, args.heavy, args.heavy_s)
        names = helper_names(args.helpers)
        ws = project / "ws"
        serve = Serve(project, "--handlers", "ws")
        t = serve.expect("serving")
        rows.append(("start-up to 'serving'", f"{t - serve.started:.2f} s"))
        rows.append(("RSS after start", f"{serve.rss_mb():.0f} MB"))
        rows.append(("inotify watches", str(serve.inotify_watches())))
        echo = "/" + files[0].relative_to(ws).parent.as_posix()
        echo = f"/ws/{echo.strip('/')}/f0/e0"

        def one_reload(paths: list[Path], version: int, expect: int) -> tuple[float, float, int]:
            """Save `paths`; (wall s from save to the last reloaded line, echo max ms, loads)."""
            serve.skip()
            before = len(serve.lines)
            until = asyncio.Event()

            async def run() -> float:
                task = asyncio.create_task(echo_max_ms(serve.port, echo, until))
                await asyncio.sleep(0.2)
                start = time.perf_counter()
                for p in paths:
                    index = files.index(p) if p in files else -1
                    if index >= 0:
                        text = handler_source(index, args.per_file, names, _heavy(args), version)
                    else:
                        text = p.read_text().replace(
                            f"VERSION = {version - 1}", f"VERSION = {version}"
                        )
                    save(p, text)
                await asyncio.to_thread(serve.expect, "reloaded", expect)
                wall = time.perf_counter() - start
                await asyncio.sleep(1.0)  # any more loads of this save are counted too
                until.set()
                return wall, await task

            wall, worst = asyncio.run(run())
            return wall, worst, len(reload_ms(serve, before))

        wall, worst, n = one_reload([files[7]], 1, 1)
        rows.append(
            ("reload: 1 handler file saved", f"{wall * 1000:.0f} ms, echo max {worst:.0f} ms")
        )
        users_of_area = [f for i, f in enumerate(files) if area_of(i) == area_of(1)]
        wall, worst, n = one_reload([ws / f"_{area_of(1)}.py"], 1, len(users_of_area))
        rows.append(
            (
                f"reload: _{area_of(1)}.py saved ({len(users_of_area)} files import it)",
                f"{wall * 1000:.0f} ms, {n} files loaded, echo max {worst:.0f} ms",
            )
        )
        wall, worst, n = one_reload([ws / "_util.py"], 1, args.files)
        rows.append(
            (
                f"reload: _util.py saved (all {args.files} import it)",
                f"{wall * 1000:.0f} ms, {n} files loaded, echo max {worst:.0f} ms",
            )
        )
        batch = files[10:60]
        wall, worst, n = one_reload(batch, 2, len(batch))
        rows.append(
            ("reload: 50 files changed at once", f"{wall * 1000:.0f} ms, echo max {worst:.0f} ms")
        )
        for version in range(3, 3 + args.reloads):
            save(files[7], handler_source(7, args.per_file, names, _heavy(args), version))
            serve.expect("reloaded")
        rows.append((f"RSS after {args.reloads} more reloads", f"{serve.rss_mb():.0f} MB"))
        serve.stop()

        bin_dir = Path(sys.executable).parent
        wsside = str(bin_dir / "wsside")
        secs, proc = timed(wsside, "doctor", "--json", cwd=project)
        rows.append(("wsside doctor", f"{secs:.2f} s (exit {proc.returncode})"))
        out = project / "wsside-env.d.ts"
        secs, proc = timed(wsside, "types", "--out", str(out), cwd=project)
        rows.append(("wsside types (write)", f"{secs:.2f} s, {out.stat().st_size // 1024} KiB"))
        mtime = out.stat().st_mtime_ns
        secs, proc = timed(wsside, "types", "--out", str(out), cwd=project)
        same = out.stat().st_mtime_ns == mtime
        rows.append(("wsside types (no change)", f"{secs:.2f} s, rewritten: {not same}"))

    for endpoints in (6, 600):
        with tempfile.TemporaryDirectory() as tmp:
            paths = echo_project(Path(tmp), endpoints)
            serve = Serve(Path(tmp), "--handlers", "ws", "--no-reload")
            serve.expect("serving")
            rate = handshakes_per_s(serve.port, paths[-1])
            serve.stop()
            rows.append((f"handshakes/s, {endpoints} endpoints (last one)", f"{rate:.0f}"))
    return rows


def _heavy(args: argparse.Namespace) -> list[str]:
    return [f"_heavy{n}" for n in range(args.heavy)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=150)
    parser.add_argument("--per-file", type=int, default=4)
    parser.add_argument("--helpers", type=int, default=40)
    parser.add_argument("--heavy", type=int, default=3)
    parser.add_argument("--heavy-s", type=float, default=0.2)
    parser.add_argument("--reloads", type=int, default=200)
    parser.add_argument("--generate", type=Path, metavar="DIR")
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.files, args.per_file, args.helpers, args.heavy, args.heavy_s)
        return
    rows = measure(args)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
