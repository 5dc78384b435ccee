"""Taking a secret out of the process's environment, for good.

`os.environ.pop` removes a variable from what the process (and every program it starts) sees
from then on, but not from the environment block the kernel wrote at exec: that stays in the
process's memory, where `/proc/<pid>/environ` (and `ps e`) read it for anyone allowed to
inspect the process. So the value's bytes are overwritten in place first, found through
libc's `environ`, whose entries point into that block until a variable is removed.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["take_from_environment"]


def take_from_environment(name: str) -> str | None:
    """The value of the environment variable `name` (None if unset), removed from
    `os.environ` and overwritten in the process's initial environment where libc allows."""
    if name not in os.environ:
        return None
    _overwrite(name.encode() + b"=")
    return os.environ.pop(name)


def _overwrite(prefix: bytes) -> None:
    try:
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError, AttributeError, TypeError):  # no libc to ask (Windows)
        return
    i = 0
    while environ and (address := environ[i]):
        text = ctypes.string_at(address)
        if text.startswith(prefix):
            ctypes.memset(address + len(prefix), ord("x"), len(text) - len(prefix))
        i += 1
