"""How each figure scales with `wsside serve --workers K` on this machine, and a 16-core
projection (issue 19, "production"). Loopback only, bounded in count and time.

    .venv/bin/python bench/scaling.py                    # K = 1, 2; 3 runs; about 2 min
    .venv/bin/python bench/scaling.py --redis            # + broadcast through Redis; 3 min
    .venv/bin/python bench/scaling.py --smoke [--redis]  # under 30 s; prints, writes nothing
    .venv/bin/python bench/scaling.py --report bench/results/DATE-scaling.raw.json

For each K in --workers-list, and each run, a fresh `wsside serve --handlers bench/handlers
--workers K` (one process at K = 1; a supervisor and K workers sharing the port with
SO_REUSEPORT above) serves each workload, driven by bench/client.js:

  throughput  raw echo (/api/ws/echo), --clients connections split over --client-procs
              client processes, each sending its next 64-byte message when the echo arrives;
  handshake   --handshakes connections split over --handshake-procs client processes, each
              opening, upgrading and closing one connection at a time;
  broadcast   (--redis only) one sender, --receivers in one room spread over the workers,
              --messages written at once; the workers are linked by `--backplane redis://`
              to a redis-server of this run's own (without Redis a broadcast does not cross
              workers).

The client processes print {"event":"start"} and {"event":"end"} around their measured
phases; the figures come from the window in which all of them are measuring (from the last
start to the first end): the rate is the sum of the client processes' own rates; CPU (user+sys,
psutil) is read at both edges for the supervisor and every worker, the client processes,
redis-server (its own INFO, microseconds) and the whole machine (/proc/stat). No pinning:
the point is to use both cores, so the load generator shares them with the workers.

With --redis, Redis's own cost per PUBLISH is also measured, with 1, 2 and 16 subscribers,
for a 100-byte message (one broadcast) and a 64 KiB one (a batch, as the backplane's
publisher sends under load), one PUBLISH at a time: what one Redis core can carry when every
worker of a 16-core host subscribes.

The report (markdown) is printed and written to bench/results/<date>-scaling.md, the raw
figures beside it as .raw.json (not committed). Every client run has a timeout; servers,
workers and redis-server are stopped by pid (SIGTERM, then SIGKILL) in finally blocks.
Method and reading: bench/README.md, "Scaling with --workers".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
HANDLERS = BENCH / "handlers"
CLIENT = BENCH / "client.js"
RESULTS = BENCH / "results"
PYTHON = sys.executable
CORES_TARGET = 16


def log(message: str) -> None:
    print(f"[scaling] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(proc: psutil.Process) -> float | None:
    try:
        t = proc.cpu_times()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    return t.user + t.system


def machine_seconds() -> tuple[float, float, float]:
    """CPU seconds of the whole machine (all cores, since boot, /proc/stat): (busy, of which
    irq and softirq, steal). Busy leaves out idle, iowait and steal (time the hypervisor gave
    to someone else). On loopback much of the network stack's work is softirq time, which is
    not charged to any process."""
    t = psutil.cpu_times()
    steal = getattr(t, "steal", 0.0)
    irq = getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    busy = (
        sum(t)
        - t.idle
        - getattr(t, "iowait", 0.0)
        - steal
        - getattr(t, "guest", 0.0)
        - getattr(t, "guest_nice", 0.0)
    )
    return busy, irq, steal


# ---- Redis -----------------------------------------------------------------------------


def resp_command(*args: bytes | str) -> bytes:
    parts = [a.encode() if isinstance(a, str) else a for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class Redis:
    """A redis-server of our own (no persistence) and one connection to it for INFO."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log = folder / f"redis-{self.port}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(folder),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 20
        while b"Ready to accept connections" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start:\n{self.log.read_text()}")
            time.sleep(0.02)
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.file = self.sock.makefile("rb")
        # What one reading costs Redis, taken off every window (two readings frame it).
        first = self.info()["cpu"]
        for _ in range(20):
            last = self.info()["cpu"]
        self.info_cost = (last - first) / 20
        self.idle_rate = 0.0

    def measure_idle(self, seconds: float = 1.0) -> None:
        """Redis's CPU per second when nobody sends (its timers, the subscribers' pings),
        taken off the windows too: it is not the cost of a message."""
        before = self.info()["cpu"]
        time.sleep(seconds)
        self.idle_rate = max(0.0, self.info()["cpu"] - before - self.info_cost) / seconds

    def net_cpu(self, before: dict[str, float], after: dict[str, float], window: float) -> float:
        """Redis CPU seconds between two readings, less the readings and the idle baseline."""
        return max(0.0, after["cpu"] - before["cpu"] - self.info_cost - self.idle_rate * window)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def info(self) -> dict[str, float]:
        """CPU seconds (user+sys, microsecond precision), PUBLISH calls and bytes received
        so far."""
        self.sock.sendall(resp_command("INFO", "cpu", "commandstats", "stats"))
        head = self.file.readline()
        assert head.startswith(b"$"), head
        body = self.file.read(int(head[1:]) + 2).decode()
        fields = dict(line.split(":", 1) for line in body.splitlines() if ":" in line)
        publish = 0
        if "cmdstat_publish" in fields:
            stats = dict(kv.split("=") for kv in fields["cmdstat_publish"].split(","))
            publish = int(stats["calls"])
        return {
            "cpu": float(fields["used_cpu_user"]) + float(fields["used_cpu_sys"]),
            "publish": float(publish),
            "in_bytes": float(fields["total_net_input_bytes"]),
        }

    def stop(self) -> None:
        if getattr(self, "sock", None) is not None:
            self.sock.close()
        stop_pids([psutil.Process(self.proc.pid)] if self.proc.poll() is None else [], self.proc)


