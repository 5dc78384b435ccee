"""What a `Handler` tells about how it is used, apart from its declaration: a handler file
run as a script (`python ws/chat.py` serves nothing), and a push through a declaration that
a reload left behind, from that declaration's own background task."""

from __future__ import annotations

import atexit
import inspect
import sys
from types import FrameType
from typing import TYPE_CHECKING

from ._places import shown

if TYPE_CHECKING:
    from ._signatures import Callback
    from .handler import Handler

__all__ = ["declared_in_a_script", "running_background"]


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
