"""Start-up tuning of glibc's allocator.

asyncio reads sockets with `recv(256 KiB)`. Above glibc's initial mmap threshold (128 KiB)
every such read costs an mmap/munmap pair, which doubled the CPU per message in our
measurements. Freeing one large mmapped block makes glibc raise its dynamic threshold above
the read size, so later reads come from the heap.
"""

from __future__ import annotations

import sys

__all__ = ["warm_up"]


def warm_up() -> None:
    if sys.platform.startswith("linux"):
        bytearray(1024 * 1024)  # allocated by mmap, freed at once
