"""The folder of the Unix socket that the shim pipes connections to under Vite: one only this
user can enter, with a path short enough for a socket in it. `shim_mode.py` makes it once the
handler files have loaded, and removes it when the sidecar stops."""

from __future__ import annotations

import os
import tempfile

__all__ = ["SOCKET_NAME", "private_folder"]

SOCKET_NAME = "sidecar.sock"
# A Unix socket's path is at most 103 bytes on macOS (104 with its NUL), 107 on Linux.
_SOCKET_PATH_MAX = 103


def private_folder() -> str:
    """A new folder for the Unix socket that only this user can enter (mkdtemp: mode 0700),
    in the temporary folder, or in /tmp when TMPDIR is too long a path for a socket in it."""
    folder = tempfile.mkdtemp(prefix="wsside-")
    if len(os.fsencode(os.path.join(folder, SOCKET_NAME))) <= _SOCKET_PATH_MAX:
        return folder
    os.rmdir(folder)
    return tempfile.mkdtemp(prefix="wsside-", dir="/tmp")
