"""What a rolling SIGHUP costs clients under `wsside serve --workers 2` (docs/deploy.md).

Clients loop: open a socket, send one message, read the echo, close. After two seconds the
parent gets SIGHUP; the run goes on until the log says every worker was replaced, then one
second more. Prints what each attempt ended in (`ok`, a close code, or the exception's
type) and the handshake rate. Bounded: one roll, about five seconds.

    .venv/bin/python bench/sighup.py [--clients 8 32 64]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HANDLER = (
    "from wsside import Handler\n"
    "echo = Handler('/ws/echo')\n"
    "@echo.on_message\n"
    "def back(conn, data):\n"
    "    conn.send(data)\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_roll(folder: Path, clients: int) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "wsside", "serve", "--handlers", str(folder)),
        *("--port", str(port), "--no-reload", "--workers", "2", "--log-level", "warning"),
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    stderr = proc.stderr
    said: list[str] = []
    served = asyncio.Event()
    replaced = asyncio.Event()

    async def read() -> None:
        while line := (await stderr.readline()).decode():
            said.append(line)
            if "serving on" in line:
                served.set()
            if "every worker replaced" in line:
                replaced.set()

    reader = asyncio.create_task(read())
    ended: collections.Counter[str] = collections.Counter()
    stop = asyncio.Event()

    async def client() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                try:
                    ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/ws/echo")
                    await ws.send_str("x")
                    msg = await ws.receive()
                    ok = msg.type == aiohttp.WSMsgType.TEXT
                    ended["ok" if ok else f"{msg.type.name} {msg.data}"] += 1
                    await ws.close()
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                    ended[type(exc).__name__] += 1

    try:
        await asyncio.wait_for(served.wait(), 30)
        tasks = [asyncio.create_task(client()) for _ in range(clients)]
        started = time.monotonic()
        await asyncio.sleep(2)  # the load before the roll: a fixed span of work, not a wait
        before = sum(ended.values()) / (time.monotonic() - started)
        proc.send_signal(signal.SIGHUP)
        hup = time.monotonic()
        await asyncio.wait_for(replaced.wait(), 60)
        took = time.monotonic() - hup
        await asyncio.sleep(1)  # and after it
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()
        await reader
    print(f"{clients} clients, {before:,.0f} handshakes/s before; the roll took {took:.2f} s")
    print("  ended:", dict(ended))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32, 64])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ws"
        folder.mkdir()
        (folder / "echo.py").write_text(HANDLER)
        for clients in args.clients:
            await one_roll(folder, clients)


if __name__ == "__main__":
    asyncio.run(main())