def pubsub_cost(folder: Path, subscribers: int, count: int, size: int = 100) -> float:
    """Redis CPU per PUBLISH, µs: `count` messages of `size` bytes, one at a time (each reply
    awaited, as the backplane's publisher does), to `subscribers` raw subscriber sockets that
    read everything as it comes."""
    redis = Redis(folder)
    subs: list[socket.socket] = []
    try:
        channel = b"scaling"
        payload = b"x" * size
        one = b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            len(channel),
            channel,
            size,
            payload,
        )
        got = [0] * subscribers
        for _ in range(subscribers):
            s = socket.create_connection(("127.0.0.1", redis.port), timeout=20)
            s.sendall(resp_command("SUBSCRIBE", channel))
            confirm = b""
            while confirm.count(b"\r\n") < 6:  # *3 $9 subscribe $7 scaling :1
                confirm += s.recv(4096)
            subs.append(s)

        def drain(i: int) -> None:
            expected = len(one) * count
            while got[i] < expected:
                chunk = subs[i].recv(1 << 16)
                if not chunk:
                    return
                got[i] += len(chunk)

        threads = [
            threading.Thread(target=drain, args=(i,), daemon=True) for i in range(subscribers)
        ]
        for t in threads:
            t.start()
        pub = socket.create_connection(("127.0.0.1", redis.port), timeout=20)
        reader = pub.makefile("rb")
        command = resp_command("PUBLISH", channel, payload)
        redis.measure_idle(0.3)
        before, t0 = redis.info(), time.perf_counter()
        for _ in range(count):
            pub.sendall(command)
            reader.readline()
        after = redis.info()
        cpu = redis.net_cpu(before, after, time.perf_counter() - t0)
        for t in threads:
            t.join(20)
        pub.close()
        if any(g < len(one) * count for g in got):
            raise RuntimeError(f"pub/sub: subscribers got {got} bytes, not {len(one) * count}")
        return cpu / count * 1e6
    finally:
        for s in subs:
            s.close()
        redis.stop()


# ---- servers ---------------------------------------------------------------------------


def stop_pids(procs: list[psutil.Process], root: subprocess.Popen[bytes] | None) -> list[int]:
    """SIGTERM the root (the supervisor stops its workers), SIGKILL by pid what is left.
    Returns the pids that were still alive and had to be killed."""
    if root is not None and root.poll() is None:
        root.send_signal(signal.SIGTERM)
        try:
            root.wait(15)
        except subprocess.TimeoutExpired:
            root.kill()
            root.wait()
    _, alive = psutil.wait_procs([p for p in procs if p.is_running()], timeout=10)
    killed = []
    for p in alive:
        try:
            p.kill()
            killed.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return killed


@dataclass
class Server:
    """`wsside serve --workers K`: the supervisor (K > 1) or the one process (K = 1), and its
    workers, started for one workload and stopped by pid."""

    folder: Path
    workers: int
    backplane: str | None = None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    root: psutil.Process | None = None
    children: list[psutil.Process] = field(default_factory=list)

    def start(self) -> None:
        self.port = free_port()
        cmd = [
            PYTHON,
            "-m",
            "wsside",
            "serve",
            "--handlers",
            str(HANDLERS),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-reload",
            "--log-level",
            "warning",
            "--shutdown-timeout",
            "2",
        ]
        if self.backplane:
            cmd += ["--backplane", self.backplane]
        path = self.folder / f"wsside-{self.port}.log"
        with path.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=BENCH, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.root = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 30
        while b"serving on" not in path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"wsside serve did not start:\n{path.read_text(errors='replace')}"
                )
            time.sleep(0.02)
        self.children = self.root.children(recursive=True)
        expected = self.workers if self.workers > 1 else 0
        if len(self.children) != expected:
            raise RuntimeError(f"expected {expected} worker processes, found {len(self.children)}")

    @property
    def worker_procs(self) -> list[psutil.Process]:
        return self.children if self.workers > 1 else [self.root] if self.root else []

    def cpu(self) -> dict[int, float]:
        out = {}
        for p in [self.root, *self.children]:
            assert p is not None
            value = cpu_of(p)
            if value is None:
                raise RuntimeError(f"server process {p.pid} exited during the run")
            out[p.pid] = value
        return out

    def connections(self) -> list[int]:
        """Established connections on our port, per worker."""
        counts = []
        for p in self.worker_procs:
            try:
                conns = p.net_connections(kind="tcp")
            except psutil.Error:
                counts.append(-1)
                continue
            counts.append(
                sum(
                    1
                    for c in conns
                    if c.laddr and c.laddr.port == self.port and c.status == psutil.CONN_ESTABLISHED
                )
            )
        return counts

    def engines(self) -> str:
        found: set[str] = set()
        for p in self.worker_procs:
            try:
                maps = Path(f"/proc/{p.pid}/maps").read_text()
            except OSError:
                continue
            found.update(name for name in ("uvloop", "orjson") if f"/{name}/" in maps)
        return " and ".join(sorted(found, reverse=True)) or "neither uvloop nor orjson"

    def stop(self) -> None:
        if self.proc is None:
            return
        procs = [p for p in ([self.root] if self.root else []) + self.children]
        if self.root is not None:
            try:  # workers restarted by the supervisor since start() are ours too
                procs += [c for c in self.root.children(recursive=True) if c not in procs]
            except psutil.NoSuchProcess:
                pass
        killed = stop_pids(procs, self.proc)
        left = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p.pid)
            except psutil.NoSuchProcess:
                pass
        if killed:
            log(f"had to SIGKILL server pids {killed}")
        if left:
            raise RuntimeError(f"server processes {left} survived SIGKILL")


