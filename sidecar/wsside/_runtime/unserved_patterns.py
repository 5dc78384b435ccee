"""The warning for broadcasts from the backplane to a pattern that no handler of this process
has: a `wsside.Publisher` given the URL path (`/api/notifications`) instead of the Handler's
pattern (`/notifications`), or a pattern no process serves. Each such pattern is named once
per process, with the served pattern it likely means: the one left when leading segments are
taken off (a URL prefix, or an ASGI app's mount point). Past `MAX_NAMED` patterns, one line
says that further ones are not named (anyone who may PUBLISH on the channel can send any).

The registry asks only when a record's pattern has no hub, in its grace or not: a broadcast
to a served pattern costs nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Container

from .events import log, this_process

__all__ = ["MAX_NAMED", "UnservedPatterns", "below_a_prefix"]

# Patterns named at most, per process.
MAX_NAMED = 20
# The characters of a pattern a line shows, at most.
_SHOWN_MAX = 200


class UnservedPatterns:
    """Called with the pattern of each broadcast from the backplane that no hub of this
    process has; warns once per pattern."""

    def __init__(self) -> None:
        self._named: set[str] = set()
        self._capped = False

    def note(self, pattern: str, served: Container[str]) -> None:
        """`pattern` reached no handler here; `served` holds the patterns this process serves."""
        if self._capped or pattern in self._named:
            return
        if len(self._named) >= MAX_NAMED:
            self._capped = True
            log(
                this_process(
                    f"backplane: broadcasts to {MAX_NAMED} patterns that no handler of this "
                    "process has were named already; further ones are not"
                ),
                "warning",
            )
            return
        self._named.add(pattern)
        meant = below_a_prefix(pattern, served)
        hint = (
            f"; did you mean {_quoted(meant)}?"
            if meant is not None
            else ", which is as it should be if another process serves it"
        )
        log(
            this_process(
                f"backplane: dropped a broadcast to {_quoted(pattern)}: no handler of this "
                f"process has that pattern{hint} (a pattern is the one declared in "
                "Handler(...), below the URL prefix)"
            ),
            "warning",
        )


def below_a_prefix(pattern: str, served: Container[str]) -> str | None:
    """The served pattern left when the fewest leading segments are taken off `pattern`:
    `/notifications` for `/api/notifications`, or None."""
    parts = pattern.split("/")[1:]
    for start in range(1, len(parts)):
        below = "/" + "/".join(parts[start:])
        if below in served:
            return below
    return None


def _quoted(text: str) -> str:
    """`text` in double quotes, on one line whatever it holds (it comes from the channel)."""
    cut = text[:_SHOWN_MAX]
    shown = json.dumps(cut, ensure_ascii=False).encode("utf-8", "backslashreplace").decode()
    return shown + ("…" if len(text) > _SHOWN_MAX else "")
