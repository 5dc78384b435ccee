"""Room broadcast across processes: wsside with 2 workers and the Redis backplane, against
python-socketio (2 processes, `AsyncRedisManager`) on the same Redis, and against one wsside
process without Redis. Loopback only, bounded in count and time.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/cluster.py                 # 3 runs of each variant, about 1 min
    .venv/bin/python bench/cluster.py --runs 1 --receivers 20 --messages 100   # smoke

Workload: RECEIVERS connections in one room, spread over the server processes, and one sender
connection whose messages go to the room (its own process delivers to its members, the other
process gets them through Redis). After a warm-up of WARMUP messages, the sender writes
MESSAGES messages at once; the clock stops when every receiver has all of them. Server CPU is
user+system time of every server process (the wsside supervisor and workers, or both
socket.io processes, and redis-server), read with psutil before and after. The figure is
deliveries per server CPU-second: contention-proof on a shared machine.

The client is this process: raw sockets, frames counted without decoding their payload.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def masked_text(payload: bytes) -> bytes:
    """A client text frame; the mask key is zero, so the payload goes as it is."""
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0xFE]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


class Peer(asyncio.Protocol):
    """One WebSocket client connection that counts the data frames starting with `prefix`.
    Socket.io: answers the engine.io open packet with a namespace connect (`40`)."""

    def __init__(self, prefix: bytes, socketio: bool) -> None:
        self.prefix = prefix
        self.socketio = socketio
        self.buf = bytearray()
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.count = 0
        self.target = 0
        self.reached: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def expect(self, total: int) -> asyncio.Future[None]:
        self.target = total
        self.reached = asyncio.get_running_loop().create_future()
        if self.count >= total:
            self.reached.set_result(None)
        return self.reached

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            assert self.buf.startswith(b"HTTP/1.1 101"), bytes(self.buf[:200])
            del self.buf[: end + 4]
            self.upgraded = True
            if not self.socketio:
                self.ready.set_result(None)
        buf, pos, size = self.buf, 0, len(self.buf)
        while size - pos >= 2:
            n, off = buf[pos + 1] & 0x7F, 2
            if n == 126:
                if size - pos < 4:
                    break
                n, off = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, off = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < off + n:
                break
            start = pos + off
            if buf[start : start + len(self.prefix)] == self.prefix:
                self.count += 1
            elif self.socketio:
                self._engineio(bytes(buf[start : start + 2]))
            pos = start + n
        del buf[:pos]
        if self.reached is not None and not self.reached.done() and self.count >= self.target:
            self.reached.set_result(None)

    def _engineio(self, head: bytes) -> None:
        assert self.transport is not None
        if head[:1] == b"0" and head != b"40":  # open packet: join the default namespace
            self.transport.write(masked_text(b"40"))
        elif head == b"40" and not self.ready.done():
            self.ready.set_result(None)
        elif head[:1] == b"2":  # engine.io ping
            self.transport.write(masked_text(b"3"))


async def open_peer(port: int, path: str, prefix: bytes, socketio: bool) -> Peer:
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_connection(
        lambda: Peer(prefix, socketio), "127.0.0.1", port
    )
    transport.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY.decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await asyncio.wait_for(peer.ready, 10)
    return peer


# ---- servers ---------------------------------------------------------------------------


class Server:
    """Processes started for one run, stopped by pid; CPU read over all of them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, cmd: list[str], ready: bytes, name: str, cwd: Path | None = None) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while ready not in (self.folder / f"{name}.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.folder / f"{name}.log").read_text(errors="replace"))
            time.sleep(0.02)  # a bench harness waiting for a log line, not a test

    def cpu(self) -> dict[str, float]:
        """CPU seconds by role: redis, and the servers (every descendant included)."""
        out = {"redis": 0.0, "server": 0.0}
        for proc in self.procs:
            root = psutil.Process(proc.pid)
            for p in (root, *root.children(recursive=True)):
                try:
                    t = p.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                role = "redis" if "redis-server" in " ".join(p.cmdline()) else "server"
                out[role] += t.user + t.system
        return out

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_redis(server: Server) -> str:
    port = free_port()
    server.spawn(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(server.folder),
        ],
        b"Ready to accept connections",
        "redis",
    )
    return f"redis://127.0.0.1:{port}/0"


def variant_wsside(server: Server, workers: int, redis: bool) -> tuple[list[int], int]:
    port = free_port()
    args = ["--workers", str(workers)] if workers > 1 else []
    if redis:
        args += ["--backplane", start_redis(server)]
    server.spawn(
        [
            PYTHON,
            "-m",
            "wsside",
            "serve",
            "--handlers",
            str(BENCH / "handlers"),
            "--port",
            str(port),
            "--no-reload",
            "--log-level",
            "warning",
            *args,
        ],
        b"serving on",
        "wsside",
    )
    return [port], port


def variant_socketio(server: Server) -> tuple[list[int], int]:
    url = start_redis(server)
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):
        server.spawn(
            [PYTHON, str(BENCH / "socketio_server.py"), str(port), url], b"ready", f"socketio{i}"
        )
    return ports, ports[0]


