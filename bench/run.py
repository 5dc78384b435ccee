"""wsside benchmark: the same workloads against five ways of serving the same endpoints.

    make bench                      # or: .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --quick [--out FILE]     # tiny smoke run (CI)
    .venv/bin/python bench/run.py --variants direct,handover --workloads throughput --runs 1

Workloads: latency, throughput, json-latency, json-throughput, broadcast, handshake, memory.
The json-* ones (a 64-byte JSON object to /api/ws/user-echo, parsed and re-encoded by the
server, as a user's handler of the original plugin does) run for direct, handover and node only.

Variants (all on 127.0.0.1, all started fresh for each run of each workload):
  direct    `wsside serve` (the limit)
  handover  wsside through Vite, sockets handed over (SCM_RIGHTS)
  pipe      wsside through Vite with the pipe fallback (HTTPS dev server: the shim has no
            switch to force the pipe, so TLS is terminated in Node and the client speaks TLS)
  proxy     Vite's own server.proxy (ws: true) in front of `wsside serve`
  node      pure Node: a Vite plugin serving the endpoints with the `ws` library

Servers run on CPU 0 and the load generator (client.js) on CPU 1 when `taskset` and two
CPUs are there. Server CPU comes from /proc/PID/stat of every server process, sampled when
the client starts and ends its measured phase. Every figure is the median of the runs
(3 by default) with min-max; the markdown table is printed and written to
bench/results/<date>.md, or <date>-N.md after an earlier run that day (raw figures beside it
as .raw.json). Method: bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
VITE_APP = BENCH / "vite_app"
HANDLERS = BENCH / "handlers"
CLIENT = BENCH / "client.js"
PYTHON = sys.executable

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def serve_command(*options: str) -> list[str]:
    """`wsside serve` of bench/handlers on this Python, with `options`."""
    return [PYTHON, "-m", "wsside", "serve", "--handlers", str(HANDLERS), *options]


VARIANTS = {
    "direct": "(1) wsside serve",
    "handover": "(2) Vite + wsside, hand-over",
    "pipe": "(3) Vite + wsside, pipe (HTTPS)",
    "proxy": "(4) Vite server.proxy → wsside",
    "node": "(5) Vite + ws (pure Node)",
}
WORKLOADS = (
    "latency",
    "throughput",
    "json-latency",
    "json-throughput",
    "broadcast",
    "handshake",
    "memory",
)
# Workloads that run for some variants only (to keep `make bench` short); the others show "–".
WORKLOAD_VARIANTS = {
    "json-latency": ("direct", "handover", "node"),
    "json-throughput": ("direct", "handover", "node"),
}

FULL = dict(
    latency_warmup=1000,
    latency_count=20000,
    clients=50,
    warmup_s=1.0,
    duration_s=10.0,
    receivers=500,
    messages=1000,
    handshakes=2000,
    handshake_warmup=500,
    idle=5000,
    settle_s=3.0,
    settled_s=45.0,
    runs=3,
)
QUICK = dict(
    latency_warmup=50,
    latency_count=200,
    clients=5,
    warmup_s=0.1,
    duration_s=0.3,
    receivers=20,
    messages=50,
    handshakes=30,
    handshake_warmup=5,
    idle=100,
    settle_s=0.2,
    settled_s=0.4,
    runs=1,
)

# The user-level JSON echo: a 64-byte compact JSON object that survives a parse and a
# re-encode byte for byte in both servers (Python: compact separators, non-ASCII as is, key
# order kept; JavaScript: JSON.stringify), so client.js can check every reply against it.
JSON_PATH = "/api/ws/user-echo"
_JSON_HEAD, _JSON_TAIL = '{"type":"chat","room":"lobby","text":"', '"}'
_JSON_TEXT = "hello from the bench ".ljust(64 - len(_JSON_HEAD) - len(_JSON_TAIL), "x")
JSON_PAYLOAD = _JSON_HEAD + _JSON_TEXT + _JSON_TAIL
assert len(JSON_PAYLOAD.encode()) == 64, len(JSON_PAYLOAD.encode())
_ROUND_TRIP = json.dumps(json.loads(JSON_PAYLOAD), separators=(",", ":"), ensure_ascii=False)
assert _ROUND_TRIP == JSON_PAYLOAD, _ROUND_TRIP


def runs_on(workload: str, variant: str) -> bool:
    """Whether `workload` is measured for `variant` (WORKLOAD_VARIANTS)."""
    return variant in WORKLOAD_VARIANTS.get(workload, (variant,))


READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---- processes -----------------------------------------------------------------------------


def pinning() -> tuple[list[str], list[str]]:
    """(server prefix, client prefix) for the command line: CPU 0 and CPU 1 when possible."""
    if shutil.which("taskset") and len(os.sched_getaffinity(0)) >= 2:
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+sys) of a live process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def rss_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except OSError:
        return 0


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def role_of(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    if any(b"wsside" in part for part in cmd) and b"serve" in cmd:
        return "sidecar"
    if cmd and Path(cmd[0].decode()).name.startswith("node"):
        return "vite"
    return "other"


@dataclass
class Servers:
    """The server processes of one variant, started by us; stopped by pid."""

    port: int
    tls: bool
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def pids(self) -> dict[int, str]:
        """Every server process (ours and their descendants) by role: vite, sidecar, other."""
        return {pid: role_of(pid) for p in self.procs for pid in descendants(p.pid)}

    def cpu(self) -> dict[int, tuple[str, float]]:
        sample = {}
        for pid, role in self.pids().items():
            stat = proc_stat(pid)
            if stat is not None:
                sample[pid] = (role, stat[1])
        return sample

    def rss(self) -> dict[str, int]:
        by_role: dict[str, int] = {}
        for pid, role in self.pids().items():
            by_role[role] = by_role.get(role, 0) + rss_kb(pid)
        return by_role

    def sidecar_modules(self) -> set[str]:
        """Which of uvloop and orjson the sidecar processes have loaded (their extension
        modules in /proc/PID/maps): what the sidecar really picked, beside what its rules say."""
        found = set()
        for pid, role in self.pids().items():
            if role != "sidecar":
                continue
            try:
                maps = Path(f"/proc/{pid}/maps").read_text()
            except OSError:
                continue
            found.update(name for name in ("uvloop", "orjson") if f"/{name}/" in maps)
        return found

    def stop(self) -> None:
        every = [pid for p in self.procs for pid in descendants(p.pid)]
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # The sidecar exits with Vite; Vite's esbuild service would linger for ~2 s.
        for sig, grace in ((signal.SIGTERM, 0.5), (signal.SIGKILL, 2.0)):
            deadline = time.monotonic() + grace
            while any(proc_stat(pid) for pid in every) and time.monotonic() < deadline:
                time.sleep(0.02)
            for pid in every:
                if proc_stat(pid) is not None:
                    os.kill(pid, sig)

    def tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:])
            for p in self.logs
            if p.exists()
        )


def probe(port: int, tls: bool, timeout: float = 2.0) -> bool:
    """True once a WebSocket handshake to the echo endpoint gets its 101."""
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return False
    try:
        sock: socket.socket = raw
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
        sock.sendall(
            f"GET /api/ws/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return False
            head += chunk
        return head.startswith(b"HTTP/1.1 101")
    except OSError:
        return False
    finally:
        raw.close()


class Launcher:
    """Starts each variant's servers, pinned, with logs in a scratch folder."""

    def __init__(self, scratch: Path, server_pin: list[str]) -> None:
        self.scratch = scratch
        self.pin = server_pin
        self.cert_dir = scratch / "cert"
        self.count = 0

    def _spawn(
        self,
        servers: Servers,
        name: str,
        cmd: list[str],
        cwd: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.count += 1
        path = self.scratch / f"{self.count:03d}-{name}.log"
        servers.logs.append(path)
        with path.open("wb") as out:
            servers.procs.append(
                subprocess.Popen(
                    self.pin + cmd,
                    cwd=cwd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **(env or {})},
                )
            )

    def _wsside(self, servers: Servers, port: int) -> None:
        self._spawn(
            servers,
            "wsside",
            serve_command("--port", str(port)),
            cwd=BENCH,
        )

    def _vite(self, servers: Servers, variant: str, env: dict[str, str]) -> None:
        env = {
            "BENCH_VARIANT": variant,
            "WSSIDE_PYTHON": PYTHON,
            "BENCH_CERT_DIR": str(self.cert_dir),
            **env,
        }
        self._spawn(
            servers,
            f"vite-{variant}",
            ["node", "node_modules/vite/bin/vite.js", "--port", str(servers.port)],
            cwd=VITE_APP,
            env=env,
        )

    def start(self, variant: str) -> Servers:
        return self.wait_ready(variant, self.spawn(variant))

    def spawn(self, variant: str) -> Servers:
        servers = Servers(port=free_port(), tls=variant == "pipe")
        if variant == "direct":
            self._wsside(servers, servers.port)
        elif variant == "proxy":
            upstream = free_port()
            self._wsside(servers, upstream)
            self._vite(servers, variant, {"BENCH_UPSTREAM_PORT": str(upstream)})
        else:
            self._vite(servers, variant, {})
        return servers

    def wait_ready(self, variant: str, servers: Servers) -> Servers:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not probe(servers.port, servers.tls):
            if time.monotonic() > deadline or any(p.poll() is not None for p in servers.procs):
                servers.stop()
                raise RuntimeError(f"{variant}: servers did not become ready\n{servers.tail()}")
            time.sleep(0.1)
        time.sleep(0.3)  # let start-up work (module loading, first GC) settle
        return servers

    def make_cert(self) -> None:
        self.cert_dir.mkdir(exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(self.cert_dir / "key.pem"),
                "-out",
                str(self.cert_dir / "cert.pem"),
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )


