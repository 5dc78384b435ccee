"""What the doctor is doing while its checks run: one line on stderr, redrawn in place and
erased before the results are printed.

Only on a terminal: a person there sees a silent screen for the seconds Vite takes to resolve
its config or a probe takes to time out, and wonders whether it hung. Anywhere else (a CI log,
a script reading stderr) nobody watches it happen, and lines that say what was being checked
would only be noise beside the results, which are unchanged: the table and `--json` go to
stdout, after the line is gone.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

__all__ = ["Progress"]

_ERASE = "\r\x1b[2K"  # to the start of the line, then clear it
_WIDTH = 80  # a terminal that does not say its width (a new pty says 0)


class Progress:
    """Call it with each check's name before it runs, and `step` with a slow step inside it
    (`asking Vite for its resolved config`); `done` erases the line. Does nothing when
    `stream` (stderr) is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream: TextIO = sys.stderr if stream is None else stream
        self.shown: bool = _is_terminal(self.stream)
        self.check: str = ""
        self.drawn: bool = False

    def __call__(self, name: str, index: int, total: int) -> None:
        self.check = f"checking {name} ({index}/{total})"
        self._draw(self.check)

    def step(self, text: str) -> None:
        self._draw(f"{self.check}: {text}" if self.check else text)

    def done(self) -> None:
        if self.drawn:
            self._write(_ERASE)
        self.drawn = False
        self.check = ""

    def _draw(self, text: str) -> None:
        if not self.shown:
            return
        # Cut to the width: a line that wraps cannot be erased with \r.
        line = f"wsside doctor: {text}..."[: _columns(self.stream) - 1]
        self._write(_ERASE + line)
        self.drawn = True

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a terminal closed under us: the results still go out
            self.shown = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or no descriptor
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or _WIDTH
    except (OSError, ValueError, AttributeError):
        return _WIDTH
