"""How the sidecar's lines are written to stderr: `configure_logging` (the format, the level,
a worker's name on each line) and, when stderr is systemd's journal, each line's syslog
priority (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug), which journald takes off and
files the line under, so `journalctl -p warning` shows warnings and errors only.

systemd says where a service's stderr goes in `JOURNAL_STREAM` (`device:inode` of the
stream); a process whose stderr is something else (a terminal, a pipe to a log shipper, a file)
gets plain lines. Workers of `--workers` inherit both the stream and the variable.

With `--log-format json` (`log_format = "json"`), each record is one JSON object on one line
instead (`json_line`): `time`, `level`, `logger`, `message`, `worker`, `pid`, `exc`. In the
journal it starts with its priority too, which journald takes off: the journal's message is
the JSON object. Under Vite the lines stay the shim's (`own_line`), whatever the format.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from datetime import datetime
from typing import Any

from .._runtime.access import access_log
from .._runtime.events import lines_name_the_process
from .environ import take_from_environment

__all__ = [
    "configure_logging",
    "json_line",
    "json_lines",
    "level_prefix",
    "mark_lines",
    "own_line",
    "take_mark",
    "use_log_format",
]

_PRIORITIES = {"error": 3, "warning": 4, "info": 6, "debug": 7}

# Whether each line is a JSON object (`--log-format json`), and then the index of the worker
# of `--workers N` that writes them (None: the only process, or the supervising parent).
_json = False
_worker: int | None = None


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


def _level_word(level: str | int) -> str:
    """`level` (a name or a `logging` number) as one of debug, info, warning, error: one
    between two as the lower, critical as error."""
    if isinstance(level, str):
        return level if level in _PRIORITIES else "info"
    return next((name for name, at in _JSON_LEVELS if level >= at), "debug")


def use_log_format(log_format: str, name: str = "wsside") -> None:
    """Write the lines as `log_format` (`"text"` or `"json"`) from now on: the log handler's
    (`configure_logging`) and those written with `mark_lines`. `name` is the process's, as
    its lines start (`wsside[1]` for worker 1: its JSON lines carry `"worker": 1`)."""
    global _json, _worker
    _json = log_format == "json"
    found = re.fullmatch(r"wsside\[(\d+)\]", name)
    _worker = int(found.group(1)) if found else None
    # Python's warnings and a thread's uncaught exception are written to stderr by Python
    # itself; as JSON lines they go through the log handler.
    logging.captureWarnings(_json)
    if _json and threading.excepthook is threading.__excepthook__:
        threading.excepthook = _thread_error
    elif not _json and threading.excepthook is _thread_error:
        threading.excepthook = threading.__excepthook__


def json_lines() -> bool:
    """Whether each line is a JSON object (`--log-format json`)."""
    return _json


_HOST = socket.gethostname()  # a container's is its id, or the name the orchestrator gave it


def json_line(
    message: str,
    level: str | int,
    *,
    logger: str = "wsside",
    exc: str | None = None,
    created: float | None = None,
) -> str:
    """One JSON object on one line (non-ASCII and control characters escaped, so no reader
    splits it), with its priority first when stderr is the journal: `{"time":
    "2025-05-01T12:00:01.234+02:00", "level": "warning", "logger": "wsside", "message": …,
    "worker": 1, "host": "web-2", "pid": 4242, "exc": "Traceback …"}` (`worker` under
    `--workers` only, `exc` when there is a traceback; `host`: the machine's name, so that
    lines gathered from several hosts say which one, where the shipper adds none).
    `created` is when it happened (a log record's), else now."""
    when = datetime.fromtimestamp(time.time() if created is None else created).astimezone()
    fields: dict[str, Any] = {
        "time": when.isoformat(timespec="milliseconds"),
        "level": _level_word(level),
        "logger": logger,
        "message": message,
    }
    if _worker is not None:
        fields["worker"] = _worker
    fields["host"] = _HOST
    fields["pid"] = os.getpid()
    if exc:
        fields["exc"] = exc.rstrip("\n")
    return level_prefix(level) + json.dumps(fields)


def mark_lines(text: str, level: str | int) -> str:
    """`text` with each of its lines prefixed for `level` (a traceback's lines are filed with
    its headline, not at the stream's default priority); with `--log-format json`, `text` as
    the message of one JSON line (`json_line`)."""
    if _json:
        return json_line(text, level)
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


def configure_logging(
    level: str, *, under_vite: bool = False, name: str = "wsside", log_format: str | None = None
) -> None:
    """Log to stderr at `level` (debug, info, warning or error).

    Standalone, each line starts with the time, or is a JSON object with `log_format` "json"
    (None: the format `use_log_format` set, text at first). Under Vite the shim prints each
    line with Vite's own timestamp, and a line per connection would drown reloads and errors
    there: the access log (`wsside.access`) shows only at debug. A worker of `--workers`
    passes its `name` (`wsside[1]`), and every line it logs starts with it, as its reports
    do. Called again when the config file changes: the level follows it (and the format,
    which `wsside serve` sets as it reads the file: `use_log_format`)."""
    global _handler
    if under_vite:
        take_mark()
    elif log_format is not None:
        use_log_format(log_format, name)
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
        if self._under_vite:
            if _ours(record):
                return self._for_vite(record)
        elif _json:
            return self._as_json(record)
        return mark_lines(super().format(record), record.levelno)

    def _as_json(self, record: logging.LogRecord) -> str:
        """The record as one JSON line (`json_line`): its message as the text line shows it
        after the time, a traceback in `exc` (without a worker's name on its lines)."""
        message = record.getMessage().rstrip("\n")  # a warning's (`py.warnings`) ends so
        if self._name is not None:
            message = f"{self._name}: {message.removeprefix('wsside: ')}"
        exc = None
        if record.exc_info:
            exc = logging.Formatter.formatException(self, record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        if record.stack_info:
            exc = (exc + "\n" if exc else "") + self.formatStack(record.stack_info)
        return json_line(
            message, record.levelno, logger=record.name, exc=exc, created=record.created
        )

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


# The level words of JSON lines, highest first.
_JSON_LEVELS = (*_VITE_LEVELS, ("debug", logging.NOTSET))


def _thread_error(args: threading.ExceptHookArgs) -> None:
    """A thread's uncaught exception as one JSON line (`threading.excepthook`), with the words
    Python's own hook writes: `Exception in thread worker-1`, its traceback in `exc`."""
    if args.exc_type is SystemExit:  # ends the thread quietly, as Python's hook does
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    if args.exc_value is None:  # only a type: Python's hook says that much too
        logging.getLogger("threading").error(f"Exception in thread {name}: {args.exc_type}")
        return
    logging.getLogger("threading").error(
        f"Exception in thread {name}",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "wsside" or record.name.startswith("wsside.")
