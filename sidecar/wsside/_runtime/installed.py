"""Whether the wsside installed now is the one this process runs: `pip install -U wsside` (or
an uninstall) under a running Vite or `wsside serve` changes the files on disk, and the process
keeps the code it imported until it starts again. Asked at each batch of saves (hot reload),
said once."""

from __future__ import annotations

import os
from importlib import metadata

from .. import __version__
from .events import log

__all__ = ["note_another_install"]

_said = False


def note_another_install() -> None:
    """One warning, the first time the installed wsside differs from this process's."""
    global _said
    if _said:
        return
    try:
        installed: str | None = metadata.version("wsside")
    except metadata.PackageNotFoundError:
        installed = None
    if installed == __version__:
        return
    _said = True
    now = f"wsside {installed} is installed now" if installed else "wsside is uninstalled now"
    log(
        f"{now}, and this process (pid {os.getpid()}) runs wsside {__version__}, which it keeps "
        "until it starts again: restart it (under Vite: restart Vite, or stop the sidecar with "
        f"kill {os.getpid()}, which Vite starts again)",
        "warning",
    )