# ---- clients ---------------------------------------------------------------------------


@dataclass
class Snapshot:
    t: float
    server: dict[int, float]
    clients: float
    redis: dict[str, float] | None
    machine: tuple[float, float, float]
    conns: list[int] | None = None


def run_clients(
    server: Server,
    redis: Redis | None,
    mode: str,
    per_proc: list[list[str]],
    timeout_s: float,
    count_conns: bool = False,
) -> dict[str, Any]:
    """Run one client.js per argument list in parallel; snapshot CPU at every start/end event.
    Returns the figures over the window in which every client process was measuring."""
    procs: list[subprocess.Popen[bytes]] = []
    lines: queue.Queue[tuple[int, bytes | None]] = queue.Queue()
    errs = []
    try:
        for i, args in enumerate(per_proc):
            err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
            errs.append(err)
            procs.append(
                subprocess.Popen(
                    [
                        "node",
                        str(CLIENT),
                        mode,
                        "--port",
                        str(server.port),
                        "--timeout-s",
                        str(int(timeout_s)),
                        *args,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                )
            )

            def pump(i: int = i, out: Any = procs[-1].stdout) -> None:
                for line in out:
                    lines.put((i, line))
                lines.put((i, None))

            threading.Thread(target=pump, daemon=True).start()
        ps = [psutil.Process(p.pid) for p in procs]

        def snapshot(conns: bool) -> Snapshot:
            return Snapshot(
                t=time.perf_counter(),
                server=server.cpu(),
                clients=sum(v for v in map(cpu_of, ps) if v is not None),
                redis=redis.info() if redis else None,
                machine=machine_seconds(),
                conns=server.connections() if conns else None,
            )

        starts: dict[int, Snapshot] = {}
        ends: dict[int, Snapshot] = {}
        results: dict[int, dict[str, Any]] = {}
        closed = 0
        deadline = time.monotonic() + timeout_s + 15  # client.js gives up after timeout_s
        while closed < len(procs):
            try:
                i, line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(
                    f"{mode}: clients did not finish in {timeout_s + 15:.0f} s"
                ) from None
            if line is None:
                closed += 1
                continue
            event = json.loads(line)
            if event["event"] == "start":
                # Connections per worker are counted once every client process is
                # measuring, just after the CPU readings of the window's first edge.
                last = len(starts) == len(procs) - 1
                starts[i] = snapshot(count_conns and last)
            elif event["event"] == "end":
                ends[i] = snapshot(False)
            elif event["event"] == "result":
                results[i] = event
        for i, p in enumerate(procs):
            if p.wait(10) != 0 or i not in results:
                errs[i].seek(0)
                raise RuntimeError(
                    f"{mode}: client {i} failed: {errs[i].read().decode(errors='replace')}"
                )
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for e in errs:
            e.close()
    s0 = max(starts.values(), key=lambda s: s.t)
    s1 = min(ends.values(), key=lambda s: s.t)
    overlap = s1.t > s0.t
    if not overlap:  # the processes' measured phases did not overlap: take the whole span
        s0 = min(starts.values(), key=lambda s: s.t)
        s1 = max(ends.values(), key=lambda s: s.t)
    window = s1.t - s0.t
    rate = sum(r["rate"] for r in results.values())
    ops = (
        rate * window
        if overlap
        else sum(
            r.get("round_trips", r.get("connections", r.get("deliveries", 0)))
            for r in results.values()
        )
    )
    if not overlap:
        rate = ops / window
    server_cpu = sum(s1.server[pid] - s0.server[pid] for pid in s1.server)
    worker_pids = [p.pid for p in server.worker_procs]
    worker_cpu = [s1.server[pid] - s0.server[pid] for pid in worker_pids]
    supervisor_cpu = server_cpu - sum(worker_cpu)
    redis_cpu = (
        redis.net_cpu(s0.redis, s1.redis, window) if redis and s0.redis and s1.redis else 0.0
    )
    publishes = (s1.redis["publish"] - s0.redis["publish"]) if s0.redis and s1.redis else 0.0
    published_bytes = (
        (s1.redis["in_bytes"] - s0.redis["in_bytes"]) if s0.redis and s1.redis else 0.0
    )
    client_cpu = s1.clients - s0.clients
    busy, irq, steal = (b - a for a, b in zip(s0.machine, s1.machine, strict=True))
    conns = next((s.conns for s in starts.values() if s.conns is not None), None)
    return {
        "rate": rate,
        "window_s": window,
        "ops": ops,
        "overlap": overlap,
        "server_cpu_s": server_cpu,
        "cpu_per_op_us": server_cpu / ops * 1e6,
        "ops_per_cpu_s": ops / server_cpu,
        "server_cores": server_cpu / window,
        "supervisor_cores": supervisor_cpu / window,
        "worker_cores": [c / window for c in worker_cpu],
        "client_cores": client_cpu / window,
        "client_self_cores": sum(r["client_cpu_s"] / r["seconds"] for r in results.values()),
        "redis_cores": redis_cpu / window,
        "redis_cpu_s": redis_cpu,
        "publishes": publishes,
        "published_bytes": published_bytes,
        "machine_cores": busy / window,
        "irq_cores": irq / window,
        "steal_cores": steal / window,
        "others_cores": max(0.0, busy - server_cpu - client_cpu - redis_cpu) / window,
        "conns": conns,
        "clients": [{k: v for k, v in r.items() if k != "event"} for r in results.values()],
    }


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# ---- workloads -------------------------------------------------------------------------


def w_throughput(opts: argparse.Namespace, server: Server, redis: Redis | None) -> dict[str, Any]:
    per = [
        [
            "--path",
            "/api/ws/echo",
            "--clients",
            str(n),
            "--duration-s",
            str(opts.duration_s),
            "--warmup-s",
            str(opts.warmup_s),
        ]
        for n in split(opts.clients, opts.client_procs)
    ]
    return run_clients(
        server, redis, "throughput", per, opts.warmup_s + opts.duration_s + 60, count_conns=True
    )


def w_handshake(opts: argparse.Namespace, server: Server, redis: Redis | None) -> dict[str, Any]:
    per = [
        ["--path", "/api/ws/echo", "--count", str(n), "--warmup", str(w)]
        for n, w in zip(
            split(opts.handshakes, opts.handshake_procs),
            split(opts.handshake_warmup, opts.handshake_procs),
            strict=True,
        )
    ]
    return run_clients(server, redis, "handshake", per, 120)


def w_broadcast(opts: argparse.Namespace, server: Server, redis: Redis | None) -> dict[str, Any]:
    per = [
        [
            "--path",
            "/api/ws/bcast",
            "--sender-path",
            "/api/ws/bcast?role=sender",
            "--receivers",
            str(opts.receivers),
            "--messages",
            str(opts.messages),
        ]
    ]
    figures = run_clients(server, redis, "broadcast", per, 120, count_conns=True)
    figures["redis_us_per_msg"] = figures["redis_cpu_s"] / opts.messages * 1e6
    figures["msgs_per_publish"] = (
        opts.messages / figures["publishes"] if figures["publishes"] else 0.0
    )
    figures["bytes_per_msg"] = figures["published_bytes"] / opts.messages
    return figures


WORKLOADS = {
    "throughput": ("Raw echo throughput", "round trips", w_throughput),
    "handshake": ("Handshakes", "handshakes", w_handshake),
    "broadcast": ("Broadcast through Redis", "deliveries", w_broadcast),
}


def run_one(opts: argparse.Namespace, folder: Path, workload: str, workers: int) -> dict[str, Any]:
    redis = Redis(folder) if workload == "broadcast" else None
    server = Server(folder, workers, redis.url if redis else None)
    load = os.getloadavg()
    try:
        server.start()
        engines = server.engines()
        if redis is not None:
            redis.measure_idle()
        figures = WORKLOADS[workload][2](opts, server, redis)
    finally:
        try:
            server.stop()
        finally:
            if redis is not None:
                redis.stop()
    figures["load_before"] = load
    figures["engines"] = engines
    return figures


# ---- report ----------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(med(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def environment(engines: set[str]) -> list[str]:
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    model = models[0] if models else platform.processor() or "unknown"
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        node = "?"
    from wsside import __version__

    def installed(name: str) -> str:
        if importlib.util.find_spec(name) is None:
            return f"{name} not installed"
        try:
            from importlib.metadata import version

            return f"{name} {version(name)}"
        except Exception:  # noqa: BLE001 - a version is only informative
            return f"{name} installed"

    env = [f"{k}={os.environ[k]}" for k in ("WSSIDE_LOOP", "WSSIDE_JSON") if k in os.environ]
    return [
        f"- Machine: {len(models) or os.cpu_count()} × {model} (os.cpu_count() {os.cpu_count()}), "
        f"Linux {platform.release()}",
        f"- wsside {__version__}, CPython {platform.python_version()}, Node {node}; "
        f"{installed('uvloop')}, {installed('orjson')}"
        + (f"; {', '.join(env)}" if env else "; WSSIDE_LOOP and WSSIDE_JSON not set"),
        f"- Loaded in the running workers (/proc/PID/maps): {', '.join(sorted(engines))}",
        "- No CPU pinning: the workers, the client processes (Node, client.js) and everything "
        "else on the machine share its cores.",
    ]


def render(
    meta: dict[str, Any],
    results: dict[tuple[str, int], list[dict[str, Any]]],
    pubsub: dict[tuple[int, int], list[float]],
) -> str:
    opts = argparse.Namespace(**meta["params"])
    ks = opts.workers
    ncpu = meta["cpus"]
    one = [r["load_before"][0] for runs in results.values() for r in runs]
    load_end = meta["load_end"]
    lines = [
        f"# Scaling with `--workers`, {meta['date']}",
        "",
        *meta["env"],
        f"- Load average (1 min) before the runs: {min(one):.2f}–{max(one):.2f} "
        f"(median {med(one):.2f}); "
        f"at the end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}",
        f"- Command: `{meta['cmd']}`; {opts.runs} run(s) per figure, median (min–max); a fresh "
        f"server for each run of each workload, K interleaved within a run; took "
        f"{meta['took']:.0f} s",
        f"- Workloads: throughput {opts.clients} connections over {opts.client_procs} client "
        f"processes, {opts.duration_s:g} s after {opts.warmup_s:g} s; handshakes "
        f"{opts.handshakes:,} after {opts.handshake_warmup:,} over {opts.handshake_procs} client "
        "processes (each one at a time)"
        + (
            f"; broadcast {opts.receivers} receivers × {opts.messages:,} messages through Redis"
            if opts.redis
            else "; broadcast not run (needs --redis)"
        ),
        "- K = 1 is one process (no supervisor); K > 1 is a supervisor and K workers on one "
        "port (SO_REUSEPORT). Server CPU includes the supervisor.",
        "",
        "Figures are over the window in which every client process was measuring. "
        '"Cores" are CPU-seconds per second: 1.00 = one core busy. Server, client and Redis '
        "CPU are the processes' user+sys time; from /proc/stat: "
        f'"machine busy" is the whole machine\'s busy time (of {ncpu:.2f} here), "others" what '
        "is left of it after the server, clients and Redis (other work on the machine, this "
        'harness), "irq+softirq" the part of the machine\'s time spent in interrupts (on '
        "loopback mostly the network stack; the kernel also charges it to the process that "
        'was running, so it overlaps the figures before it), "steal" time the hypervisor gave '
        "to other guests.",
        "",
    ]
    for workload in [w for w in WORKLOADS if any((w, k) in results for k in ks)]:
        lines += workload_table(workload, ks, results)

    # ---- scaling
    lo, hi = ks[0], ks[-1]
    lines += [
        f"## Scaling from {lo} to {hi} workers",
        "",
        f"- **rate efficiency** = rate at {hi} / ({hi / lo:g} × rate at {lo}): 1.00 means "
        "the rate grew in proportion to the workers;",
        f"- **capacity efficiency** = operations per server CPU-second at {hi} / at {lo}: "
        "1.00 means a core does as much work in a worker of many as in a lone process "
        "(the figure that does not depend on how much CPU the workers got).",
        "",
        "| workload | rate efficiency | capacity efficiency | server cores at "
        f"{lo} → {hi} | client cores at {lo} → {hi} | machine busy at {lo} → {hi} |",
        "|---|---|---|---|---|---|",
    ]
    derived: dict[str, dict[str, float]] = {}
    for workload in WORKLOADS:
        a, b = results.get((workload, lo)), results.get((workload, hi))
        if not a or not b:
            continue
        rate_eff = med([r["rate"] for r in b]) / ((hi / lo) * med([r["rate"] for r in a]))
        cap_eff = med([r["ops_per_cpu_s"] for r in b]) / med([r["ops_per_cpu_s"] for r in a])
        derived[workload] = {
            "rate_eff": rate_eff,
            "cap_eff": cap_eff,
            "cap": med([r["ops_per_cpu_s"] for r in b]),
        }
        moves = [
            f"{med([r[key] for r in a]):.2f} → {med([r[key] for r in b]):.2f}"
            for key in ("server_cores", "client_cores", "machine_cores")
        ]
        lines.append(
            f"| {WORKLOADS[workload][0]} | {rate_eff:.2f} | {cap_eff:.2f} | "
            + " | ".join(moves)
            + " |"
        )
    lines += ["", "What limits the rate here (medians):", ""]
    for workload in derived:
        lines.append(
            f"- {WORKLOADS[workload][0]}: {verdict(workload, lo, hi, results, opts, ncpu)}"
        )
    lines.append("")

    if pubsub:
        lines += redis_section(pubsub)
    lines += projection(opts, derived, results, pubsub, lo, hi)
    lines += per_run(results)
    return "\n".join(lines)


def workload_table(
    workload: str, ks: list[int], results: dict[tuple[str, int], list[dict[str, Any]]]
) -> list[str]:
    title, unit, _ = WORKLOADS[workload]

    def col(key: str, fmt: str) -> Any:
        return lambda runs: spread([r[key] for r in runs], fmt)

    cols: list[tuple[str, Any]] = [
        (f"{unit}/s", col("rate", "{:,.0f}")),
        ("server CPU per op, µs", col("cpu_per_op_us", "{:.2f}")),
        (f"{unit} per server CPU-second", col("ops_per_cpu_s", "{:,.0f}")),
        ("server, cores", col("server_cores", "{:.2f}")),
        (
            "per worker, cores",
            lambda runs: "/".join(
                f"{med([r['worker_cores'][i] for r in runs]):.2f}"
                for i in range(len(runs[0]["worker_cores"]))
            ),
        ),
        ("client, cores", col("client_cores", "{:.2f}")),
    ]
    if workload == "broadcast":
        cols.append(("Redis, cores", col("redis_cores", "{:.3f}")))
    cols += [
        ("others, cores", col("others_cores", "{:.2f}")),
        ("machine busy, cores", col("machine_cores", "{:.2f}")),
        ("irq+softirq, cores", col("irq_cores", "{:.2f}")),
        ("steal, cores", col("steal_cores", "{:.2f}")),
    ]
    if workload != "handshake":
        cols.append(
            (
                "connections per worker (last run)",
                lambda runs: (
                    "/".join(str(c) for c in runs[-1]["conns"]) if runs[-1].get("conns") else "–"
                ),
            )
        )
    cols.append(
        ("load avg before", lambda runs: ", ".join(f"{r['load_before'][0]:.2f}" for r in runs))
    )
    lines = [
        f"## {title}",
        "",
        "| workers | " + " | ".join(c[0] for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for k in ks:
        runs = results.get((workload, k), [])
        if runs:
            lines.append(f"| {k} | " + " | ".join(c[1](runs) for c in cols) + " |")
    if workload == "broadcast":
        lines += [
            "",
            "| workers | Redis CPU per broadcast message, µs | messages per PUBLISH "
            "(the publisher's batching) | PUBLISH calls per run | bytes published per "
            "message |",
            "|---|---|---|---|---|",
        ]
        for k in ks:
            runs = results.get((workload, k), [])
            if runs:
                published = all(r["publishes"] for r in runs)
                lines.append(
                    f"| {k} | {spread([r['redis_us_per_msg'] for r in runs], '{:.3f}')} | "
                    + (
                        spread([r["msgs_per_publish"] for r in runs], "{:.0f}")
                        if published
                        else "–"
                    )
                    + f" | {spread([r['publishes'] for r in runs], '{:.0f}')} | "
                    + (spread([r["bytes_per_msg"] for r in runs], "{:.0f}") if published else "–")
                    + " |"
                )
        lines += [
            "",
            "Redis CPU is from its INFO, less the readings' own cost and Redis's idle rate "
            "(measured for 1 s before each run): 0 means it did not rise above that noise. "
            "With one process every receiver is local: "
            "the sender's worker has delivered before its PUBLISH reaches Redis, so the window "
            "may end before it; Redis's figures mean something from two workers on, where half "
            "the deliveries wait for Redis.",
        ]
    if any(not r["overlap"] for k in ks for r in results.get((workload, k), [])):
        lines += [
            "",
            "(Some runs' client processes did not measure at the same time: "
            "those figures are over the whole span.)",
        ]
    lines.append("")
    return lines


def verdict(
    workload: str,
    lo: int,
    hi: int,
    results: dict[tuple[str, int], list[dict[str, Any]]],
    opts: argparse.Namespace,
    ncpu: int,
) -> str:
    def m(k: int, key: str) -> float:
        return med([r[key] for r in results[(workload, k)]])

    procs = {"throughput": opts.client_procs, "handshake": opts.handshake_procs}.get(workload, 1)
    busy, client = m(hi, "machine_cores"), m(hi, "client_cores")
    share = (
        f"at K = {hi} the workers had {m(hi, 'server_cores'):.2f} cores, the {procs} client "
        f"process(es) {client:.2f} ({client / procs:.2f} each), others {m(hi, 'others_cores'):.2f}"
        f"; at K = {lo} the server had {m(lo, 'server_cores'):.2f}, the clients "
        f"{m(lo, 'client_cores'):.2f}, and the machine was {m(lo, 'machine_cores'):.2f} busy"
    )
    if busy >= 0.85 * ncpu:
        return (
            f"**the machine's {ncpu} cores** ({busy:.2f} busy at K = {hi}): {share}. A second "
            "worker finds no idle core: the load generator and the rest of the machine hold "
            "what it would need, so the rate cannot grow with K here."
        )
    if client / procs >= 0.85:
        return f"**the load generator** (each client process near a full core): {share}."
    return (
        f"**the work in flight** (neither the cores, {busy:.2f} of {ncpu} busy, nor the "
        f"client processes are saturated): {share}."
    )


def redis_section(pubsub: dict[tuple[int, int], list[float]]) -> list[str]:
    lines = [
        "## Redis's own cost per PUBLISH",
        "",
        "One PUBLISH at a time (each reply awaited, as the backplane's publisher sends) to S "
        "subscribers that read as it comes; Redis CPU from its INFO, less the readings and "
        "its idle rate. A 100-byte message is one broadcast as the backplane encodes it "
        "(about 100 bytes for this bench's 64-byte payload); 64 KiB is a batch of several "
        "hundred, as the publisher sends under load.",
        "",
        "| subscribers | message, bytes | Redis CPU per PUBLISH, µs | PUBLISH/s one Redis "
        "core carries | per subscriber, µs |",
        "|---|---|---|---|---|",
    ]
    for (subs, size), values in sorted(pubsub.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        v = med(values)
        lines.append(
            f"| {subs} | {size:,} | {spread(values, '{:.2f}')} | {1e6 / v:,.0f} | {v / subs:.2f} |"
        )
    lines.append("")
    return lines


def projection(
    opts: argparse.Namespace,
    derived: dict[str, dict[str, float]],
    results: dict[tuple[str, int], list[dict[str, Any]]],
    pubsub: dict[tuple[int, int], list[float]],
    lo: int,
    hi: int,
) -> list[str]:
    doublings = max(0.0, math.log2(CORES_TARGET / hi))
    lines = [
        f"## A {CORES_TARGET}-core projection (not a measurement)",
        "",
        f"Projected capacity = {CORES_TARGET} × (operations per server CPU-second at "
        f"K = {hi}, which is per core) × an efficiency factor. Two factors: 1 (the per-core "
        f"capacity measured at K = {hi} holds at {CORES_TARGET} workers), and the capacity "
        f"efficiency from {lo} to {hi} applied once per further doubling ({hi} → "
        f"{CORES_TARGET}: {doublings:g} doublings) when it is below 1. The second is "
        f"pessimistic: at K = {hi} on this machine the workers share {opts.workers[-1]} cores "
        "with the load generator (more runnable processes than cores, so more context "
        "switches, colder caches, and fewer messages per wake-up as each worker gets less of "
        "the load), none of which a worker per core with the clients elsewhere would have.",
        "",
        f"| workload | per core at K = {hi} | × {CORES_TARGET}, factor 1 | "
        "with the measured loss per doubling |",
        "|---|---|---|---|",
    ]
    for workload, d in derived.items():
        loss = min(1.0, d["cap_eff"]) ** doublings
        unit = WORKLOADS[workload][1]
        lines.append(
            f"| {WORKLOADS[workload][0]} | {d['cap']:,.0f} {unit}/s | "
            f"{CORES_TARGET * d['cap']:,.0f} {unit}/s | "
            f"{CORES_TARGET * d['cap'] * loss:,.0f} {unit}/s (× {loss:.2f}) |"
        )
    lines += [
        "",
        "Assumptions:",
        "",
        "- the kernel spreads connections evenly over the workers' SO_REUSEPORT sockets: it "
        "hashes each connection's addresses and ports, so the spread is even on average and "
        f"uneven for few connections (the counts per worker above show it at K = {hi}); a "
        "busy worker does not send new connections elsewhere;",
        "- one worker per core, and each core does what a core did here: no shared limit "
        "appears first (memory bandwidth, the NIC and its interrupts, the kernel's network "
        "stack: on loopback its work for both ends is charged to the processes on this "
        "machine; with a NIC part of it is softirq time on the cores that take the "
        "interrupts);",
        f"- the load generator is elsewhere (here it shares the {opts.workers[-1]} cores with "
        "the workers) and offers enough concurrent work to keep 16 workers busy;",
        "- capacity, not latency: these are rates at saturation; a server should run well "
        "below them.",
    ]
    if "broadcast" in derived:
        bc = results[("broadcast", hi)]
        published = [r for r in bc if r["publishes"]]
        size = med([r["bytes_per_msg"] for r in published]) if published else 100.0
        per_msg = med([r["redis_us_per_msg"] for r in bc])
        batching = med([r["msgs_per_publish"] for r in published]) if published else 0.0
        text = (
            "- broadcast through Redis, which is one thread: one Redis core carries the "
            "broadcasts of every worker and host on it, whatever their cores, and every "
            "PUBLISH is written to every subscribed worker (16 at 16 cores). "
            f"In the broadcast runs (K = {hi}) the publisher sent {batching:.0f} broadcasts "
            f"per PUBLISH ({size:.0f} bytes each), and Redis's CPU "
            + (
                f"was {per_msg:.2f} µs per broadcast"
                if per_msg >= 0.01
                else "did not rise above its idle noise"
            )
        )
        single = pubsub.get((CORES_TARGET, 100))
        batch = pubsub.get((CORES_TARGET, 65536))
        if single:
            text += (
                f"; with {CORES_TARGET} subscribers, one broadcast per PUBLISH costs Redis "
                f"{med(single):.1f} µs: one Redis core saturates at about "
                f"{1e6 / med(single):,.0f} broadcasts/s when each goes alone"
            )
        if batch:
            per = med(batch) / (65536 / size)
            out_bytes = 1e6 / per * size * CORES_TARGET
            text += (
                f", and at about {1e6 / per:,.0f} broadcasts/s in 64 KiB batches "
                f"({per:.2f} µs each), the publisher's behaviour under load (it sends what "
                "accumulated while the previous PUBLISH was in flight); at that rate Redis "
                f"would write {out_bytes / 1e9:.1f} GB/s to its {CORES_TARGET} subscribers, "
                "more than a 10 Gbit/s link carries (1.25 GB/s), so in batches the network "
                "comes before Redis's CPU"
            )
        text += (
            f". In deliveries, multiply by the room size ({opts.receivers} here: the "
            "deliveries are the workers' work, not Redis's). The projected broadcast "
            "capacity holds only while the broadcasts per second stay below Redis's limit; "
            "past it, more cores do not help: shard rooms over several Redis servers."
        )
        lines.append(text)
    lines.append("")
    return lines


def per_run(results: dict[tuple[str, int], list[dict[str, Any]]]) -> list[str]:
    keys: tuple[str, ...] = ("rate", "cpu_per_op_us", "server_cores", "client_cores")
    keys += ("machine_cores",)
    keys += ("others_cores", "irq_cores", "window_s", "conns", "redis_us_per_msg", "publishes")
    lines = ["## Per run", ""]
    for (workload, k), runs in results.items():
        for i, r in enumerate(runs, 1):
            keep = {
                key: (round(v, 3) if isinstance(v, float) else v)
                for key, v in r.items()
                if key in keys
                and not (key == "publishes" and workload != "broadcast")
                and not (key == "redis_us_per_msg" and workload != "broadcast")
            }
            keep["worker_cores"] = [round(v, 2) for v in r["worker_cores"]]
            keep["load_before"] = [round(v, 2) for v in r["load_before"]]
            lines.append(f"- {workload} K={k} run {i}: `{json.dumps(keep)}`")
    lines.append("")
    return lines


def default_out() -> Path:
    day = f"{datetime.now():%Y-%m-%d}"
    path = RESULTS / f"{day}-scaling.md"
    n = 2
    while path.exists():
        path = RESULTS / f"{day}-scaling-{n}.md"
        n += 1
    return path


def write_report(
    meta: dict[str, Any],
    results: dict[tuple[str, int], list[dict[str, Any]]],
    pubsub: dict[tuple[int, int], list[float]],
    out: Path | None,
) -> None:
    report = render(meta, results, pubsub)
    print(report)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report)
        log(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers-list", default="1,2", help="K values, e.g. 1,2")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50, help="throughput connections in all")
    parser.add_argument("--client-procs", type=int, default=2, help="throughput client processes")
    parser.add_argument("--duration-s", type=float, default=10)
    parser.add_argument("--warmup-s", type=float, default=1)
    parser.add_argument("--handshakes", type=int, default=4000, help="measured, in all")
    parser.add_argument("--handshake-warmup", type=int, default=800, help="in all")
    parser.add_argument(
        "--handshake-procs",
        type=int,
        default=4,
        help="handshake client processes (each has one handshake in flight)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also broadcast through a redis-server of our own (--backplane)",
    )
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument(
        "--pubsub-count",
        type=int,
        default=5000,
        help="100-byte PUBLISH calls per case of Redis's own cost (--redis); 64 KiB: 1/25",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny figures, 1 run, writes no file unless --out"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default bench/results/<date>-scaling.md, raw figures beside it "
        "as .raw.json)",
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="re-render a .raw.json (to --out if given)"
    )
    opts = parser.parse_args()
    if opts.report is not None:
        raw = json.loads(opts.report.read_text())
        saved = {(e["workload"], e["k"]): e["runs"] for e in raw["results"]}
        saved_pubsub = {(e["subscribers"], e["size"]): e["values"] for e in raw["pubsub"]}
        write_report(raw["meta"], saved, saved_pubsub, opts.out)
        return
    if opts.smoke:
        opts.runs, opts.clients, opts.duration_s, opts.warmup_s = 1, 10, 2, 0.5
        opts.handshakes, opts.handshake_warmup = 400, 80
        opts.receivers, opts.messages, opts.pubsub_count = 50, 100, 500
    elif opts.out is None:
        opts.out = default_out()
    opts.workers = sorted({int(k) for k in opts.workers_list.split(",")})
    if len(opts.workers) < 2 or opts.workers[0] < 1:
        parser.error("--workers-list needs two or more K >= 1")
    if opts.workers[-1] > (os.cpu_count() or 1):
        log(f"K = {opts.workers[-1]} is more than the {os.cpu_count()} CPUs")
    workloads = [w for w in WORKLOADS if w != "broadcast" or opts.redis]
    if opts.redis and shutil.which("redis-server") is None:
        parser.error("--redis needs redis-server on PATH")

    t0 = time.monotonic()
    date = f"{datetime.now():%Y-%m-%d %H:%M}"
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    pubsub: dict[tuple[int, int], list[float]] = {}
    cases = [(1, 100), (2, 100), (CORES_TARGET, 100), (2, 65536), (CORES_TARGET, 65536)]
    with tempfile.TemporaryDirectory(prefix="wsside-scaling-") as tmp:
        folder = Path(tmp)
        for run in range(opts.runs):
            for workload in workloads:
                order = opts.workers if run % 2 == 0 else opts.workers[::-1]
                for k in order:  # interleaved, alternating: drift hits every K alike
                    figures = run_one(opts, folder, workload, k)
                    results.setdefault((workload, k), []).append(figures)
                    log(
                        f"run {run + 1} {workload} K={k}: {figures['rate']:,.0f}/s, "
                        f"{figures['cpu_per_op_us']:.2f} µs server CPU/op, server "
                        f"{figures['server_cores']:.2f} cores "
                        f"({'/'.join(f'{c:.2f}' for c in figures['worker_cores'])}), client "
                        f"{figures['client_cores']:.2f}, machine {figures['machine_cores']:.2f}, "
                        f"load {figures['load_before'][0]:.2f}"
                    )
            if opts.redis:
                for subs, size in cases:
                    count = opts.pubsub_count if size <= 1024 else max(10, opts.pubsub_count // 25)
                    value = pubsub_cost(folder, subs, count, size)
                    pubsub.setdefault((subs, size), []).append(value)
                log(
                    f"run {run + 1} Redis CPU per PUBLISH (µs) by subscribers×bytes: "
                    + ", ".join(f"{s}×{b}: {v[-1]:.2f}" for (s, b), v in pubsub.items())
                )
    ordered = {
        key: results[key] for w in WORKLOADS for k in opts.workers if (key := (w, k)) in results
    }
    engines = {r["engines"] for runs in ordered.values() for r in runs}
    params = {k: v for k, v in vars(opts).items() if k not in ("out", "report")}
    meta = {
        "date": date,
        "params": params,
        "cpus": os.cpu_count() or 1,
        "env": environment(engines),
        "cmd": " ".join([".venv/bin/python bench/scaling.py", *sys.argv[1:]]),
        "took": time.monotonic() - t0,
        "load_end": list(os.getloadavg()),
    }
    if opts.out is not None:
        raw = opts.out.with_suffix(".raw.json")
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(
            json.dumps(
                {
                    "meta": meta,
                    "results": [
                        {"workload": w, "k": k, "runs": v} for (w, k), v in ordered.items()
                    ],
                    "pubsub": [
                        {"subscribers": s, "size": b, "values": v} for (s, b), v in pubsub.items()
                    ],
                },
                indent=1,
            )
        )
    write_report(meta, ordered, pubsub, opts.out)


if __name__ == "__main__":
    main()