# ---- the load generator --------------------------------------------------------------------


class Client:
    """One client.js run; calls `on_event(event)` for each start/end/ready line."""

    def __init__(
        self, pin: list[str], servers: Servers, mode: str, args: list[str], timeout_s: float
    ) -> None:
        cmd = [
            *pin,
            "node",
            str(CLIENT),
            mode,
            "--port",
            str(servers.port),
            "--timeout-s",
            str(timeout_s),
            *args,
        ]
        if servers.tls:
            cmd.append("--tls")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # Bounded even if the client hangs in a way its own timer cannot catch.
        self.watchdog = threading.Timer(timeout_s + 15, self.proc.kill)
        self.watchdog.start()

    def events(self) -> Iterator[dict[str, Any]]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            yield json.loads(line)

    def finish(self) -> None:
        self.watchdog.cancel()
        self.proc.wait()
        if self.proc.returncode != 0:
            assert self.proc.stderr is not None
            raise RuntimeError(
                f"client.js failed ({self.proc.returncode}): {self.proc.stderr.read().strip()}"
            )


def cpu_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    by_role: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        start = before.get(pid, (role, 0.0))[1]
        by_role[role] = by_role.get(role, 0.0) + seconds - start
    by_role["total"] = sum(by_role.values())
    return by_role


