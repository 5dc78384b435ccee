"""Which declaration of a pattern serves it, and which declarations clash.

Two enabled handlers of one pattern clash (a duplicate: the second file does not load). A
disabled one clashes with none: it is skipped when matching, so a file may keep a second
version of an endpoint switched off beside the one that serves, and switch between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..handler import Handler
from .events import error_event, shown

__all__ = ["DuplicatePattern", "duplicate_error", "find_duplicate", "serving"]


class DuplicatePattern(ValueError):
    def __init__(self, first: Handler, handler: Handler) -> None:
        super().__init__(
            f"duplicate pattern {handler.pattern.source!r}: declared in {shown(first.file)}:"
            f"{first.line} and in {shown(handler.file)}:{handler.line}"
        )
        self.first = first
        self.handler = handler


def find_duplicate(
    files: Mapping[Path, list[Handler]], path: Path, handlers: list[Handler]
) -> DuplicatePattern | None:
    """The first enabled one of `handlers` (replacing those of `path` in `files`) whose pattern
    an enabled declaration has already."""
    seen: dict[str, Handler] = {}
    for other_path, others in files.items():
        if other_path != path:
            seen.update((h.pattern.source, h) for h in others if not h.disabled)
    for h in handlers:
        if h.disabled:
            continue
        first = seen.get(h.pattern.source)
        if first is not None:
            return DuplicatePattern(first, h)
        seen[h.pattern.source] = h
    return None


def duplicate_error(exc: DuplicatePattern) -> dict[str, Any]:
    """The load error of the file that declared `exc.handler`."""
    event = error_event("load_error", exc)
    # Never raised: no traceback to show, and the message says all (no class name).
    event.update(
        message=str(exc),
        file=exc.handler.file,
        line=exc.handler.line,
        column=None,
        traceback=None,
    )
    return event


def serving(declared: Iterable[Handler]) -> dict[str, Handler]:
    """By pattern, the declaration its hub serves with: the enabled one, else the first (a
    pattern only disabled declarations name keeps its hub, and its background tasks)."""
    chosen: dict[str, Handler] = {}
    for h in declared:
        first = chosen.get(h.pattern.source)
        if first is None or (first.disabled and not h.disabled):
            chosen[h.pattern.source] = h
    return chosen
