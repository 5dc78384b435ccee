"""Frames per second through aiohttp's C reader and through wsside's StrictReader.

    .venv/bin/python tests/compliance/reader_overhead.py

Feeds the same pre-built, masked client frames (in 64 KiB reads, as a socket would deliver
them) to both readers and drains the queue between reads. Prints frames/s per workload.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time

from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader

from wsside._io.reader import StrictReader


class _Protocol:
    _reading_paused = False

    def pause_reading(self) -> None:
        self._reading_paused = True

    def resume_reading(self) -> None:
        self._reading_paused = False


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mask = os.urandom(4)
    head = bytes((b0, 0x80 | n)) if n < 126 else struct.pack("!BBH", b0, 0x80 | 126, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def workloads() -> dict[str, list[bytes]]:
    small_text = frame(0x1, b'{"type":"chat","text":"hello"}')
    binary_1k = frame(0x2, os.urandom(1024))
    fragmented = (
        frame(0x1, b"x" * 64, fin=False) + frame(0x0, b"y" * 64, fin=False) + frame(0x0, b"z" * 64)
    )
    return {
        "text 30 B, 1 frame/msg": [small_text] * 200_000,
        "binary 1 KiB, 1 frame/msg": [binary_1k] * 50_000,
        "text 3x64 B fragments/msg": [fragmented] * 50_000,
    }


def chunks(frames: list[bytes], size: int = 65536) -> list[bytes]:
    data = b"".join(frames)
    return [data[i : i + size] for i in range(0, len(data), size)]


def run(make: object, frames: list[bytes], nframes: int) -> float:
    loop = asyncio.new_event_loop()
    queue = WebSocketDataQueue(_Protocol(), 1 << 30, loop=loop)  # type: ignore[arg-type]
    reader = make(queue)  # type: ignore[operator]
    data = chunks(frames)
    start = time.perf_counter()
    for chunk in data:
        reader.feed_data(chunk)
        queue._buffer.clear()
    elapsed = time.perf_counter() - start
    loop.close()
    return nframes / elapsed


def main() -> None:
    limit = 16 * 1024 * 1024
    readers = {
        "aiohttp C reader": lambda q: WebSocketReader(q, limit, compress=False, decode_text=True),
        "StrictReader": lambda q: StrictReader(q, limit),
    }
    for name, frames in workloads().items():
        nframes = sum(f.count(b"") - 1 for f in []) or len(frames) * (
            3 if "fragments" in name else 1
        )
        rates = {}
        for rname, make in readers.items():
            rates[rname] = max(run(make, frames, nframes) for _ in range(3))
        base, ours = rates["aiohttp C reader"], rates["StrictReader"]
        print(
            f"{name:28} C: {base / 1e6:5.2f} M frames/s"
            f"   StrictReader: {ours / 1e6:5.2f} M frames/s"
            f"   per-frame overhead: {(1 / ours - 1 / base) * 1e9:6.0f} ns"
        )


if __name__ == "__main__":
    main()
