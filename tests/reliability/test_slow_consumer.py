"""Slow consumers: a client that stops reading while the others are broadcast to.

Policy: past `SEND_BUFFER_LIMIT` (16 MiB) queued for one client, it is closed with 1013
"Client too slow"; when the close frame cannot get out either (the client reads nothing), the
socket is aborted after the close timeout. The others keep their latency and get everything.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

from wsside._io.writer import SEND_BUFFER_LIMIT
from wsside._runtime.close_handshake import CLOSE_TIMEOUT

from .harness import SidecarProcess, settled, stats
from .rawws import CLOSE, LoadClient, Stream, blocking_slow_client, close_payload, frame

FLOOD_MESSAGES = 600
FLOOD_SIZE = 64 * 1024  # 600 x 64 KiB = 37.5 MiB per receiver, paced by the handler
GOOD_CLIENTS = 4


class RssSampler(threading.Thread):
    """Peak RSS of the sidecar while a phase runs (sampled every 10 ms)."""

    def __init__(self, sidecar: SidecarProcess) -> None:
        super().__init__(daemon=True)
        self.sidecar = sidecar
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.01):
            self.peak = max(self.peak, self.sidecar.rss())

    def __enter__(self) -> RssSampler:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        self.join()


async def measure_latency(port: int, stop: asyncio.Event) -> list[float]:
    """Echo round trips on another endpoint until `stop` is set."""
    s = await Stream.open(port, "/api/ws/echo")
    rtts = []
    try:
        while not stop.is_set():
            t = time.perf_counter()
            s.send_text("t")
            assert await s.recv_text() == "t"
            rtts.append(time.perf_counter() - t)
            await asyncio.sleep(0.005)  # pacing of the probe itself, not synchronisation
    finally:
        await s.close()
    return rtts


async def test_a_client_that_stops_reading_is_closed_1013_and_the_others_do_not_wait(
    sidecar: SidecarProcess, figures
) -> None:
    port = sidecar.port
    # What an earlier test of the module opened has closed (its fds counted in none of ours).
    base = await settled(port, lambda s: s["sessions"] == 1)
    fds0 = sidecar.fds()
    received: dict[LoadClient, int] = {}
    all_in: dict[LoadClient, asyncio.Future[None]] = {}  # a client's, once it has every message

    def on_text(client: LoadClient, payload: bytes) -> None:
        if len(payload) == FLOOD_SIZE:
            received[client] = received.get(client, 0) + 1
            if received[client] == FLOOD_MESSAGES:
                all_in[client].set_result(None)

    good = [await LoadClient.open(port, "/api/ws/flood", on_text) for _ in range(GOOD_CLIENTS)]
    all_in.update((c, asyncio.get_running_loop().create_future()) for c in good)
    slow = await asyncio.to_thread(blocking_slow_client, port, "/api/ws/flood")
    await settled(port, lambda s: s["members"]["/ws/flood"] == GOOD_CLIENTS + 1)
    idle_rtts = await measure_latency_for(port, 0.3)
    rss0 = sidecar.rss()

    stop = asyncio.Event()
    latency = asyncio.create_task(measure_latency(port, stop))
    t0 = time.perf_counter()
    with RssSampler(sidecar) as sampler:
        sender = good[0]
        done = asyncio.get_running_loop().create_future()
        sender.on_text = lambda c, p: done.set_result(None) if p == b"flood done" else on_text(c, p)
        sender.send_text(f"flood {FLOOD_MESSAGES} {FLOOD_SIZE}")
        await asyncio.wait_for(done, 60)
        flood_s = time.perf_counter() - t0
        # The slow client is closed by the policy, not by us: we still hold its socket open.
        closed = await settled(
            port, lambda s: any(c[1] == 1013 for c in s["closes"]), timeout=CLOSE_TIMEOUT + 10
        )
        closed_after = time.perf_counter() - t0
    stop.set()
    rtts = await latency
    others = [c for c in good if c is not sender]
    # every other good client got every message, in full, and is still open
    try:
        await asyncio.wait_for(asyncio.gather(*(all_in[c] for c in others)), 30)
    except asyncio.TimeoutError:
        counts = [received.get(c, 0) for c in others]
        raise AssertionError(f"not {FLOOD_MESSAGES} messages each in 30 s: {counts}") from None
    assert [received.get(c, 0) for c in others] == [FLOOD_MESSAGES] * len(others)
    assert all(c.close_code is None for c in good)

    assert [c for c in closed["closes"] if c[1] == 1013] == [
        ["/api/ws/flood", 1013, "Client too slow"]
    ]
    after = await settled(port, lambda s: s["open"]["/ws/flood"] == GOOD_CLIENTS)
    assert after["open"]["/ws/flood"] == GOOD_CLIENTS
    for c in good:
        await c.close()
    after = await settled(port, lambda s: s["sessions"] == 1)
    fds1 = sidecar.fds()
    slow.close()
    rss1 = sidecar.rss()
    figures["slow_consumer"] = {
        "flood": f"{FLOOD_MESSAGES} x {FLOOD_SIZE // 1024} KiB to {GOOD_CLIENTS - 1} readers "
        f"+ 1 non-reader",
        "flood_s": round(flood_s, 2),
        "slow_client_closed_after_s": round(closed_after, 2),
        "echo_rtt_ms_idle_median": round(statistics.median(idle_rtts) * 1000, 2),
        "echo_rtt_ms_median": round(statistics.median(rtts) * 1000, 2),
        "echo_rtt_ms_p99": round(sorted(rtts)[int(len(rtts) * 0.99)] * 1000, 2),
        "echo_rtt_ms_max": round(max(rtts) * 1000, 2),
        "echo_samples": len(rtts),
        "rss_mib_before": round(rss0 / 2**20, 1),
        "rss_mib_peak": round(sampler.peak / 2**20, 1),
        "rss_mib_after": round(rss1 / 2**20, 1),
    }
    assert fds1 == fds0  # the stuck socket was aborted: its fd is gone though we never closed it
    assert after["tasks"] == base["tasks"]
    # the sidecar held at most the limit (plus the doubling of a growing buffer) for the slow
    # client and stayed responsive to everyone else meanwhile
    assert sampler.peak - rss0 < 3 * SEND_BUFFER_LIMIT, figures["slow_consumer"]
    assert statistics.median(rtts) < 0.05, figures["slow_consumer"]
    assert max(rtts) < 1.0, figures["slow_consumer"]


async def measure_latency_for(port: int, seconds: float) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(measure_latency(port, stop))
    await asyncio.sleep(seconds)  # the length of the idle sample, not synchronisation
    stop.set()
    return await task


async def test_a_client_that_closes_then_stops_reading_does_not_pin_its_backlog(
    sidecar: SidecarProcess, figures
) -> None:
    """The client's close frame arrives while megabytes are queued for it (below the limit, so
    the 1013 policy never triggers) and it reads nothing more: the socket must still go."""
    port = sidecar.port
    await settled(port, lambda s: s["sessions"] == 1)
    fds0 = sidecar.fds()
    sender = await LoadClient.open(port, "/api/ws/flood", lambda c, p: None)
    slow = await asyncio.to_thread(blocking_slow_client, port, "/api/ws/flood")
    await settled(port, lambda s: s["members"]["/ws/flood"] == 2)
    done = asyncio.get_running_loop().create_future()
    sender.on_text = lambda c, p: done.set_result(None) if p == b"flood done" else None
    sender.send_text(f"flood 100 {FLOOD_SIZE}")  # 6.25 MiB, well below SEND_BUFFER_LIMIT
    await asyncio.wait_for(done, 30)
    t0 = time.perf_counter()
    slow.sendall(frame(CLOSE, close_payload(1000)))
    gone = await settled(port, lambda s: s["open"]["/ws/flood"] == 1 and s["sessions"] == 2)
    assert gone["open"]["/ws/flood"] == 1
    # the fd goes once the lingering transport is aborted (psutil sees it, not the stats)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_TIMEOUT + 5
    while sidecar.fds() != fds0 + 1 and loop.time() < deadline:
        await stats(port)  # one round trip through the sidecar per check, no fixed sleep
    figures["closed_then_stopped_reading_fd_released_s"] = round(time.perf_counter() - t0, 2)
    assert sidecar.fds() == fds0 + 1  # only the sender's socket is left
    await sender.close()
    slow.close()
