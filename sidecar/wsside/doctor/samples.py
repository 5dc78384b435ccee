"""Sample paths of a pattern, for the doctor: `sample_paths` is the sidecar's own
(`_runtime/shadowed.py`, which decides whether an earlier pattern shadows a later one).

`probe_path` gives the one path the live probe opens for a pattern with variables or
wildcards: `doctor` where any value goes, else the first of a few plain values that fits.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence

from .._runtime.shadowed import sample_paths
from ..pattern import VARIABLE, Pattern

__all__ = ["probe_path", "sample_paths"]

# Values the live probe tries, in order, for each variable and `*` of a pattern: `doctor`
# first, so a handler that logs the path shows who connected.
_PROBE_VALUES = (
    "doctor",
    "x",
    "1",
    "0",
    "a",
    "X",
    "test",
    "a-1",
    "abc",
    "42",
    "a1",
    "doctor-1",
    "doctor_1",
    "2024-01-01",
    "00000000-0000-4000-8000-000000000000",
)
_PROBE_TRIES = 2000  # combinations tried in one segment, and across segments
_PER_SEGMENT = 3  # values kept for each segment, for the whole path to choose from


def _probe_slots(segment: str) -> Iterator[tuple[str, ...] | str]:
    """The segment as literal text and, for each `*`, `?` and variable, the values to try
    (a `{name:regex}` only those its regex takes); the variable's text when none does."""
    pos = 0
    for m in VARIABLE.finditer(segment):
        yield from _probe_wildcards(segment[pos : m.start()])
        regex = m.group(2)
        fits = tuple(c for c in _PROBE_VALUES if regex is None or re.fullmatch(regex, c))
        yield fits or m.group(0)
        pos = m.end()
    yield from _probe_wildcards(segment[pos:])


def _probe_wildcards(text: str) -> Iterator[tuple[str, ...]]:
    for c in text:
        yield ("doctor", "") if c == "*" else ("x", "1") if c == "?" else (c,)


def _probe_segment(segment: str) -> list[list[str]] | str:
    """Replacements (each a list of path segments) that the segment alone matches, or why
    there are none."""
    if segment == "**":
        return [["doctor"], []]
    if not any(c in segment for c in "*?{"):
        return [[segment]]
    slots: list[tuple[str, ...]] = []
    for slot in _probe_slots(segment):
        if isinstance(slot, str):
            return f"no sample value fits {slot}"
        slots.append(slot)
    alone = Pattern("/" + segment)
    found: list[list[str]] = []
    for combo in itertools.islice(itertools.product(*slots), _PROBE_TRIES):
        value = "".join(combo)
        if alone.match("/" + value) is not None and [value] not in found:
            found.append([value])
            if len(found) == _PER_SEGMENT:
                break
    return found or f"no sample value fits {segment}"


def probe_path(pattern: Pattern, earlier: Sequence[Pattern] = ()) -> tuple[str | None, str]:
    """A path `pattern` matches, for the live probe, and that none of `earlier` (the enabled
    patterns routed before it) takes first; or None and why there is none."""
    per_segment: list[list[list[str]]] = []
    for segment in pattern.source.split("/")[1:]:
        values = _probe_segment(segment)
        if isinstance(values, str):
            return None, values
        per_segment.append(values)
    taken_by: Pattern | None = None
    for combo in itertools.islice(itertools.product(*per_segment), _PROBE_TRIES):
        path = "/" + "/".join(part for parts in combo for part in parts)
        if pattern.match(path) is None:
            continue
        first = next((e for e in earlier if e.match(path) is not None), None)
        if first is None:
            return path, ""
        taken_by = taken_by or first
    if taken_by is not None:
        return None, f"each sample path goes to {taken_by.source!r}, declared first"
    return None, f"no sample path fits {pattern.source}"
