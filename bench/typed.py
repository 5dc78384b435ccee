"""What `receives=` costs: the echo workload with and without the runtime check.

    .venv/bin/python bench/typed.py                     # 10 runs of 3 s each way (~3 min)
    .venv/bin/python bench/typed.py --runs 1 --duration-s 1
    .venv/bin/python bench/typed.py --instructions --runs 3   # callgrind: needs valgrind (~5 min)

One `wsside serve` of bench/handlers serves both endpoints, so both sides share the process,
its warm-up and the machine's mood: `/ws/echo` (no declaration) and `/ws/typed-echo`
(`receives` = a TypedDict `{"type": Literal["chat"], "text": str}`), the same handler code.
client.js sends both the same 64-byte JSON text and checks every echo byte for byte (it fits,
so every message passes the check and is echoed). Runs alternate which endpoint goes first.
Server and client are pinned to CPUs 0 and 1 as in run.py. Printed: the median (min-max) of
round trips per second (50 connections), sidecar CPU per round trip, and p50 latency (one
connection), and the typed endpoint's cost against the plain one: the median (min-max) of
each run's own ratio, since the two endpoints of one run share the machine's load of the
moment. Last, the check alone (timeit, no sockets), to set against the CPU per round trip.

On a shared machine CPU time is noisy; `--instructions` counts what the sidecar executes per
round trip instead (valgrind's callgrind, counters zeroed at the client's start event and
dumped at its end event), which other processes do not change.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # run.py is a script beside this one
    Client,
    Launcher,
    Servers,
    free_port,
    measure,
    pinning,
    probe,
    serve_command,
)

# 64 bytes, as run.py's payload; compact JSON, so the echo is the same bytes.
PAYLOAD = '{"type":"chat","text":"' + "x" * 39 + '"}'
ENDPOINTS = {"plain": "/api/ws/echo", "typed": "/api/ws/typed-echo"}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--duration-s", type=float, default=3.0)
    parser.add_argument("--latency-count", type=int, default=5000)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the sidecar's instructions per round trip under callgrind instead",
    )
    args = parser.parse_args()
    assert len(PAYLOAD) == 64
    if args.instructions:
        return instructions(args.runs)
    server_pin, client_pin = pinning()
    figures: dict[str, dict[str, list[float]]] = {
        name: {"tput": [], "cpu": [], "p50": []} for name in ENDPOINTS
    }
    with tempfile.TemporaryDirectory(prefix="wsside-bench-typed-") as scratch:
        servers = Launcher(Path(scratch), server_pin).start("direct")
        try:
            for run in range(args.runs):
                order = list(ENDPOINTS) if run % 2 == 0 else list(reversed(ENDPOINTS))
                for name in order:
                    common = ["--path", ENDPOINTS[name], "--payload", PAYLOAD]
                    result, cpu = measure(
                        client_pin,
                        servers,
                        "throughput",
                        [
                            *common,
                            "--clients",
                            "50",
                            "--warmup-s",
                            "1",
                            "--duration-s",
                            str(args.duration_s),
                        ],
                        60 + args.duration_s,
                    )
                    figures[name]["tput"].append(result["rate"])
                    figures[name]["cpu"].append(cpu["sidecar"] * 1e6 / result["round_trips"])
                    latency, _ = measure(
                        client_pin,
                        servers,
                        "latency",
                        [*common, "--warmup", "1000", "--count", str(args.latency_count)],
                        120,
                    )
                    figures[name]["p50"].append(latency["p50_us"])
                    print(
                        f"run {run + 1} {name}: {result['rate']:,.0f} rt/s, "
                        f"{figures[name]['cpu'][-1]:.1f} µs CPU/rt, p50 {latency['p50_us']:.0f} µs",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            servers.stop()
    print(table(figures))
    print(
        f"\nThe check alone, in this process: {check_cost_us():.2f} µs per message "
        "(best of 15 x 100,000)."
    )
    return 0


def check_cost_us() -> float:
    """What `receives.check` costs per fitting message, without sockets or the event loop."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "handlers"))
    from typed_echo import typed_echo  # the handler the typed endpoint serves

    assert typed_echo.receives is not None
    check, message = typed_echo.receives.check, json.loads(PAYLOAD)
    assert check(message) is None
    return min(timeit.repeat(lambda: check(message), number=100_000, repeat=15)) / 100_000 * 1e6