def measure(
    pin: list[str],
    servers: Servers,
    mode: str,
    args: list[str],
    timeout_s: float,
    on_ready: Callable[[Client], None] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The client's result and the server CPU (seconds, by role) over its measured phase."""
    client = Client(pin, servers, mode, args, timeout_s)
    before = after = None
    result: dict[str, Any] = {}
    try:
        for event in client.events():
            kind = event["event"]
            if kind == "start":
                before = servers.cpu()
            elif kind == "end":
                after = servers.cpu()
            elif kind == "ready" and on_ready is not None:
                on_ready(client)
            elif kind == "result":
                result = event
    finally:
        client.finish()
    cpu = cpu_delta(before, after) if before is not None and after is not None else {}
    return result, cpu


# ---- workloads: each returns {metric: value} for one run -------------------------------------


def client_pct(result: dict[str, Any]) -> float:
    return 100.0 * result["client_cpu_s"] / result["seconds"]


def per_role(prefix: str, cpu: dict[str, float], n: int, scale: float = 1e6) -> dict[str, float]:
    return {
        f"{prefix}_{role}": seconds * scale / n for role, seconds in cpu.items() if role != "other"
    }


JSON_ARGS = ["--path", JSON_PATH, "--payload", JSON_PAYLOAD]


def latency_run(ctx: Context, servers: Servers, prefix: str, extra: list[str]) -> dict[str, float]:
    p = ctx.params
    result, _ = measure(
        ctx.client_pin,
        servers,
        "latency",
        [*extra, "--warmup", str(p["latency_warmup"]), "--count", str(p["latency_count"])],
        120,
    )
    return {
        f"{prefix}_p50": result["p50_us"],
        f"{prefix}_p99": result["p99_us"],
        f"{prefix}_client": client_pct(result),
    }


def throughput_run(
    ctx: Context, servers: Servers, prefix: str, extra: list[str]
) -> dict[str, float]:
    """`<prefix>tput`, `<prefix>rt_cpu_<role>`, `<prefix>tput_server`, `<prefix>tput_client`."""
    p = ctx.params
    result, cpu = measure(
        ctx.client_pin,
        servers,
        "throughput",
        [
            *extra,
            "--clients",
            str(p["clients"]),
            "--warmup-s",
            str(p["warmup_s"]),
            "--duration-s",
            str(p["duration_s"]),
        ],
        60 + p["duration_s"],
    )
    n = result["round_trips"]
    return {
        f"{prefix}tput": result["rate"],
        **per_role(f"{prefix}rt_cpu", cpu, n),
        f"{prefix}tput_server": 100.0 * cpu["total"] / result["seconds"],
        f"{prefix}tput_client": client_pct(result),
    }


def w_latency(ctx: Context, servers: Servers) -> dict[str, float]:
    return latency_run(ctx, servers, "lat", [])


def w_throughput(ctx: Context, servers: Servers) -> dict[str, float]:
    return throughput_run(ctx, servers, "", [])


def w_json_latency(ctx: Context, servers: Servers) -> dict[str, float]:
    return latency_run(ctx, servers, "jlat", JSON_ARGS)


def w_json_throughput(ctx: Context, servers: Servers) -> dict[str, float]:
    return throughput_run(ctx, servers, "j", JSON_ARGS)


def w_broadcast(ctx: Context, servers: Servers) -> dict[str, float]:
    p = ctx.params
    result, cpu = measure(
        ctx.client_pin,
        servers,
        "broadcast",
        [
            "--path",
            "/api/ws/bcast",
            "--sender-path",
            "/api/ws/bcast?role=sender",
            "--receivers",
            str(p["receivers"]),
            "--messages",
            str(p["messages"]),
        ],
        120,
    )
    n = result["deliveries"]
    return {
        "bcast": result["rate"],
        **per_role("bcast_cpu", cpu, n),
        "bcast_client": client_pct(result),
    }


def w_handshake(ctx: Context, servers: Servers) -> dict[str, float]:
    p = ctx.params
    result, cpu = measure(
        ctx.client_pin,
        servers,
        "handshake",
        ["--warmup", str(p["handshake_warmup"]), "--count", str(p["handshakes"])],
        120,
    )
    return {
        "hs": result["rate"],
        **per_role("hs_cpu", cpu, result["connections"]),
        "hs_client": client_pct(result),
        "hs_cold": result["warmup_rate"],
    }


def w_memory(ctx: Context, servers: Servers) -> dict[str, float]:
    """RSS growth with idle connections, twice: `settle_s` after the last connect (as soon as
    the connections are made) and `settled_s` after it, once V8's memory reducer has given
    back the garbage of the connects (it waits for ~8 s of idleness, then collects)."""
    p = ctx.params
    before = servers.rss()
    samples: list[dict[str, int]] = []

    def on_ready(client: Client) -> None:
        t0 = time.monotonic()
        for at in (p["settle_s"], p["settled_s"])[: 2 if p["settled_s"] > p["settle_s"] else 1]:
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            samples.append(servers.rss())
        assert client.proc.stdin is not None
        client.proc.stdin.close()

    result, _ = measure(ctx.client_pin, servers, "idle", ["--count", str(p["idle"])], 180, on_ready)
    if result.get("lost"):
        raise RuntimeError(f"{result['lost']} idle connections were closed by the server")
    out: dict[str, float] = {}
    for prefix, held in zip(("mem", "mem_settled"), samples, strict=False):
        # Vite's node and the sidecar; Vite's esbuild service is the same in every Vite variant.
        total = held.get("vite", 0) + held.get("sidecar", 0)
        base = before.get("vite", 0) + before.get("sidecar", 0)
        out[f"{prefix}_total"] = total / 1024
        out[f"{prefix}_per_conn"] = (total - base) / p["idle"]
        for role in ("vite", "sidecar"):
            if role in held:
                out[f"{prefix}_{role}"] = held[role] / 1024
                out[f"{prefix}_per_conn_{role}"] = (held[role] - before.get(role, 0)) / p["idle"]
    out["mem_base"] = (before.get("vite", 0) + before.get("sidecar", 0)) / 1024
    return out


WORKLOAD_FUNCS = {
    "latency": w_latency,
    "throughput": w_throughput,
    "json-latency": w_json_latency,
    "json-throughput": w_json_throughput,
    "broadcast": w_broadcast,
    "handshake": w_handshake,
    "memory": w_memory,
}


@dataclass
class Context:
    params: dict[str, Any]
    client_pin: list[str]
    launcher: Launcher


# ---- the report ---------------------------------------------------------------------------

# (key, label, format, higher is better)
ROWS = [
    ("lat_p50", "Latency p50, µs", "{:.1f}", False),
    ("lat_p99", "Latency p99, µs", "{:.1f}", False),
    ("lat_client", "  client CPU, % of its core", "{:.0f}", None),
    ("tput", "Throughput, round trips/s (50 clients)", "{:,.0f}", True),
    ("rt_cpu_total", "Server CPU per round trip, µs (all server processes)", "{:.2f}", False),
    ("rt_cpu_vite", "  of which Vite's node, µs", "{:.2f}", None),
    ("rt_cpu_sidecar", "  of which the Python sidecar, µs", "{:.2f}", None),
    (
        "tput_cap",
        "  round trips per server CPU-second (contention-proof capacity)",
        "{:,.0f}",
        True,
    ),
    ("tput_server", "  server CPU, % of a core", "{:.0f}", None),
    ("tput_client", "  client CPU, % of its core", "{:.0f}", None),
    ("jlat_p50", "JSON echo latency p50, µs", "{:.1f}", False),
    ("jlat_p99", "JSON echo latency p99, µs", "{:.1f}", False),
    ("jlat_client", "  client CPU, % of its core", "{:.0f}", None),
    ("jtput", "JSON echo throughput, round trips/s (50 clients)", "{:,.0f}", True),
    ("jrt_cpu_total", "Server CPU per JSON round trip, µs (all server processes)", "{:.2f}", False),
    ("jrt_cpu_vite", "  of which Vite's node, µs", "{:.2f}", None),
    ("jrt_cpu_sidecar", "  of which the Python sidecar, µs", "{:.2f}", None),
    ("jtput_cap", "  JSON round trips per server CPU-second", "{:,.0f}", True),
    ("jtput_server", "  server CPU, % of a core", "{:.0f}", None),
    ("jtput_client", "  client CPU, % of its core", "{:.0f}", None),
    ("bcast", "Broadcast, deliveries/s (500 receivers)", "{:,.0f}", True),
    ("bcast_cpu_total", "Broadcast, server CPU per delivery, µs", "{:.2f}", False),
    ("bcast_cap", "  deliveries per server CPU-second", "{:,.0f}", True),
    ("bcast_cpu_vite", "  of which Vite's node, µs", "{:.2f}", None),
    ("bcast_cpu_sidecar", "  of which the Python sidecar, µs", "{:.2f}", None),
    ("bcast_client", "  client CPU, % of its core", "{:.0f}", None),
    ("hs", "Handshakes/s (sequential)", "{:,.0f}", True),
    ("hs_cpu_total", "Server CPU per connection, µs", "{:.0f}", False),
    ("hs_cap", "  handshakes per server CPU-second", "{:,.0f}", True),
    ("hs_cpu_vite", "  of which Vite's node, µs", "{:.0f}", None),
    ("hs_cpu_sidecar", "  of which the Python sidecar, µs", "{:.0f}", None),
    ("hs_client", "  client CPU, % of its core", "{:.0f}", None),
    (
        "hs_cold",
        "  during the warm-up (fresh servers, not in the figure above), handshakes/s",
        "{:,.0f}",
        True,
    ),
    ("mem_total", "RSS with the idle connections, MB (all server processes)", "{:.1f}", False),
    ("mem_vite", "  of which Vite's node, MB", "{:.1f}", None),
    ("mem_sidecar", "  of which the Python sidecar, MB", "{:.1f}", None),
    ("mem_base", "  RSS before the clients connected, MB", "{:.1f}", None),
    ("mem_per_conn", "RSS growth per idle connection, KB", "{:.1f}", False),
    ("mem_per_conn_vite", "  of which Vite's node, KB", "{:.1f}", None),
    ("mem_per_conn_sidecar", "  of which the Python sidecar, KB", "{:.1f}", None),
    ("mem_settled_total", "RSS with the idle connections once settled, MB", "{:.1f}", False),
    ("mem_settled_per_conn", "RSS growth per idle connection once settled, KB", "{:.1f}", False),
    ("mem_settled_per_conn_vite", "  of which Vite's node, KB", "{:.1f}", None),
    ("mem_settled_per_conn_sidecar", "  of which the Python sidecar, KB", "{:.1f}", None),
]


# Capacity per server CPU-second, from the CPU per operation of the same run: unlike a rate,
# it does not depend on how much of CPU 0 other processes on the machine took meanwhile.
DERIVED = {
    "tput_cap": "rt_cpu_total",
    "jtput_cap": "jrt_cpu_total",
    "bcast_cap": "bcast_cpu_total",
    "hs_cap": "hs_cpu_total",
}


def derive(raw: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
    out = {}
    for variant, figures in raw.items():
        figures = dict(figures)
        for key, source in DERIVED.items():
            if all(figures.get(source, [0])):
                figures[key] = [1e6 / v for v in figures[source]]
        out[variant] = figures
    return out


def summarise(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def cell(fmt: str, values: list[float] | None) -> str:
    if not values:
        return "–"
    med, lo, hi = summarise(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(lo)}–{fmt.format(hi)})"


def median_of(raw: dict[str, dict[str, list[float]]], variant: str, key: str) -> float | None:
    values = raw.get(variant, {}).get(key)
    return statistics.median(values) if values else None


def table(raw: dict[str, dict[str, list[float]]], variants: list[str]) -> str:
    others = [v for v in variants if v != "direct"] if "direct" in variants else []
    head = ["Metric", *(VARIANTS[v] for v in variants), *(f"{v}/direct" for v in others)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, fmt, _ in ROWS:
        if not any(raw.get(v, {}).get(key) for v in variants):
            continue
        cells = [cell(fmt, raw.get(v, {}).get(key)) for v in variants]
        ratios = []
        base = median_of(raw, "direct", key)
        for v in others:
            value = median_of(raw, v, key)
            ratios.append(f"{value / base:.2f}" if value is not None and base else "–")
        lines.append("| " + " | ".join([label, *cells, *ratios]) + " |")
    return "\n".join(lines)


# (description, numerator variant, key, denominator variant, key, direction, bound): met when
# the ratio of the medians, numerator/denominator, is ">=" or "<=" the bound.
Target = tuple[str, str, str, str, str, str, float]

TARGETS: list[Target] = [
    ("hand-over throughput ≥ 0.95× direct", "handover", "tput", "direct", "tput", ">=", 0.95),
    ("  same, per server CPU-second", "handover", "tput_cap", "direct", "tput_cap", ">=", 0.95),
    (
        "hand-over CPU per round trip: direct/hand-over ≥ 0.95",
        "direct",
        "rt_cpu_total",
        "handover",
        "rt_cpu_total",
        ">=",
        0.95,
    ),
    ("hand-over throughput ≥ 2× Vite server.proxy", "handover", "tput", "proxy", "tput", ">=", 2.0),
    ("  same, per server CPU-second", "handover", "tput_cap", "proxy", "tput_cap", ">=", 2.0),
    (
        "hand-over broadcast deliveries/s ≥ pure Node",
        "handover",
        "bcast",
        "node",
        "bcast",
        ">=",
        1.0,
    ),
    ("  same, per server CPU-second", "handover", "bcast_cap", "node", "bcast_cap", ">=", 1.0),
    (
        "hand-over memory per idle connection ≤ pure Node, settled",
        "node",
        "mem_settled_per_conn",
        "handover",
        "mem_settled_per_conn",
        ">=",
        1.0,
    ),
    (
        "  same, just after connecting",
        "node",
        "mem_per_conn",
        "handover",
        "mem_per_conn",
        ">=",
        1.0,
    ),
    ("hand-over handshakes/s ≥ 0.8× direct", "handover", "hs", "direct", "hs", ">=", 0.8),
    ("  same, per server CPU-second", "handover", "hs_cap", "direct", "hs_cap", ">=", 0.8),
]

# Issue 19: Python through Vite (the hand-over) against pure Node (`ws` inside Vite).
NODE_TARGETS: list[Target] = [
    (
        "raw echo throughput (round trips/s): hand-over/node ≥ 1.0",
        "handover",
        "tput",
        "node",
        "tput",
        ">=",
        1.0,
    ),
    ("  same, per server CPU-second", "handover", "tput_cap", "node", "tput_cap", ">=", 1.0),
    (
        "raw echo server CPU per round trip: node/hand-over ≥ 1.0",
        "node",
        "rt_cpu_total",
        "handover",
        "rt_cpu_total",
        ">=",
        1.0,
    ),
    (
        "JSON echo throughput (round trips/s): hand-over/node ≥ 1.0",
        "handover",
        "jtput",
        "node",
        "jtput",
        ">=",
        1.0,
    ),
    ("  same, per server CPU-second", "handover", "jtput_cap", "node", "jtput_cap", ">=", 1.0),
    (
        "JSON echo server CPU per round trip: node/hand-over ≥ 1.0",
        "node",
        "jrt_cpu_total",
        "handover",
        "jrt_cpu_total",
        ">=",
        1.0,
    ),
    (
        "raw echo latency p50: hand-over/node ≤ 1.0",
        "handover",
        "lat_p50",
        "node",
        "lat_p50",
        "<=",
        1.0,
    ),
    (
        "raw echo latency p99: hand-over/node ≤ 1.0",
        "handover",
        "lat_p99",
        "node",
        "lat_p99",
        "<=",
        1.0,
    ),
    (
        "JSON echo latency p50: hand-over/node ≤ 1.0",
        "handover",
        "jlat_p50",
        "node",
        "jlat_p50",
        "<=",
        1.0,
    ),
    (
        "JSON echo latency p99: hand-over/node ≤ 1.0",
        "handover",
        "jlat_p99",
        "node",
        "jlat_p99",
        "<=",
        1.0,
    ),
    (
        "broadcast deliveries/s: hand-over/node ≥ 1.2",
        "handover",
        "bcast",
        "node",
        "bcast",
        ">=",
        1.2,
    ),
    ("  same, per server CPU-second", "handover", "bcast_cap", "node", "bcast_cap", ">=", 1.2),
    ("handshakes/s: hand-over/direct ≥ 0.95", "handover", "hs", "direct", "hs", ">=", 0.95),
    ("  same, per server CPU-second", "handover", "hs_cap", "direct", "hs_cap", ">=", 0.95),
    ("handshakes/s: hand-over/node ≥ 1.0", "handover", "hs", "node", "hs", ">=", 1.0),
    ("  same, per server CPU-second", "handover", "hs_cap", "node", "hs_cap", ">=", 1.0),
    (
        "memory per idle connection, settled: hand-over/node ≤ 1.0",
        "handover",
        "mem_settled_per_conn",
        "node",
        "mem_settled_per_conn",
        "<=",
        1.0,
    ),
    (
        "  same, {settle_s} s after the last connect",
        "handover",
        "mem_per_conn",
        "node",
        "mem_per_conn",
        "<=",
        1.0,
    ),
]


def targets(
    raw: dict[str, dict[str, list[float]]], rows: list[Target], params: dict[str, Any]
) -> str:
    lines = ["| Target | Ratio | Met |", "|---|---|---|"]
    for text, a, ka, b, kb, direction, bound in rows:
        x, y = median_of(raw, a, ka), median_of(raw, b, kb)
        if x is None or not y:
            continue
        # Compared as x against bound × y rather than through the ratio, so that a negative
        # figure (a settled RSS growth can be one) still compares the right way round.
        met = x >= bound * y if direction == ">=" else x <= bound * y
        ratio = f"{x / y:.2f}" if y > 0 else f"– ({x:.2f} against {y:.2f})"
        text = text.replace("{settle_s}", f"{params.get('settle_s', 3.0):g}")
        lines.append(f"| {text} | {ratio} | {'yes' if met else '**no**'} |")
    if len(lines) == 2:
        lines.append("| (none of these figures were measured in this run) | – | – |")
    return "\n".join(lines)


def command_version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def sidecar_speedups() -> str:
    """The event loop and JSON encoder the sidecar picks, by its own rules, in this Python and
    this environment (the servers inherit it): uvloop when installed unless WSSIDE_LOOP=asyncio,
    orjson for encoding when installed unless WSSIDE_JSON=json."""
    uvloop, orjson = installed("uvloop"), installed("orjson")
    loop_env = os.environ.get("WSSIDE_LOOP")
    json_env = os.environ.get("WSSIDE_JSON")
    choice = (loop_env or "").strip().lower() or "auto"
    if choice not in ("auto", "asyncio", "uvloop"):
        loop = "none: the sidecar refuses this WSSIDE_LOOP"
    elif choice == "asyncio" or uvloop is None:
        loop = "none: WSSIDE_LOOP=uvloop without uvloop" if choice == "uvloop" else "asyncio"
    else:
        loop = "uvloop"
    encoder = "json" if (json_env or "").strip().lower() == "json" or orjson is None else "orjson"
    settings = [
        f"{name}={value!r}"
        for name, value in (("WSSIDE_LOOP", loop_env), ("WSSIDE_JSON", json_env))
        if value is not None
    ]
    return (
        f"- Sidecar: event loop {loop}, JSON encoder {encoder} "
        f"(uvloop {uvloop or 'not installed'}, orjson {orjson or 'not installed'}; "
        + (", ".join(settings) if settings else "WSSIDE_LOOP and WSSIDE_JSON not set")
        + ")"
    )


def environment(pinned: bool, sidecar_known: bool = True) -> list[str]:
    """This machine's environment; `sidecar_known=False` when it is re-rendering a raw file
    that did not record the sidecar's event loop and JSON encoder (before they were saved)."""
    import aiohttp

    def pkg_version(path: Path) -> str:
        try:
            return json.loads(path.read_text())["version"]
        except OSError:
            return "?"

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    nm = VITE_APP / "node_modules"
    return [
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}",
        f"- Node {command_version(['node', '--version'])}, "
        f"Vite {pkg_version(nm / 'vite/package.json')}, "
        f"ws {pkg_version(nm / 'ws/package.json')}; CPython {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}",
        sidecar_speedups()
        if sidecar_known
        else "- Sidecar: event loop and JSON encoder not recorded in the raw file",
        "- Pinning: "
        + (
            "servers on CPU 0, client on CPU 1 (taskset)"
            if pinned
            else "none (taskset or a second CPU missing)"
        ),
    ]


def with_modules(env_lines: list[str], modules: dict[str, list[str]]) -> list[str]:
    """The environment lines with, after the sidecar's, what the running sidecars had loaded,
    by variant (pure Node has none)."""
    if not modules:
        return env_lines
    groups: dict[str, list[str]] = {}
    for variant, names in modules.items():
        loaded = [name for name in ("uvloop", "orjson") if name in names]
        key = " and ".join(loaded) if loaded else "neither uvloop nor orjson"
        groups.setdefault(key, []).append(variant)
    line = "- Loaded in the running sidecars (/proc/PID/maps): " + "; ".join(
        f"{names} ({', '.join(variants)})" for names, variants in groups.items()
    )
    at = next(
        (i + 1 for i, text in enumerate(env_lines) if text.startswith("- Sidecar:")), len(env_lines)
    )
    return [*env_lines[:at], line, *env_lines[at:]]


def report(
    raw: dict[str, dict[str, list[float]]],
    variants: list[str],
    params: dict[str, Any],
    loads: list[tuple[float, float, float]],
    pinned: bool,
    quick: bool,
    elapsed: float,
    env_lines: list[str] | None = None,
    modules: dict[str, list[str]] | None = None,
) -> str:
    """The markdown. `env_lines`: the environment as saved with the raw figures (default:
    this machine now); `modules`: what the sidecars had loaded, by variant."""
    raw = derive(raw)
    load_text = ", ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in loads)
    runs = params["runs"]
    out = [
        f"# wsside benchmark, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}"
        + (" (--quick smoke run: not a measurement)" if quick else ""),
        "",
        *with_modules(env_lines if env_lines is not None else environment(pinned), modules or {}),
        f"- Load average (1/5/15 min) before each run and at the end: {load_text}",
        f"- {runs} run(s) per figure: median (min–max); every variant started fresh for each run "
        f"of each workload{' (quick: all at once, once per variant)' if quick else ''}; "
        f"took {elapsed:.0f} s",
        f"- Workloads: latency {params['latency_count']:,} sequential 64-byte echoes after "
        f"{params['latency_warmup']:,}; throughput {params['clients']} clients for "
        f"{params['duration_s']:g} s after {params['warmup_s']:g} s; broadcast "
        f"{params['receivers']} receivers × {params['messages']} messages; "
        f"{params['handshakes']:,} sequential handshakes after "
        f"{params.get('handshake_warmup', 0):,}; memory with {params['idle']:,} idle "
        f"connections, sampled {params['settle_s']:g} s"
        + (
            f" and (settled) {params['settled_s']:g} s"
            if params.get("settled_s", 0) > params["settle_s"]
            else ""
        )
        + " after the last connect"
        + (
            f"; JSON echo: latency and throughput as above with a "
            f"{len(JSON_PAYLOAD.encode())}-byte JSON object to {JSON_PATH}, which the server "
            "parses and re-encodes "
            f"({', '.join(WORKLOAD_VARIANTS['json-throughput'])} only)"
            if any(raw.get(v, {}).get(k) for v in raw for k in ("jlat_p50", "jtput"))
            else ""
        ),
        "- The pipe variant runs over HTTPS (TLS in Vite and in the client): the shim pipes only "
        "when it cannot hand over.",
        "",
        table(raw, variants),
        "",
        "## Targets",
        "",
        targets(raw, TARGETS, params),
        "",
        "## Against pure Node (issue 19)",
        "",
        "Ratios of the medians; each row says which way round the ratio is taken and which way "
        "it must go.",
        "",
        targets(raw, NODE_TARGETS, params),
        "",
    ]
    return "\n".join(out)


# ---- main -------------------------------------------------------------------------------


def ensure_vite_app() -> None:
    if (
        not (VITE_APP / "node_modules" / "vite").is_dir()
        or not (VITE_APP / "node_modules" / "ws").is_dir()
    ):
        log("npm install in bench/vite_app")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=VITE_APP,
            check=True,
            timeout=300,
        )


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, needed))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < needed:
        log(f"warning: open-file limit {want} is below the {needed} the memory workload needs")


