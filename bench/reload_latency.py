"""Reload latency: from saving a handler file to the new code answering on an open socket.

    python bench/reload_latency.py [--saves 30]

A real `wsside serve` process (reload on) serves one handler file on a free loopback port; one
client stays connected throughout. Each round rewrites the file with a new version number
(write to a temp file and rename, the way editors save), then sends a message every
millisecond until the reply carries the new version. The figure is the time from the rename
to that reply, so it includes the watcher, the quiet window, the import and the swap. The
sidecar's own figure (its `reloaded ... in N ms` line: first file event to new code active)
is printed beside it. Target: under 200 ms median.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HANDLER = """
from wsside import Handler
h = Handler("/ws/bench")

@h.on_message
def reply(conn, data):
    conn.send({{"version": {version}}})
"""


def save(path: Path, version: int) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(HANDLER.format(version=version))
    os.replace(temp, path)


async def wait_for_version(ws: aiohttp.ClientWebSocketResponse, version: int) -> None:
    while True:
        await ws.send_str("?")
        if (await ws.receive_json())["version"] == version:
            return
        await asyncio.sleep(0.001)


async def run(saves: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        folder = Path(tmp) / "ws"
        folder.mkdir()
        handler = folder / "bench.py"
        save(handler, 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wsside",
            "serve",
            "--handlers",
            str(folder),
            "--port",
            str(port),
            "--reload",
            cwd=tmp,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stderr is not None
        try:
            while b"serving on" not in await asyncio.wait_for(proc.stderr.readline(), 15):
                pass
            drain = asyncio.ensure_future(proc.stderr.read())  # keep the pipe from filling
            results = []
            async with aiohttp.ClientSession() as client:
                ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/bench")
                await wait_for_version(ws, 0)
                for version in range(1, saves + 1):
                    started = time.perf_counter()
                    save(handler, version)
                    await asyncio.wait_for(wait_for_version(ws, version), 10)
                    results.append((time.perf_counter() - started) * 1000)
                await ws.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 10)
        log = (await drain).decode()
        reported = [float(ms) for ms in re.findall(r"reloaded .* in ([\d.]+) ms", log)]
        return results, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=30)
    args = parser.parse_args()
    results, reported = asyncio.run(run(args.saves))
    print(f"reload latency over {len(results)} saves, target: median under 200 ms")
    show("save -> new code answers on an open socket", results)
    show("sidecar's reloaded event (file event -> new code active)", reported)


def show(title: str, figures: list[float]) -> None:
    ordered = sorted(figures)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    print(f"  {title} ({len(ordered)} figures):")
    print(
        f"    median {statistics.median(ordered):6.1f} ms   p90 {p90:6.1f} ms   "
        f"min {ordered[0]:6.1f} ms   max {ordered[-1]:6.1f} ms"
    )


if __name__ == "__main__":
    main()
