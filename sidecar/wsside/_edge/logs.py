"""How the sidecar's lines are written to stderr: `configure_logging` (the format, the level,
a worker's name on each line) and, when stderr is systemd's journal, each line's syslog
priority (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug), which journald takes off and
files the line under, so `journalctl -p warning` shows warnings and errors only.

systemd says where a service's stderr goes in `JOURNAL_STREAM` (`device:inode` of the
stream); a process whose stderr is something else (a terminal, a pipe to a log shipper, a file)
gets plain lines. Workers of `--workers` inherit both the stream and the variable.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Any

from .._runtime.access import access_log
from .._runtime.events import lines_name_the_process
from .environ import take_from_environment

__all__ = ["configure_logging", "level_prefix", "mark_lines", "own_line", "take_mark"]

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


# The handler `configure_logging` set up: later calls change its level and format, and
# leave any handler of the user's code alone.
_handler: logging.Handler | None = None

# Under Vite, the shim's random mark for this run (PROTOCOL.md): each line of wsside's own
# carries it, and the shim takes no other line for one of wsside's, so that no text a handler
# prints (a client's message, say) passes for wsside's words. "" when not given (the sidecar
# run by hand): the lines have no mark.
MARK_ENV = "WSSIDE_MARK"
_mark = ""


def take_mark() -> None:
    """Takes the shim's mark out of the environment (`WSSIDE_MARK`) as the secret is
    (`environ.py`): handler code, and the programs it starts, never see it. Called before any
    handler file is imported; a later call without the variable keeps the mark taken."""
    global _mark
    _mark = take_from_environment(MARK_ENV) or _mark


def own_line(text: str, level: str | None = None) -> str:
    """`text` as wsside's own lines under Vite, each with the run's mark and `level` when
    given (`wsside:<mark>:warning: …`; `wsside:<mark>: …` without a level, which the shim
    shows as info), or without a mark when none was given (`wsside:warning: …`, `wsside: …`)."""
    prefix = "wsside" + (f":{_mark}" if _mark else "") + (f":{level}" if level else "")
    return "\n".join(f"{prefix}: {line}" for line in text.splitlines() or [""])


def configure_logging(level: str, *, under_vite: bool = False, name: str = "wsside") -> None:
    """Log to stderr at `level` (debug, info, warning or error).

    Standalone, each line starts with the time. Under Vite the shim prints each line with
    Vite's own timestamp, and a line per connection would drown reloads and errors there: the
    access log (`wsside.access`) shows only at debug. A worker of `--workers` passes its
    `name` (`wsside[1]`), and every line it logs starts with it, as its reports do.
    Called again when the config file changes: the level follows it.
    """
    global _handler
    if under_vite:
        take_mark()
    lines_name_the_process()
    root = logging.getLogger()
    if _handler is None:
        before = set(root.handlers)
        logging.basicConfig()
        # The handler basicConfig added (none when the root logger had one already).
        _handler = next((h for h in root.handlers if h not in before), None)
    root.setLevel(getattr(logging, level.upper()))
    if _handler is not None:
        _handler.setFormatter(_Lines(under_vite, None if name == "wsside" else name))
    # watchdog logs every raw file-system event at debug; reloads say what changed already.
    logging.getLogger("watchdog").setLevel(logging.WARNING)
    # asyncio's debug lines are about the loop itself ("Using selector: EpollSelector"), and
    # under Vite would read as the app's; its warnings (a slow callback) still show.
    logging.getLogger("asyncio").setLevel(logging.INFO)
    # redis-py's debug lines are its client's own business (a Redis without a command it
    # tries: "Failed to enable maintenance notifications"); the backplane says what matters.
    logging.getLogger("redis").setLevel(logging.INFO)
    access_log.setLevel(logging.WARNING if under_vite and level != "debug" else logging.NOTSET)


class _Lines(logging.Formatter):
    """`12:00:01 message` (under Vite, the message alone: Vite's terminal has its own clock).
    A worker's lines say which process wrote them: `12:00:01 wsside[1]: 127.0.0.1:5123 - …`
    (wsside's own lines, which start with `wsside:`, name the process there instead). When
    stderr is systemd's journal, each line starts with its priority (`logs.py`).

    Under Vite, each line of a record of wsside's own loggers starts with the run's mark and
    its level, `wsside:<mark>:<level>: ` (`wsside:3f9a0c2b7d1e:warning: the event loop is
    blocked…`; the message's own `wsside: ` goes; `wsside:<level>: ` when the shim gave no
    mark): the shim prints it once as `[wsside] the event loop is blocked…` at that level, and
    everything else the process writes (a handler's print or logging, a crash, a line that
    only looks like one of these) as `[wsside] py: …`."""

    def __init__(self, under_vite: bool, name: str | None) -> None:
        super().__init__("%(message)s" if under_vite else "%(asctime)s %(message)s", "%H:%M:%S")
        self._name = name
        self._under_vite = under_vite

    def formatException(self, ei: Any) -> str:
        # A traceback's lines too: workers share the terminal.
        text = super().formatException(ei)
        if self._name is None:
            return text
        return "\n".join(f"{self._name}: {line}" for line in text.splitlines())

    def formatMessage(self, record: logging.LogRecord) -> str:
        if self._name is None:
            return super().formatMessage(record)
        message = record.message
        record.message = f"{self._name}: {message.removeprefix('wsside: ')}"
        try:
            return super().formatMessage(record)
        finally:
            record.message = message

    def format(self, record: logging.LogRecord) -> str:
        if self._under_vite and _ours(record):
            return self._for_vite(record)
        return mark_lines(super().format(record), record.levelno)

    def _for_vite(self, record: logging.LogRecord) -> str:
        """A record of wsside's, each line marked with the run's mark and its level for the
        shim."""
        level = next((name for name, at in _VITE_LEVELS if record.levelno >= at), "debug")
        text = record.getMessage().removeprefix("wsside: ")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return own_line(text, level)


# The levels the shim knows (node_shim/lib/report.js), highest first; one between two goes as the
# lower, one below info as debug.
_VITE_LEVELS = (
    ("error", logging.ERROR),
    ("warning", logging.WARNING),
    ("info", logging.INFO),
)


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "wsside" or record.name.startswith("wsside.")
