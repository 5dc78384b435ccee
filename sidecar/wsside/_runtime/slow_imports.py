"""The warning for a handler file still importing at start-up.

Nothing serves before every handler file has loaded, so module-level code that blocks holds
every endpoint. `Registry.load_all` imports each file within `named_if_slow`: one still
importing after `SLOW_IMPORT` seconds is named, from a timer thread (the thread that would
say it is the one importing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .events import logger

__all__ = ["SLOW_IMPORT", "named_if_slow"]

# Seconds after which a handler file still importing at start-up is named.
SLOW_IMPORT = 2.0


@contextmanager
def named_if_slow(path: Path) -> Iterator[None]:
    """Within it, the handler file `path` is importing: named if the block lasts more than
    `SLOW_IMPORT` seconds."""
    # Said from a timer thread: the thread that would say it is the one importing.
    timer = threading.Timer(SLOW_IMPORT, _still_importing, (path,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _still_importing(path: Path) -> None:
    logger.warning(
        "wsside: %s is still importing after %.0f s, and no endpoint serves until every "
        "handler file has loaded: does code at its top level block?",
        path,
        SLOW_IMPORT,
    )
