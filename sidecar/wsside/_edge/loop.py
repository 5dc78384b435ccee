"""The event loop a sidecar process runs on: uvloop when it is installed (`wsside[speed]`),
else asyncio's own.

uvloop runs the loop itself (polling, timers, callbacks) in C; what wsside does per message
is the same either way. `WSSIDE_LOOP=asyncio` keeps asyncio's loop with uvloop installed
(to compare the two, or to rule uvloop out); `WSSIDE_LOOP=uvloop` makes its absence an error.
`WSSIDE_JSON`, the codec's choice, is made when the codec is imported and checked here with it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = [
    "EXECUTOR_WAIT",
    "LOOP_ENV",
    "LoopChoiceError",
    "engines",
    "loop_factory",
    "loop_name",
    "run",
]

LOOP_ENV = "WSSIDE_LOOP"
_CHOICES = ("auto", "asyncio", "uvloop")

T = TypeVar("T")

# How long the end of `run` waits for the threads of `asyncio.to_thread` (and
# `run_in_executor(None, ...)`) still working, before it returns without them.
EXECUTOR_WAIT = 2.0


class LoopChoiceError(Exception):
    """WSSIDE_LOOP or WSSIDE_JSON names an engine that cannot be had (one line for the user)."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's default loop. (WSSIDE_JSON, the other
    engine choice, is made when the codec is imported; a value it cannot honour is refused
    here, with a bad WSSIDE_LOOP.)"""
    _check_json_choice()
    choice = os.environ.get(LOOP_ENV, "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise LoopChoiceError(
            f"{LOOP_ENV}={os.environ[LOOP_ENV]!r} is not one of {', '.join(_CHOICES)}"
        )
    if choice == "asyncio" or sys.platform == "win32":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise LoopChoiceError(
                f"{LOOP_ENV}=uvloop but uvloop is not installed: {_install_speed()}"
            ) from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _check_json_choice() -> None:
    from .._protocol.codec import JSON_ENGINE, JSON_ENV, json_choice

    try:
        choice = json_choice()
    except ValueError as exc:  # the codec's one line, said as a bad WSSIDE_LOOP is
        raise LoopChoiceError(str(exc)) from None
    if choice == "orjson" and JSON_ENGINE != "orjson":
        raise LoopChoiceError(f"{JSON_ENV}=orjson but orjson is not installed: {_install_speed()}")


def _install_speed() -> str:
    from .._install import pip_install, wsside_requirement

    return pip_install(sys.executable, wsside_requirement("speed"))


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """'uvloop' or 'asyncio', for the start-up line and `wsside doctor`."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def engines() -> str:
    """What serves this process, for the start-up line: "uvloop, orjson" and the like (call
    it on the running loop)."""
    from .._protocol.codec import JSON_ENGINE

    return f"{loop_name(asyncio.get_running_loop())}, {JSON_ENGINE}"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the chosen loop, whose default executor (`asyncio.to_thread`'s)
    is waited for `EXECUTOR_WAIT` seconds at most at the end (`_Executor`)."""
    try:
        factory = loop_factory()
    except LoopChoiceError:
        main.close()
        raise
    main = _with_executor(main)
    if factory is None:
        return asyncio.run(main)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    loop = factory()  # Python 3.10: no Runner; what asyncio.run does, on this loop
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


async def _with_executor(main: Coroutine[Any, Any, T]) -> T:
    asyncio.get_running_loop().set_default_executor(_Executor(thread_name_prefix="asyncio"))
    return await main


class _Executor(ThreadPoolExecutor):
    """asyncio's default executor, but for its end: asyncio (`asyncio.run` and the Runner)
    waits for every thread still working, without a limit before Python 3.12, so a handler's
    `await asyncio.to_thread(train)` whose `train` never returns (a loop with no way to stop
    it) would keep `wsside serve` running after its `stopped` line, for good. Here the end
    waits `EXECUTOR_WAIT` seconds at most; a thread still working then is left to the
    command's end (`ending.py`: the process exits without it, and a line names it)."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)  # queued work never starts
        if not wait:
            return
        deadline = time.monotonic() + EXECUTOR_WAIT
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
