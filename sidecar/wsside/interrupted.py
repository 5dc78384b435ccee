"""`HandlerInterrupted`: what a callback that blocks the event loop gets when a handler file is
saved under hot reload, so that the save can load."""

from __future__ import annotations

__all__ = ["HandlerInterrupted"]


class HandlerInterrupted(Exception):
    """Raised inside a callback that blocked the event loop (`while True:`, a long computation)
    when a handler file is saved under hot reload, so the save can load. Catching `Exception`
    around such code swallows it: let it through.

    Raised by class from another thread (`PyThreadState_SetAsyncExc` takes no instance): the
    message is that of the last interrupt, set just before.
    """

    __module__ = "wsside"  # exported there; tracebacks name it as users import it
    why = ""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or (type(self).why,)))
