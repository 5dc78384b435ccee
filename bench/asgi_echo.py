"""Echo through `wsside.ASGIApp` under uvicorn vs the same handler on `wsside serve`.

    .venv/bin/python bench/asgi_echo.py [--runs 3] [--clients 50] [--duration-s 5] [--count 5000]

Both servers serve bench/handlers/echo.py on 127.0.0.1, one at a time, pinned to CPU 0
(client.js on CPU 1) when `taskset` and two CPUs are there; uvicorn runs with its defaults
but `--log-level warning` (its per-connection access lines are not part of the comparison).
A bare ASGI echo application under the same uvicorn shows uvicorn's own share.
The client, the same for all, negotiates no compression. Workloads, bounded in count and
time: `latency` (one client, sequential round trips: p50/p99) and `throughput` (N clients,
each sending its next message when the previous echo arrived: round trips/s). Server CPU
comes from /proc/PID/stat at the client's start and end events. Each figure is the median
of the runs. This is the ASGI server's cost, reported, not a target.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import CLIENT, HANDLERS, PYTHON, free_port, pinning, proc_stat, serve_command

VARIANTS = {
    "serve": "wsside serve",
    "uvicorn": "ASGIApp under uvicorn",
    "plain": "a bare ASGI echo under uvicorn",
}

# The least an ASGI application can do per message: uvicorn's own cost, for scale.
PLAIN_ECHO = """
async def app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        await send(
            {"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")}
        )
"""


def start(variant: str, port: int, folder: Path, server_cpu: list[str]) -> subprocess.Popen[bytes]:
    if variant == "serve":
        cmd = serve_command("--port", str(port), "--no-reload", "--log-level", "warning")
    else:
        app = (
            PLAIN_ECHO
            if variant == "plain"
            else f"from wsside import ASGIApp\napp = ASGIApp({str(HANDLERS)!r})\n"
        )
        (folder / "app.py").write_text(app)
        cmd = [
            PYTHON,
            "-m",
            "uvicorn",
            "app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    proc = subprocess.Popen(
        [*server_cpu, *cmd],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"{variant}.log").open("wb"),
    )
    deadline = time.monotonic() + 30
    while True:  # the port accepts once the server is ready
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"{variant} did not start:\n" + (folder / f"{variant}.log").read_text()
                ) from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(pid: int, client_cmd: list[str]) -> dict[str, Any]:
    """Run the client; its result plus the server's CPU seconds over the measured phase."""
    client = subprocess.Popen(client_cmd, stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None
    before = after = 0.0
    result: dict[str, Any] = {}
    for line in client.stdout:
        event = json.loads(line)
        stat = proc_stat(pid)
        if event["event"] == "start" and stat:
            before = stat[1]
        elif event["event"] == "end" and stat:
            after = stat[1]
        elif event["event"] == "result":
            result = event
    if client.wait() != 0 or not result:
        raise SystemExit(f"client failed: {client_cmd}")
    result["server_cpu_s"] = after - before
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration-s", type=float, default=5)
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    server_cpu, client_cpu = pinning()
    rows: dict[str, dict[str, list[float]]] = {v: {} for v in VARIANTS}
    for run in range(args.runs):
        for variant in VARIANTS:
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                proc = start(variant, port, Path(tmp), server_cpu)
                try:
                    path = "/api/ws/echo" if variant == "serve" else "/ws/echo"
                    base = [*client_cpu, "node", str(CLIENT)]
                    lat = measure(
                        proc.pid,
                        [
                            *base,
                            "latency",
                            "--port",
                            str(port),
                            "--path",
                            path,
                            "--count",
                            str(args.count),
                            "--warmup",
                            "500",
                        ],
                    )
                    thr = measure(
                        proc.pid,
                        [
                            *base,
                            "throughput",
                            "--port",
                            str(port),
                            "--path",
                            path,
                            "--clients",
                            str(args.clients),
                            "--duration-s",
                            str(args.duration_s),
                            "--warmup-s",
                            "1",
                        ],
                    )
                finally:
                    stop(proc)
            figures = {
                "p50_us": lat["p50_us"],
                "p99_us": lat["p99_us"],
                "round_trips_per_s": thr["rate"],
                "server_cpu_us_per_round_trip": thr["server_cpu_s"] / thr["round_trips"] * 1e6,
            }
            for key, value in figures.items():
                rows[variant].setdefault(key, []).append(value)
            print(
                f"run {run + 1} {variant}: "
                + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()),
                file=sys.stderr,
                flush=True,
            )
    print(
        f"\nEcho, median of {args.runs} runs (latency: 1 client, {args.count} round trips; "
        f"throughput: {args.clients} clients, {args.duration_s:g} s)\n"
    )
    keys = list(rows["serve"])
    print("| server | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for variant, label in VARIANTS.items():
        print(
            f"| {label} | "
            + " | ".join(f"{statistics.median(rows[variant][k]):.1f}" for k in keys)
            + " |"
        )
    ratio = statistics.median(rows["uvicorn"]["round_trips_per_s"]) / statistics.median(
        rows["serve"]["round_trips_per_s"]
    )
    print(f"\nASGIApp under uvicorn / wsside serve, round trips/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
