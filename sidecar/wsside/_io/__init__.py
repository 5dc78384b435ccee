"""Transports and streams: the bytes of a connection on an asyncio transport, or (`asgi.py`)
the messages of one that an ASGI server owns.

This is the only layer that touches aiohttp's private names, and all of them come through
`engine.py`, which checks at import that the installed aiohttp is one wsside supports. The
check is here, without aiohttp, for the command line to run before it imports anything.
"""

from __future__ import annotations

import re
import sys

from .._install import pip_install

__all__ = ["SUPPORTED", "SUPPORTED_TEXT", "EngineVersionError", "check_version"]

# The aiohttp releases wsside is tested with: pyproject.toml says the same. 3.14.4 is the
# first to time out a connection that never sends a request (`wsside serve`'s head timeout).
SUPPORTED = ((3, 14, 4), (3, 15, 0))
SUPPORTED_TEXT = ">=3.14.4,<3.15"


class EngineVersionError(ImportError):
    """The installed aiohttp is outside the range wsside supports. Importing `engine` raises
    it; its message is the one line to show a user (the command line prints it alone)."""


def check_version(version: str) -> None:
    """Raise `EngineVersionError` unless `version` is in `SUPPORTED`."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    found = tuple(int(part) for part in m.groups()) if m else None
    low, high = SUPPORTED
    if found is None or not low <= found < high:
        raise EngineVersionError(
            f"wsside needs aiohttp {SUPPORTED_TEXT}, found {version}: "
            + pip_install(sys.executable, f"'aiohttp{SUPPORTED_TEXT}'")
        )