def instructions(runs: int) -> int:
    """Instructions the sidecar executes per round trip, counted by callgrind between the
    client's start and end events: what CPU time would say on a machine of one's own."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("--instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    counts: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    with tempfile.TemporaryDirectory(prefix="wsside-bench-typed-") as scratch:
        servers = Servers(port=free_port(), tls=False)
        log = (Path(scratch) / "serve.log").open("wb")
        servers.procs.append(
            subprocess.Popen(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={scratch}/cg.%p",
                    *serve_command("--port", str(servers.port), "--no-reload"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        )
        try:
            deadline = time.monotonic() + 300  # start-up under callgrind takes a while
            while not probe(servers.port, False):
                if time.monotonic() > deadline or servers.procs[0].poll() is not None:
                    raise RuntimeError("wsside serve under callgrind did not start")
                time.sleep(0.5)
            for run in range(runs):
                for name in list(ENDPOINTS) if run % 2 == 0 else list(reversed(ENDPOINTS)):
                    per_round_trip = instructions_per_round_trip(
                        servers,
                        servers.procs[0].pid,
                        Path(scratch),
                        name,
                        [
                            "--path",
                            ENDPOINTS[name],
                            "--payload",
                            PAYLOAD,
                            "--clients",
                            "50",
                            "--warmup-s",
                            "2",
                            "--duration-s",
                            "5",
                        ],
                    )
                    counts[name].append(per_round_trip)
                    print(
                        f"run {run + 1} {name}: {per_round_trip:,.0f} instructions per round trip",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            servers.stop()
            log.close()
    ratios = [t / p for p, t in zip(counts["plain"], counts["typed"], strict=True)]
    print("| endpoint | sidecar instructions per round trip (50 connections) |\n|---|---|")
    for name, values in counts.items():
        print(
            f"| {name} | {statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f}) |"
        )
    print(
        f"| cost of receives= (per run) | {100 * (statistics.median(ratios) - 1):+.1f} % "
        f"({100 * (min(ratios) - 1):+.1f}–{100 * (max(ratios) - 1):+.1f}) |"
    )
    return 0


def instructions_per_round_trip(
    servers: Servers,
    pid: int,
    scratch: Path,
    label: str,
    client_args: list[str],
    mode: str = "throughput",
) -> float:
    """One client.js run (`mode`: throughput, or handshake) against a server under callgrind
    (writing its dumps to `scratch` as cg.PID.N): the instructions it executed between the
    client's start and end events, per round trip (per connection for handshakes)."""
    client = Client([], servers, mode, client_args, 300)
    round_trips = 0
    try:
        for event in client.events():
            if event["event"] == "start":
                subprocess.run(
                    ["callgrind_control", "-z", str(pid)], capture_output=True, check=True
                )
            elif event["event"] == "end":
                subprocess.run(
                    ["callgrind_control", "-d", label, str(pid)], capture_output=True, check=True
                )
            elif event["event"] == "result":
                round_trips = event["connections" if mode == "handshake" else "round_trips"]
    finally:
        client.finish()
    dump = max(scratch.glob(f"cg.{pid}.*"), key=lambda p: int(p.suffix[1:]))
    total = next(
        int(line.split()[1])
        for line in dump.read_text().splitlines()
        if line.startswith("summary:")
    )
    return total / round_trips


def table(figures: dict[str, dict[str, list[float]]]) -> str:
    def cell(values: list[float], fmt: str) -> str:
        return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"

    def cost(key: str, higher_is_worse: bool) -> str:
        # Each run measures both endpoints back to back: the median of the runs' own ratios
        # is what a machine whose load drifts between runs still tells apart.
        pairs = zip(figures["plain"][key], figures["typed"][key], strict=True)
        ratios = [t / p if higher_is_worse else p / t for p, t in pairs]
        return (
            f"{100 * (statistics.median(ratios) - 1):+.1f} % "
            f"({100 * (min(ratios) - 1):+.1f}–{100 * (max(ratios) - 1):+.1f})"
        )

    rows = [
        "| endpoint | round trips/s (50 connections) | sidecar CPU per round trip | latency p50 |",
        "|---|---|---|---|",
        *(
            f"| {name} | {cell(f['tput'], ',.0f')} | {cell(f['cpu'], '.1f')} µs "
            f"| {cell(f['p50'], '.0f')} µs |"
            for name, f in figures.items()
        ),
        f"| cost of receives= (per run) | {cost('tput', False)} | {cost('cpu', True)} "
        f"| {cost('p50', True)} |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
