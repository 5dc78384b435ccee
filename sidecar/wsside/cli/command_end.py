"""How a command that imports handler files ends: with its exit status once it is done,
without waiting for the threads that handler code left running (`_edge/ending.py`)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec

import typer

from .._edge.ending import end_now, threads_left

__all__ = ["ends_past_threads"]

P = ParamSpec("P")


def ends_past_threads(
    say: Callable[[str], None],
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Makes a command that imports handler files end its process with its exit status once
    it is done (`end_now`), when threads that Python would wait for at exit are left (a
    training loop a handler file started at its top level); `say` writes the line naming them
    (`the thread "trainer"`). A command that ends with an error's traceback is left to Python."""

    def ends(command: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                command(*args, **kwargs)
            except typer.Exit as exc:
                end_now(exc.exit_code, say)
                raise
            except SystemExit as exc:  # `sys.exit()`: under Vite (`shim_mode.run_ipc`)
                if exc.code is None or isinstance(exc.code, int):
                    end_now(exc.code or 0, say)
                elif threads_left():
                    print(exc.code, file=sys.stderr)  # as Python would print it, with status 1
                    end_now(1, say)
                raise
            end_now(0, say)

        return run

    return ends