def fresh_results_path(day: datetime.date) -> Path:
    """bench/results/<day>.md, or <day>-N.md after the day's last run (<day>.md counting as
    1): earlier runs are kept, and the newest has the highest number."""
    results = BENCH / "results"
    runs = [
        1 if p.stem == str(day) else int(p.stem.rsplit("-", 1)[1])
        for p in results.glob(f"{day}*.md")
        if p.stem == str(day) or re.fullmatch(rf"{day}-\d+", p.stem)
    ]
    return results / (f"{day}-{max(runs) + 1}.md" if runs else f"{day}.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny smoke run (seconds, not a measurement)"
    )
    parser.add_argument("--runs", type=int, help="runs per figure [3; quick: 1]")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    parser.add_argument(
        "--settle-s",
        type=float,
        metavar="SECONDS",
        help="memory workload: wait between the last connect and the first RSS "
        "sample [3; quick: 0.2]",
    )
    parser.add_argument(
        "--settled-s",
        type=float,
        metavar="SECONDS",
        help="memory workload: the second ('settled') sample, this long after "
        "the last connect [45; quick: 0.4; not above --settle-s: none]; "
        "V8 gives the garbage of the connects back after 20-40 s idle",
    )
    parser.add_argument(
        "--out", type=Path, help="markdown file [bench/results/<date>[-N].md; quick: none]"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="RAW_JSON",
        help="measure nothing: rebuild the markdown of an earlier run from its .raw.json",
    )
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        # Older raw files have no environment: this machine's, without the sidecar's choices.
        env_lines = saved.get("environment") or environment(saved.get("pinned", True), False)
        text = report(
            saved["raw"],
            list(saved["raw"]),
            saved["params"],
            saved["loads"],
            saved.get("pinned", True),
            saved.get("quick", False),
            saved.get("elapsed", 0),
            env_lines,
            saved.get("sidecar_modules"),
        )
        print(text)
        out = args.out or args.report.with_name(args.report.name.replace(".raw.json", ".md"))
        out.write_text(text)
        log(f"written to {out}")
        return 0
    variants = [v for v in args.variants.split(",") if v]
    workloads = [w for w in args.workloads.split(",") if w]
    for name, known in (("variant", VARIANTS), ("workload", WORKLOADS)):
        for item in variants if name == "variant" else workloads:
            if item not in known:
                parser.error(f"unknown {name} {item!r} (known: {', '.join(known)})")
    for workload in workloads:
        if not any(runs_on(workload, v) for v in variants):
            log(f"warning: {workload} runs only for {', '.join(WORKLOAD_VARIANTS[workload])}")
    params = dict(QUICK if args.quick else FULL)
    if args.runs:
        params["runs"] = args.runs
    if args.settle_s is not None:
        params["settle_s"] = args.settle_s
    if args.settled_s is not None:
        params["settled_s"] = args.settled_s

    ensure_vite_app()
    raise_fd_limit(params["idle"] * 2 + 1000)
    server_pin, client_pin = pinning()
    started = time.monotonic()
    raw: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    modules: dict[str, set[str]] = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="wsside-bench-") as tmp:
        launcher = Launcher(Path(tmp), server_pin)
        if "pipe" in variants:
            launcher.make_cert()
        ctx = Context(params, client_pin, launcher)

        def run_group(variant: str, servers: Servers, group: list[str]) -> None:
            group = [w for w in group if runs_on(w, variant)]
            if variant != "node":
                modules.setdefault(variant, set()).update(servers.sidecar_modules())
            for workload in group:
                t0 = time.monotonic()
                figures = WORKLOAD_FUNCS[workload](ctx, servers)
                log(
                    f"  {variant:8} {workload:15} {time.monotonic() - t0:4.1f} s: "
                    + ", ".join(f"{k}={v:,.1f}" for k, v in figures.items())
                )
                for key, value in figures.items():
                    raw[variant].setdefault(key, []).append(value)

        for run in range(params["runs"]):
            loads.append(os.getloadavg())
            log(f"run {run + 1}/{params['runs']}, load {loads[-1][0]:.2f}")
            if args.quick:
                # Not a measurement: start every variant at once, each serves its workloads.
                active = [v for v in variants if any(runs_on(w, v) for w in workloads)]
                with ThreadPoolExecutor(max(1, len(active))) as pool:
                    spawned = [launcher.spawn(v) for v in active]
                    try:
                        list(pool.map(launcher.wait_ready, active, spawned))
                        for variant, servers in zip(active, spawned, strict=True):
                            run_group(variant, servers, workloads)
                    finally:
                        list(pool.map(Servers.stop, spawned))
                continue
            # Fresh servers for each workload, one variant at a time, variants interleaved.
            for workload in workloads:
                for variant in [v for v in variants if runs_on(workload, v)]:
                    servers = launcher.start(variant)
                    try:
                        run_group(variant, servers, [workload])
                    finally:
                        servers.stop()
    loads.append(os.getloadavg())
    elapsed = time.monotonic() - started
    env_lines = environment(bool(server_pin))
    seen = {v: sorted(names) for v, names in modules.items()}
    text = report(
        raw, variants, params, loads, bool(server_pin), args.quick, elapsed, env_lines, seen
    )
    print(text)
    out = args.out or (None if args.quick else fresh_results_path(datetime.date.today()))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".raw.json").write_text(
            json.dumps(
                {
                    "params": params,
                    "loads": loads,
                    "pinned": bool(server_pin),
                    "quick": args.quick,
                    "elapsed": elapsed,
                    "environment": env_lines,
                    "sidecar_modules": seen,
                    "raw": raw,
                },
                indent=1,
            )
        )
        log(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
