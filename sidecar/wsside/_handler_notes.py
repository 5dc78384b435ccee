"""What a `Handler` tells about how it is used, apart from its declaration: a handler file
run as a script (`python ws/chat.py` serves nothing), a push through a declaration that a
reload left behind, from that declaration's own background task, a background task added
once the file has loaded, and a close reason longer than a close frame carries."""

from __future__ import annotations

import asyncio
import atexit
import inspect
import logging
import sys
import sysconfig
from types import FrameType
from typing import TYPE_CHECKING

from ._places import place, shown

if TYPE_CHECKING:
    from ._signatures import Callback
    from .handler import Handler

__all__ = [
    "background_too_late",
    "declared_in_a_script",
    "reason_too_long",
    "reason_unencodable",
    "warn_detached",
    "warn_unserved",
]


def background_too_late(handler: Handler, fn: object, names: dict[str, object]) -> str:
    """What `handler.background(fn)` says when called once the file has loaded (from a
    callback: a loop per game, say), where the task would never start; `names`: the
    caller's globals (the handler file's, usually), where the handler has its name."""
    name = getattr(fn, "__name__", "task")
    return (
        f"background: the background tasks of {handler!r} have started (when its file loaded, "
        f"or when ASGIApp took it), so {name} would never run; declare it with "
        f"@{_variable(handler, names)}.background at the top level of the file, above any "
        "ASGIApp(...). For a loop per room (a game's tick), one background task can serve "
        'every room that has members: docs/patterns.md, "A loop per room"; for one '
        'connection, asyncio.create_task from its callback ("A stream per connection")'
    )


def _variable(handler: Handler, names: dict[str, object]) -> str:
    """The name `handler` has in `names` (`chat` for `chat = Handler(...)`), or `handler`."""
    return next((name for name, value in names.items() if value is handler), "handler")


def warn_detached(handler: Handler, use: str) -> None:
    """Say that code still pushes through `handler` after its file was reloaded (`use`: what
    it did, "was broadcast to"): a loop the user started with `asyncio.create_task` keeps the
    old object, and reaches nobody for as long as it runs. Or the declaration's own background
    task, which the reload cancelled (before it stopped serving the declaration), does from its
    clean-up: its `finally` runs after the new version took over."""
    task = running_background(handler)
    if task is not None:
        logging.getLogger("wsside").warning(
            "wsside: %s at %s:%d %s by its background task %s (%s) after its file's "
            "reload (or removal) cancelled it: its finally runs after the new version took "
            "over, and what it sends reaches no connection",
            handler,
            shown(handler.file),
            handler.line,
            use,
            getattr(inspect.unwrap(task), "__name__", repr(task)),
            place(task),
        )
        return
    logging.getLogger("wsside").warning(
        "wsside: %s at %s:%d %s, but it is no longer served since its file was reloaded "
        "(or removed), and reaches no connection: %s",
        handler,
        shown(handler.file),
        handler.line,
        use,
        detached_advice(handler),
    )


# Where the standard library lives: a frame there is not the user's code.
_LIBRARIES = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})


def warn_unserved(handler: Handler, use: str) -> None:
    """Say that code pushes through `handler` (`use`: "was broadcast to") though no server
    has served it: most often a second copy of its file, imported as a module of the app's own
    (`from ws.chat import chat` in a FastAPI route, a test), whose `Handler` is not the one
    the server loaded from the file. Once per declaration: a push per request would repeat it."""
    # A call the event loop or a thread made (`loop.call_soon(h.broadcast, ...)`) names no
    # line of the user's: no place then.
    try:  # the caller of the Handler's method that called this
        caller: FrameType | None = sys._getframe(3)
    except ValueError:  # called straight from a thread's start or a loop's callback
        caller = None
    where = ""
    if caller is not None:
        file = caller.f_code.co_filename
        if not file.startswith(_LIBRARIES) and "site-packages" not in file:
            where = f" from {shown(file)}:{caller.f_lineno}"
    server = " or wsside.testing's server.handler(pattern)" if "pytest" in sys.modules else ""
    why = (
        "no server serves this object. When a server does serve the file, this is a second "
        "copy of it, imported as a module of your own: push through the one the server "
        f"loaded, your ASGIApp's .handler(pattern){server}, or from the handler's own callbacks "
        "(conn.broadcast)"
    )
    logging.getLogger("wsside").warning(
        "wsside: %s at %s:%d %s%s, which reaches no connection: %s",
        handler,
        shown(handler.file),
        handler.line,
        use,
        where,
        why,
    )


