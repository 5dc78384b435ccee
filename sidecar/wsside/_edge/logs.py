"""Priorities for systemd's journal: when stderr is the journal, every line starts with its
syslog priority (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug), which journald takes
off and files the line under, so `journalctl -p warning` shows warnings and errors only.

systemd says where a service's stderr goes in `JOURNAL_STREAM` (`device:inode` of the
stream); a process whose stderr is something else (a terminal, a pipe to a log shipper, a file)
gets plain lines. Workers of `--workers` inherit both the stream and the variable.
"""

from __future__ import annotations

import functools
import logging
import os
import sys

__all__ = ["level_prefix", "mark_lines"]

_PRIORITIES = {"error": 3, "warning": 4, "info": 6, "debug": 7}


@functools.cache
def _to_journal() -> bool:
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        stat = os.fstat(sys.stderr.fileno())
        return (stat.st_dev, stat.st_ino) == (int(device), int(inode))
    except (ValueError, OSError, AttributeError):
        # no variable, or a stderr with no descriptor (replaced by a test runner, closed)
        return False


def level_prefix(level: str | int) -> str:
    """What starts a line of `level` (a name, `"warning"`, or a `logging` number): its
    priority when stderr is the journal, else nothing."""
    if not _to_journal():
        return ""
    if isinstance(level, int):
        name = logging.getLevelName(level).lower()
        level = "error" if level >= logging.ERROR else name
    return f"<{_PRIORITIES.get(level, 6)}>"


def mark_lines(text: str, level: str | int) -> str:
    """`text` with each of its lines prefixed for `level` (a traceback's lines are filed with
    its headline, not at the stream's default priority)."""
    prefix = level_prefix(level)
    if not prefix:
        return text
    return "\n".join(prefix + line for line in text.split("\n"))