VARIANTS: dict[str, Callable[[Server], tuple[list[int], int]]] = {
    "wsside-2w-redis": lambda s: variant_wsside(s, 2, True),
    "wsside-1": lambda s: variant_wsside(s, 1, False),
    "socketio-2p-redis": variant_socketio,
}


async def run_once(name: str, receivers: int, messages: int, warmup: int) -> dict[str, float]:
    socketio = name.startswith("socketio")
    with tempfile.TemporaryDirectory(prefix="wsside-bench-") as tmp:
        server = Server(Path(tmp))
        try:
            ports, sender_port = VARIANTS[name](server)
            if socketio:
                path, prefix = "/socket.io/?EIO=4&transport=websocket", b'42["msg"'
                frames = [
                    masked_text(b'42["msg",{"n":%d,"pad":"%s"}]' % (i, b"x" * 32))
                    for i in range(warmup + messages)
                ]
            else:
                path, prefix = "/api/ws/bcast", b'{"n":'
                frames = [
                    masked_text(b'{"n":%d,"pad":"%s"}' % (i, b"x" * 32))
                    for i in range(warmup + messages)
                ]
            peers = [
                await open_peer(ports[i % len(ports)], path, prefix, socketio)
                for i in range(receivers)
            ]
            sep = "&" if "?" in path else "?"
            sender = await open_peer(sender_port, path + sep + "role=sender", prefix, socketio)
            assert sender.transport is not None
            sender.transport.write(b"".join(frames[:warmup]))
            await asyncio.wait_for(asyncio.gather(*(p.expect(warmup) for p in peers)), 60)
            before, started = server.cpu(), time.perf_counter()
            sender.transport.write(b"".join(frames[warmup:]))
            await asyncio.wait_for(
                asyncio.gather(*(p.expect(warmup + messages) for p in peers)), 120
            )
            elapsed = time.perf_counter() - started
            after = server.cpu()
            for p in (*peers, sender):
                assert p.transport is not None
                p.transport.close()
        finally:
            server.stop()
    deliveries = receivers * messages
    cpu = {k: after[k] - before[k] for k in after}
    total = cpu["server"] + cpu["redis"]
    return {
        "deliveries_per_s": deliveries / elapsed,
        "deliveries_per_cpu_s": deliveries / total,
        "server_cpu_s": cpu["server"],
        "redis_cpu_s": cpu["redis"],
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--receivers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None, help="results file (markdown)")
    opts = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for run in range(opts.runs):
        for name in VARIANTS:  # interleaved: drift on a shared machine hits every variant
            figures = asyncio.run(run_once(name, opts.receivers, opts.messages, opts.warmup))
            results[name].append(figures)
            print(
                f"run {run + 1} {name}: "
                + json.dumps({k: round(v, 3) for k, v in figures.items()}),
                flush=True,
            )
    report = render(results, opts)
    print(report)
    if opts.out is not None:
        opts.out.write_text(report)


def render(results: dict[str, list[dict[str, float]]], opts: argparse.Namespace) -> str:
    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    def spread(name: str, key: str, fmt: str) -> str:
        values = [r[key] for r in results[name]]
        return (
            f"{fmt.format(statistics.median(values))} "
            f"({fmt.format(min(values))}–{fmt.format(max(values))})"
        )

    lines = [
        f"# Room broadcast across processes, {datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"- Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end; "
        f"CPython {sys.version.split()[0]}",
        f"- {opts.receivers} receivers in one room, 1 sender, {opts.messages:,} messages after "
        f"{opts.warmup} warm-up ({opts.receivers * opts.messages:,} deliveries per run); "
        f"{opts.runs} runs, median (min–max)",
        "- Command: `.venv/bin/python bench/cluster.py"
        + (f" --runs {opts.runs}" if opts.runs != 3 else "")
        + (f" --receivers {opts.receivers}" if opts.receivers != 200 else "")
        + (f" --messages {opts.messages}" if opts.messages != 300 else "")
        + "`",
        "",
        "| variant | deliveries per server CPU-second (Redis included) | deliveries/s | "
        "server CPU, s | of which redis-server, s |",
        "|---|---|---|---|---|",
    ]
    for name in results:
        lines.append(
            f"| {name} | {spread(name, 'deliveries_per_cpu_s', '{:,.0f}')} | "
            f"{spread(name, 'deliveries_per_s', '{:,.0f}')} | "
            f"{spread(name, 'server_cpu_s', '{:.2f}')} | {spread(name, 'redis_cpu_s', '{:.3f}')} |"
        )
    cluster = med("wsside-2w-redis", "deliveries_per_cpu_s")
    lines += [
        "",
        f"- wsside 2 workers + Redis vs python-socketio 2 processes + Redis, per CPU-second: "
        f"**{cluster / med('socketio-2p-redis', 'deliveries_per_cpu_s'):.1f}×** (target ≥ 3×)",
        f"- wsside 2 workers + Redis vs wsside single process, per CPU-second: "
        f"**{cluster / med('wsside-1', 'deliveries_per_cpu_s'):.2f}×** (target ≥ 0.6×)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
