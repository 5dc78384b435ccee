"""Load: 1,000 concurrent connections under broadcast, and connection churn, against a real
sidecar process. Nothing lost or reordered; nothing left behind (fds, tasks, sessions, hub and
room entries); memory growth bounded. Figures are printed in the run summary."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from .harness import SidecarProcess, settled, stats
from .rawws import LoadClient

CONNECT_CONCURRENCY = 50  # the listen backlog is 128: more at once only adds SYN retries


async def broadcast_round(
    sidecar: SidecarProcess, clients: int, senders: int, per_sender: int
) -> dict[str, Any]:
    """`senders` clients each send `per_sender` numbered messages to /ws/fan, which relays each
    one to every member (sender included). Every client checks each sender's numbers arrive
    complete and in order."""
    port = sidecar.port
    expected = senders * per_sender
    loop = asyncio.get_running_loop()
    state: dict[LoadClient, list[int]] = {}
    errors: list[str] = []
    complete: dict[LoadClient, asyncio.Future[None]] = {}

    def on_text(client: LoadClient, payload: bytes) -> None:
        k, i = payload.split()
        nxt = state[client]
        k_, i_ = int(k), int(i)
        if nxt[k_] != i_:
            errors.append(f"sender {k_}: got {i_}, expected {nxt[k_]}")
        nxt[k_] = i_ + 1
        nxt[-1] += 1
        if nxt[-1] == expected:
            complete[client].set_result(None)

    fds0, rss0 = sidecar.fds(), sidecar.rss()
    t0 = time.perf_counter()
    conns = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> None:
        async with gate:
            c = await LoadClient.open(port, "/api/ws/fan", on_text)
        state[c] = [0] * (senders + 1)
        complete[c] = loop.create_future()
        conns.append(c)

    await asyncio.gather(*(one() for _ in range(clients)))
    connect_s = time.perf_counter() - t0
    joined = await settled(port, lambda s: s["members"]["/ws/fan"] == clients)
    assert joined["open"]["/ws/fan"] == clients
    rss_open, fds_open = sidecar.rss(), sidecar.fds()

    t1 = time.perf_counter()
    for k, sender in enumerate(conns[:senders]):
        for i in range(per_sender):
            sender.send_text(f"{k} {i}")
    await asyncio.wait_for(asyncio.gather(*complete.values()), 60)
    traffic_s = time.perf_counter() - t1
    rss_peak = sidecar.rss()
    assert not errors, errors[:10]
    assert all(v[-1] == expected for v in state.values())

    await asyncio.gather(*(c.close() for c in conns))
    after = await settled(port, lambda s: s["open"]["/ws/fan"] == 0 and s["sessions"] == 1)
    return {
        "clients": clients,
        "messages_delivered": clients * expected,
        "connect_s": round(connect_s, 2),
        "traffic_s": round(traffic_s, 2),
        "deliveries_per_s": int(clients * expected / traffic_s),
        "rss_mib_before": round(rss0 / 2**20, 1),
        "rss_mib_open": round(rss_open / 2**20, 1),
        "rss_mib_peak": round(rss_peak / 2**20, 1),
        "rss_mib_after": round(sidecar.rss() / 2**20, 1),
        "fds_before": fds0,
        "fds_open": fds_open,
        "fds_after": sidecar.fds(),
        "after": {k: after[k] for k in ("open", "members", "sessions", "tasks")},
    }


async def test_1000_connections_broadcast_nothing_lost_or_reordered(sidecar, figures) -> None:
    base = await stats(sidecar.port)
    fds0 = sidecar.fds()
    result = await broadcast_round(sidecar, clients=1000, senders=10, per_sender=20)
    figures["broadcast_1000"] = result
    assert result["after"]["members"]["/ws/fan"] == 0
    assert result["after"]["sessions"] == 1  # the stats connection itself
    assert result["after"]["tasks"] == base["tasks"]
    assert sidecar.fds() == fds0
    assert sidecar.alive


@pytest.mark.soak
async def test_soak_1000_connections_repeated_broadcast_rounds(sidecar, figures) -> None:
    fds0 = sidecar.fds()
    rounds = []
    for _ in range(5):
        rounds.append(await broadcast_round(sidecar, clients=1000, senders=20, per_sender=50))
    figures["soak_broadcast_1000x5"] = rounds
    assert sidecar.fds() == fds0
    # memory after the last round is near the first round's: no growth per round
    assert rounds[-1]["rss_mib_after"] - rounds[0]["rss_mib_after"] < 16


async def churn(port: int, n: int, concurrency: int = 20) -> None:
    """Open and close `n` connections, `concurrency` at a time; every other one is dropped
    without a closing handshake (an abrupt client), the rest close cleanly."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            c = await LoadClient.open(port, "/api/ws/churn", lambda c, p: None)
            assert await asyncio.wait_for(c.first_text, 10) == b"hi"
            if i % 2:
                assert c.transport is not None
                c.transport.abort()
                await c.lost
            else:
                await c.close()

    await asyncio.gather(*(one(i) for i in range(n)))


async def churn_and_measure(sidecar: SidecarProcess, n: int, warmup: int) -> dict[str, Any]:
    port = sidecar.port
    await churn(port, warmup)
    s0 = await settled(port, lambda s: s["closed"] >= warmup and s["open"]["/ws/churn"] == 0)
    fds0, rss0 = sidecar.fds(), sidecar.rss()
    t0 = time.perf_counter()
    await churn(port, n)
    elapsed = time.perf_counter() - t0
    s1 = await settled(
        port,
        lambda s: (
            s["closed"] == s0["closed"] + n
            and s["open"]["/ws/churn"] == 0
            and s["sessions"] == s0["sessions"]
        ),
    )
    fds1, rss1 = sidecar.fds(), sidecar.rss()
    return {
        "churned": n,
        "seconds": round(elapsed, 2),
        "per_s": int(n / elapsed),
        "fds": [fds0, fds1],
        "tasks": [s0["tasks"], s1["tasks"]],
        "sessions": [s0["sessions"], s1["sessions"]],
        "connections": [s0["connections"], s1["connections"]],
        "members": s1["members"]["/ws/churn"],
        "rooms": s1["rooms"]["/ws/churn"],
        "closed": s1["closed"] - s0["closed"],
        "rss_mib": [round(rss0 / 2**20, 2), round(rss1 / 2**20, 2)],
        "rss_growth_kib": (rss1 - rss0) // 1024,
    }


def check_churn(r: dict[str, Any], rss_budget_kib: int) -> None:
    assert r["closed"] == r["churned"]  # on_close ran once for each
    assert r["fds"][0] == r["fds"][1]
    assert r["tasks"][0] == r["tasks"][1]
    assert r["sessions"][0] == r["sessions"][1]
    assert r["connections"][0] == r["connections"][1]
    assert r["members"] == 0 and r["rooms"] == 0
    assert r["rss_growth_kib"] < rss_budget_kib, r


async def test_churn_1000_leaks_nothing(sidecar, figures) -> None:
    r = await churn_and_measure(sidecar, 1000, warmup=200)
    figures["churn_1000"] = r
    check_churn(r, rss_budget_kib=4096)
    assert sidecar.alive


@pytest.mark.soak
async def test_soak_churn_10000_leaks_nothing(sidecar, figures) -> None:
    r = await churn_and_measure(sidecar, 10_000, warmup=1000)
    figures["churn_10000"] = r
    check_churn(r, rss_budget_kib=4096)
