"""User and system CPU per handshake, by server process: where a handshake's time goes.

    .venv/bin/python bench/handshake_split.py                 # 2 rounds, 3,000 each (~1.5 min)
    .venv/bin/python bench/handshake_split.py --rounds 3 --count 5000

Each round starts every variant fresh, as `bench/run.py` does (servers on CPU 0, the client on
CPU 1), warms it with 500 handshakes, then runs client.js's sequential handshakes (open,
upgrade, closing handshake, the server ends TCP) while `/proc` gives each server process's
user and system time. `bench/run.py` reports the sum; this shows which process, and how much
of it is the kernel's. bench/README's decision on the handshake cites it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import TICKS, Client, Launcher, Servers, ensure_vite_app, pinning  # scripts beside this

VARIANTS = ("direct", "handover", "node")
# `run.role_of`'s names for the server processes: Vite's Node, and wsside (the sidecar, or
# `wsside serve` itself).
ROLES = ("vite", "sidecar")

Ticks = dict[int, tuple[str, int, int]]


def ticks(servers: Servers) -> Ticks:
    """pid: (role, user ticks, system ticks) of every live server process."""
    found = {}
    for pid, role in servers.pids().items():
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        found[pid] = (role, int(fields[11]), int(fields[12]))
    return found


def per_handshake(before: Ticks, after: Ticks, count: int) -> dict[str, tuple[float, float]]:
    """role: (user µs, system µs) per handshake."""
    spent: dict[str, tuple[float, float]] = {}
    for pid, (role, user, system) in after.items():
        _, user0, system0 = before.get(pid, (role, 0, 0))
        u, s = spent.get(role, (0.0, 0.0))
        scale = 1e6 / TICKS / count
        spent[role] = (u + (user - user0) * scale, s + (system - system0) * scale)
    return spent


def one(launcher: Launcher, pin: list[str], variant: str, count: int) -> str:
    servers = launcher.start(variant)
    before = after = None
    rate = 0.0
    try:
        client = Client(pin, servers, "handshake", ["--warmup", "500", "--count", str(count)], 120)
        try:
            for event in client.events():
                if event["event"] == "start":
                    before = ticks(servers)
                elif event["event"] == "end":
                    after = ticks(servers)
                elif event["event"] == "result":
                    rate = event["rate"]
        finally:
            client.finish()
    finally:
        servers.stop()
    assert before is not None and after is not None, "client.js sent no start or end event"
    spent = per_handshake(before, after, count)
    cells = []
    for role in ROLES:
        user, system = spent.get(role, (0.0, 0.0))
        cells.append(f"{user:5.0f} + {system:4.0f}" if role in spent else f"{'–':>12}")
    total = sum(u + s for role, (u, s) in spent.items() if role in ROLES)
    return f"{variant:<9} {rate:8,.0f}   {cells[0]}   {cells[1]}   {total:6.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every variant")
    parser.add_argument("--count", type=int, default=3000, help="measured handshakes per run")
    args = parser.parse_args()
    ensure_vite_app()
    server_pin, client_pin = pinning()
    print(f"{args.count:,} sequential handshakes per run; µs of CPU per handshake, user + system")
    print(f"{'variant':<9} {'per s':>8}   {'Vite (Node)':>12}   {'wsside':>12}   {'total':>6}")
    with tempfile.TemporaryDirectory(prefix="wsside-hs-") as tmp:
        launcher = Launcher(Path(tmp), server_pin)
        for _ in range(args.rounds):
            for variant in VARIANTS:
                print(one(launcher, client_pin, variant, args.count), flush=True)


if __name__ == "__main__":
    main()
