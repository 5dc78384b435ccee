"""Status events: what the sidecar tells whoever supervises it (the shim, or the console).

Events are plain dicts with a `type` (`loaded`, `reloaded`, `removed`, `load_error`,
`runtime_error`, `config_error`, `config_ok`, `log`, `stall`, `closed`); errors carry `file`,
`line`, `message` and `traceback`. Under Vite, those in `_edge/control.SIDECAR_EVENTS` go to
the shim (node_shim/PROTOCOL.md).
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._places import shown

if TYPE_CHECKING:
    from ..handler import Handler

__all__ = [
    "PACKAGE",
    "emit",
    "error_event",
    "error_headline",
    "error_place",
    "lines_name_the_process",
    "listed",
    "log",
    "logger",
    "refused_at_its_line",
    "report_runtime_error",
    "shown",
    "subscribe",
    "this_process",
    "unsubscribe",
]

logger = logging.getLogger("wsside")
_subscribers: list[Callable[[dict[str, Any]], None]] = []


def subscribe(fn: Callable[[dict[str, Any]], None]) -> None:
    _subscribers.append(fn)


def unsubscribe(fn: Callable[[dict[str, Any]], None]) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


def emit(event: dict[str, Any]) -> None:
    """Deliver an event to every subscriber; a failing subscriber is logged, never raised."""
    for fn in tuple(_subscribers):
        try:
            fn(event)
        except Exception:
            logger.exception("wsside: status subscriber failed")


# Whether the lines this process writes say which process wrote them: `wsside serve` and Vite's
# sidecar set up their own lines (`_edge/logs.configure_logging`: one process, or `wsside[1]: `
# on every line of a worker). Under an ASGI server nobody does, and the workers of
# `uvicorn --workers 2` write to one stream.
_lines_name_the_process = False


def lines_name_the_process() -> None:
    """Called by whatever writes this process's lines with its name (`configure_logging`)."""
    global _lines_name_the_process
    _lines_name_the_process = True


def this_process(message: str) -> str:
    """`message` as a line that says which process it is about, where the lines do not say
    so themselves (under an ASGI server): `pid 4242: backplane … is unavailable`, the pid that
    uvicorn's own `Started server process [4242]` shows."""
    return message if _lines_name_the_process else f"pid {os.getpid()}: {message}"


def log(message: str, level: str = "info") -> None:
    """Emit a `log` event: a line for Vite's terminal or the console (level info, warning
    or error)."""
    emit({"type": "log", "level": level, "message": message})


def error_event(
    kind: str, exc: BaseException, *, files: tuple[str, ...] = (), **fields: Any
) -> dict[str, Any]:
    """An error event located at the innermost traceback frame inside one of `files`
    (the user's handler files; none there: file and line are None), or at the innermost
    frame when `files` is empty; SyntaxErrors use their own spot.
    The traceback starts at the user's code: wsside's and importlib's frames that called it
    say nothing about the error."""
    file, line, column = _locate(exc, files)
    shown_tb = _from_user_code(exc, files)
    report = traceback.TracebackException(type(exc), exc, shown_tb)
    if files and not logger.isEnabledFor(logging.DEBUG):
        report.stack = _without_wsside_tail(report.stack)
    text = "".join(report.format())
    return {
        "type": kind,
        "message": printable(f"{type(exc).__name__}: {exc}"),
        "file": file,
        "line": line,
        "column": column,
        "traceback": printable(text),
        **fields,
    }