def running_background(handler: Handler) -> Callback | None:
    """The background function of `handler` that the code running now was called from (its
    frame is on the stack), if any: for the warning of a push through a declaration that is
    no longer served."""
    codes = {
        id(code): fn
        for fn in handler.background_tasks
        if (code := getattr(inspect.unwrap(fn), "__code__", None)) is not None
    }
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        fn = codes.get(id(frame.f_code))
        if fn is not None:
            return fn
        frame = frame.f_back
    return None


def detached_advice(handler: Handler) -> str:
    """What to write instead, for the warning of a push through a declaration that is no
    longer served (none of its own background tasks on the stack)."""
    if _in_a_connection_callback():
        return (
            "this runs in a callback of a connection opened before the save (an on_close or "
            "on_message that awaited across it): conn.broadcast(...) reaches the endpoint as "
            "it is served now"
        )
    if handler.background_tasks:
        return (
            "a thread its background task started runs on after the task was cancelled: stop "
            "it from the task's finally (docs/patterns.md, A producer in a thread)"
        )
    return (
        "a loop that outlives a reload belongs in a @handler.background task, which "
        "restarts with the new code"
    )


def _in_a_connection_callback() -> bool:
    """Whether the code running now is a connection's callback (the task of its callback
    queue, `_runtime/callback_queue.py`; named here, not imported: this layer is below it)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return False
    coro = task.get_coro() if task is not None else None
    return getattr(coro, "__qualname__", "") == "CallbackQueue._work"


_script_handlers: list[Handler] = []


def declared_in_a_script(handler: Handler) -> None:
    """`python ws/chat.py` runs a handler file as a script: it declares its handlers and
    exits, serving nothing, without a word. At exit, unless something in the process served
    handlers (a server, `wsside.testing` or `ASGIApp` made a hub), one line says where
    handler files run."""
    if not _script_handlers:
        atexit.register(_served_nothing)
    _script_handlers.append(handler)


def _served_nothing() -> None:
    if "wsside._runtime.hub" in sys.modules:  # a script that serves them itself
        return
    first = _script_handlers[0]
    names = ", ".join(repr(h) for h in _script_handlers)
    sys.stderr.write(
        f"wsside: {shown(first.file)} declares {names} and ran as a script, which serves "
        "nothing: a handler file is served by Vite (npx vite, with vite-plugin-wsside in "
        "vite.config) or by wsside serve\n"
    )


# The lines whose conn.close(...) had a reason cut: each is said once.
_REASONS_CUT: set[tuple[str, int]] = set()


def reason_too_long(reason: str | bytes, cut: bytes, caller: FrameType) -> None:
    """Say, once per line, that `conn.close(...)` at `caller` gave a reason longer than the 123
    bytes of UTF-8 a close frame carries, and that it went as `cut`: a non-ASCII reason
    reaches that in far fewer characters (`ação` is 6 bytes)."""
    text = reason if isinstance(reason, str) else bytes(reason).decode()
    _reason_note(
        caller,
        f"the reason is {len(text.encode())} bytes of UTF-8 ({len(text)} characters), more "
        f"than the 123 a close frame carries: sent cut to {len(cut.decode())} characters, "
        f"{cut.decode()!r}",
    )


def reason_unencodable(caller: FrameType) -> None:
    """Say, once per line, that `conn.close(...)` at `caller` gave a reason holding a lone
    surrogate (half an emoji, from a page's text), sent with U+FFFD in its place."""
    _reason_note(
        caller,
        "the reason holds a lone surrogate (half an emoji?), which UTF-8 cannot carry: sent "
        "with U+FFFD in its place",
    )


def _reason_note(caller: FrameType, said: str) -> None:
    where = (caller.f_code.co_filename, caller.f_lineno)
    if where in _REASONS_CUT:
        return
    _REASONS_CUT.add(where)
    logging.getLogger("wsside").warning(
        "wsside: %s:%d: conn.close(): %s", shown(where[0]), where[1], said
    )
