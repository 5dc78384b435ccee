"""`WSSIDE_WORKER`, read by `wsside serve`: set by the parent of `--workers N` for each worker
it starts, never by a person. A stray or mangled value is one line and exit 2, not a
traceback."""

from __future__ import annotations

import os

import typer

from .._edge.worker_link import ENV, WorkerLink
from .console import say

__all__ = ["worker_link"]


def worker_link() -> WorkerLink | None:
    """The link to the parent when this process is a worker of `--workers N`, else None."""
    value = os.environ.get(ENV)
    try:
        return WorkerLink.from_env()
    except (ValueError, OSError):  # not index:port:fd:host, or no socket at that fd
        say(
            f"wsside: {ENV}={value!r} is malformed: it is internal to `wsside serve --workers N`, "
            "which sets it for each worker it starts; unset it",
            level="error",
        )
        raise typer.Exit(2) from None