# Control characters but newline and tab (C0, DEL, C1): a terminal acts on them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def listed(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`: names in a sentence."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def printable(text: str) -> str:
    """`text` with its control characters written out (`\\x1b`): an exception's message
    may carry what a client sent (`ValueError(f"unknown command {data}")`), and an escape
    sequence in it would act on the terminal that shows the log (clear it, retitle it)."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def error_headline(event: dict[str, Any]) -> str:
    """The first line of a load or runtime error event for a person, worded as Vite's terminal
    words it (node_shim/lib/report.js): `cannot load ws/x.py:3: ZeroDivisionError: ...`,
    `error in on_message of ws/y.py:5: ValueError: ...`. Whole on its own, for a log read line
    by line; the traceback follows it.

    A connection's callback error names the connection after its place, as its access line
    does: `error in on_message of ws/y.py:5 (127.0.0.1:43506 - "WebSocket /api/echo"): ...`
    (`authenticate`'s has the address without its port, `("WebSocket /api/echo")` where the
    client is not known). Among many connections, it
    says which one failed, and finds its opening and closing lines."""
    where = error_place(event) if event.get("file") else "unknown location"
    where += _kept_from_loading(event)
    if event.get("path") is not None:
        # As the client sent it: percent-encoded, so no control character reaches the log.
        request = f'"WebSocket {event["path"]}"'
        client = event.get("client")
        where += f" ({request})" if client is None else f" ({client} - {request})"
    if event.get("type") == "load_error":
        what = "cannot load"
    else:
        what = f"error in {event.get('callback') or 'a handler'} of"
    # A message's own lines are indented: none of them reads as a line of the log itself.
    message = str(event.get("message")).replace("\n", "\n  ")
    return f"{what} {where}: {message}"


# The handler files a helper's error names, at most: the rest are counted.
_NAMED_IMPORTERS = 4


def _kept_from_loading(event: dict[str, Any]) -> str:
    """A helper's load error names the handler files it kept from loading (`sources`), as
    the shim's `keptFromLoading` does: ` (so ws/chat.py and ws/game.py did not load)`; ''
    for any other error."""
    files = [shown(f) for f in event.get("sources") or () if f != event.get("file")]
    if not files:
        return ""
    if len(files) > _NAMED_IMPORTERS:
        files = [*files[: _NAMED_IMPORTERS - 1], f"{len(files) - _NAMED_IMPORTERS + 1} more"]
    listed = files[0] if len(files) == 1 else f"{', '.join(files[:-1])} and {files[-1]}"
    return f" (so {listed} did not load)"


def error_place(event: dict[str, Any], name: Callable[[str], str] = shown) -> str:
    """Where an error event with a `file` is, as `name` spells the file: `ws/chat.py:3`, or
    the file alone when the event has no line (the file itself is the cause: a symlink that
    leads nowhere)."""
    line = event.get("line")
    return name(event["file"]) + (f":{line}" if line else "")


def _from_user_code(exc: BaseException, files: tuple[str, ...]) -> TracebackType | None:
    """`exc`'s traceback from its first frame in `files` on (all of it when none is there);
    none for a SyntaxError in one of them, whose message shows the line itself."""
    tb = exc.__traceback__
    if not files:
        return tb
    wanted = {os.path.realpath(f) for f in files}
    if isinstance(exc, SyntaxError) and exc.filename and os.path.realpath(exc.filename) in wanted:
        return None
    first = tb
    while first is not None and os.path.realpath(first.tb_frame.f_code.co_filename) not in wanted:
        first = first.tb_next
    return first or tb


# The package's own files: a check of wsside's that refused what user code gave it (a bad
# pattern, an option's value, `conn.send(set())`) raises in them, below the user's line.
# wsside's own code: the package's folder.
PACKAGE = os.path.realpath(os.path.dirname(os.path.dirname(__file__))) + os.sep


def is_wsside(filename: str) -> bool:
    """Whether `filename` is one of wsside's own (a frame of the package's code)."""
    return os.path.realpath(filename).startswith(PACKAGE)


def _without_wsside_tail(stack: traceback.StackSummary) -> traceback.StackSummary:
    """`stack` ending at the user's line when only wsside's frames follow it: the message
    already says what the check refused, and its frames would bury the user's line under
    wsside's code (`--log-level debug` keeps them)."""
    end = len(stack)
    while end > 1 and is_wsside(stack[end - 1].filename):
        end -= 1
    if end == len(stack) or is_wsside(stack[end - 1].filename):
        return stack
    return traceback.StackSummary.from_list(stack[:end])


def refused_at_its_line(exc: BaseException, file: str, refusers: Iterable[str]) -> bool:
    """Whether `exc` is a refusal, raised in one of the modules `refusers` (the checks of
    `Handler`'s options and message types), of what a line of `file` that calls wsside itself
    gave it (`Handler(..., receives=T)`): cut at that line (`_without_wsside_tail`), its
    traceback would show that line only, which the report's file:line and message already say."""
    files = []
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith("<"):  # code made at run time (a dataclass's __init__)
            files.append(os.path.realpath(name))
        tb = tb.tb_next
    own = [i for i, name in enumerate(files) if name == os.path.realpath(file)]
    refusing = {os.path.realpath(name) for name in refusers}
    if len(own) != 1 or files[-1] not in refusing:
        return False
    return all(is_wsside(name) for name in files[own[0] + 1 :])


def report_runtime_error(
    handler: Handler,
    exc: BaseException,
    callback: str,
    path: str | None = None,
    client: str | None = None,
) -> None:
    """Emit a `runtime_error` for user code of `handler` that raised in `callback`, located in
    the handler's file (Vite's terminal and overlay, or the console, show it); `path` and
    `client` (`host:port`) say which connection's, where there is one."""
    fields: dict[str, Any] = {"pattern": handler.pattern.source, "callback": callback}
    if path is not None:
        fields["path"] = path
    if client is not None:
        fields["client"] = client
    event = error_event("runtime_error", exc, files=(handler.file,), **fields)
    if isinstance(exc, RuntimeError) and _LOOP_RUNNING.search(str(exc)):
        # `asyncio.run(fetch())` in a plain `def`, as a synchronous program would call it.
        event["message"] += (
            f" ({callback} runs on wsside's event loop: make it async def and await the "
            "coroutine instead)"
        )
    if event["file"] is None:
        # No frame in the handler's file (a builtin, or a function from another module, that
        # raised): the report points at the declaration rather than nowhere ("at " and no place).
        event.update(file=handler.file, line=handler.line)
    emit(event)


# What asyncio raises for `asyncio.run()` or `loop.run_until_complete()` inside a running loop.
_LOOP_RUNNING = re.compile(r"from a running event loop|event loop is already running")


def _locate(
    exc: BaseException, files: tuple[str, ...]
) -> tuple[str | None, int | None, int | None]:
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno, exc.offset
    wanted = {os.path.realpath(f) for f in files}
    best: tuple[str | None, int | None, int | None] = (None, None, None)
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not wanted or os.path.realpath(name) in wanted:
            best = (name, tb.tb_lineno, None)
        tb = tb.tb_next
    return best
