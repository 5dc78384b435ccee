"""Importing the handler files as the sidecar would, with a time limit, in this Python or in
the one the shim will spawn.

`wsside doctor` may run on another Python than the sidecar (a wsside installed with pipx, the
project's `.venv` for the sidecar): a package installed in one is missing in the other. When
the interpreters differ, the imports run in the sidecar's, as `python -m
wsside.doctor.imports ROOT TIMEOUT [VITE_ROOT]`, which prints one JSON line; VITE_ROOT, the
folder of a Vite project's vite.config, makes the hints for a module not found those of the
plugin's sidecar (`missing_module.for_vite`).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._edge.ending import end_now
from .._runtime.helper_path import use_helpers_of
from .._runtime.in_a_loop import in_a_running_loop
from .._runtime.loader import LoadResult, import_handler_file
from .._runtime.missing_module import Missing, for_vite
from .._runtime.module_names import handler_files

__all__ = ["Imported", "StillImporting", "import_within", "imported", "main"]


@dataclass(frozen=True)
class Imported:
    """How one handler file imported: its load error (None: it did) and its patterns."""

    path: Path
    error: dict[str, Any] | None
    patterns: tuple[str, ...]
    missing: Missing | None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Imported:
        missing = data.get("missing")
        return cls(
            Path(data["path"]),
            data.get("error"),
            tuple(data.get("patterns", ())),
            Missing(**missing) if isinstance(missing, dict) else None,
        )


def imported(result: LoadResult) -> Imported:
    patterns = tuple(h.pattern.source for h in result.handlers)
    return Imported(result.path, result.error, patterns, result.missing)


class StillImporting(BaseException):
    """Raised into a handler file whose import has not returned within doctor's timeout. A
    BaseException, so that the file's own `except Exception:` (a retry loop) lets it through;
    raised again every second until the import gives up."""


def import_within(path: Path, root: Path, timeout: float) -> LoadResult:
    """`import_handler_file`, interrupted after `timeout` seconds: code at a file's top level
    that blocks would hold doctor for good. The import stays on the main thread, where the
    sidecar runs it too (signal.signal, for one, works only there); an interval timer's
    signal interrupts it, and the error lands on the line that blocked."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        return _as_served(path, root)  # Windows, or a caller's thread: no timer

    def interrupt(signum: int, frame: object) -> None:
        raise StillImporting(
            f"still importing after {timeout:g} s: does code at its top level block? "
            "(no endpoint serves until every handler file has loaded)"
        )

    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    their_timer = signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)
    try:
        return _as_served(path, root)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if their_timer[0]:  # a timer of the caller's: it goes on, less the time spent here
            left = max(their_timer[0] - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, their_timer[1])


def _as_served(path: Path, root: Path) -> LoadResult:
    """`import_handler_file` inside a running event loop, as the sidecar imports it."""
    return in_a_running_loop(lambda: import_handler_file(path, root))


def main(argv: list[str]) -> None:
    """Import every handler file under ROOT (argv[0]), each within TIMEOUT (argv[1]) seconds,
    for the Vite project in VITE_ROOT (argv[2]) when given, and print how each went as one
    JSON line."""
    root, timeout = Path(argv[0]), float(argv[1])
    use_helpers_of(root)
    results = []
    vite = for_vite(Path(argv[2])) if len(argv) > 2 else contextlib.nullcontext()
    # A handler file's own prints must not mix with the answer.
    with contextlib.redirect_stdout(sys.stderr), vite:
        for path in handler_files(root):
            results.append(imported(import_within(path, root, timeout)).as_json())
    print(json.dumps({"python": sys.executable, "results": results}))


if __name__ == "__main__":
    main(sys.argv[1:])
    # The answer is written: a thread a handler file started (a training loop) does not keep
    # this process, and doctor waiting for it, running. Its name goes to stderr, unread.
    end_now(0, lambda threads: print(f"not waiting for {threads}", file=sys.stderr))
