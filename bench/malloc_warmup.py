"""Does the sidecar pay glibc's mmap-per-read penalty? (issue 2; forwarding-costs.md)

asyncio reads with recv(256 KiB); above glibc's initial mmap threshold every read would cost
an mmap/munmap pair. `wsside._edge.malloc.warm_up()` raises the threshold at start-up. This counts
the sidecar's mmap/munmap calls and CPU over N echoes with and without the warm-up, under
`strace -f -c`. Needs strace. Usage: .venv/bin/python bench/malloc_warmup.py [N]
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HANDLER = """from wsside import Handler
Handler("/ws/echo", on_message=lambda conn, data: conn.send(data))
"""
# Runs `wsside serve`, optionally with the warm-up turned off.
LAUNCH = """import sys, wsside._edge.malloc as m
if sys.argv.pop(1) == "off":
    m.warm_up = lambda: None
from wsside.cli import main
sys.argv[0] = "wsside"
main()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo(port: int, n: int) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(
        b"GET /api/ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
        b"Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    payload = b"x" * 64
    mask = b"\x01\x02\x03\x04"
    frame = bytes([0x81, 0x80 | 64]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    expect = bytes([0x81, 64]) + payload
    for _ in range(n):
        s.sendall(frame)
        got = b""
        while len(got) < len(expect):
            got += s.recv(4096)
        assert got == expect
    s.close()


def run(mode: str, n: int, folder: Path) -> dict[str, float]:
    port = free_port()
    out = folder / f"strace-{mode}.txt"
    proc = subprocess.Popen(
        [
            "strace",
            "-f",
            "-c",
            "-e",
            "trace=mmap,munmap,mremap",
            "-o",
            str(out),
            sys.executable,
            str(folder / "launch.py"),
            mode,
            "serve",
            "--handlers",
            str(folder / "ws"),
            "--port",
            str(port),
            "--no-reload",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "serving on" in line:
            break
    started = time.perf_counter()
    echo(port, n)
    elapsed = time.perf_counter() - started
    for child in psutil.Process(proc.pid).children():  # the sidecar under strace
        child.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    calls = {"mmap": 0, "munmap": 0, "mremap": 0}
    for line in out.read_text().splitlines():
        parts = line.split()
        if parts and parts[-1] in calls:
            calls[parts[-1]] = int(parts[3])
    return {**calls, "round_trips_per_s": n / elapsed}


def main() -> None:
    if shutil.which("strace") is None:
        sys.exit("needs strace (apt-get install strace)")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "ws").mkdir()
        (folder / "ws" / "echo.py").write_text(HANDLER)
        (folder / "launch.py").write_text(LAUNCH)
        print(f"{n:,} sequential 64-byte echoes, whole sidecar process under strace -f -c")
        print("| warm-up | mmap | munmap | mremap | round trips/s (slowed by strace) |")
        print("|---|---|---|---|---|")
        for mode in ("on", "off"):
            r = run(mode, n, folder)
            print(
                f"| {mode} | {r['mmap']:,} | {r['munmap']:,} | {r['mremap']:,} | "
                f"{r['round_trips_per_s']:,.0f} |"
            )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
