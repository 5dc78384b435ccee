"""Start-up tuning of glibc's allocator.

asyncio reads sockets with `recv(256 KiB)`. Above glibc's initial mmap threshold (128 KiB)
each such read would cost an mmap/munmap pair. Freeing one large mmapped block makes glibc
raise its dynamic threshold above the read size, so later reads come from the heap. Today
something else freed at start-up already raises it (`bench/malloc_warmup.py` counts the calls
with and without this); the warm-up keeps that from depending on what happens to be imported.
"""

from __future__ import annotations

import sys

__all__ = ["warm_up"]


def warm_up() -> None:
    if sys.platform.startswith("linux"):
        bytearray(1024 * 1024)  # allocated by mmap, freed at once
