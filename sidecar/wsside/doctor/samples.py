"""Shadowing by example: does an earlier pattern match every path a later one matches?

Deciding inclusion of two Ant patterns exactly would need regex-language inclusion; sample
paths answer the practical question. Each wildcard and variable of the later pattern is
filled with a few different values (zero, one and two segments for `**`), every sample is
confirmed against the later pattern itself, and the earlier pattern must match them all.
"""

from __future__ import annotations

import itertools
import re

from ..pattern import Pattern

__all__ = ["always_matches", "sample_paths"]

_VARIABLE = re.compile(r"\{([^{}:]+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")
# Values tried for a variable with a regex: the first that the regex accepts is used.
_CANDIDATES = ("1", "42", "x", "abc", "a-b_c", "A1", "0.5", "user@example")
_MAX_SAMPLES = 64


def _segment_values(segment: str) -> list[list[str]]:
    """Replacement lists (each a list of path segments) for one pattern segment."""
    if segment == "**":
        return [[], ["x"], ["x", "y"]]
    choices: list[list[str]] = [[""]]
    pos = 0
    for m in _VARIABLE.finditer(segment):
        choices.append(_wildcard_values(segment[pos : m.start()]))
        regex = m.group(2)
        if regex is None:
            choices.append(["v", "v2"])
        else:
            fits = [c for c in _CANDIDATES if re.fullmatch(regex, c)]
            choices.append(fits[:2])
        pos = m.end()
    choices.append(_wildcard_values(segment[pos:]))
    return [["".join(parts)] for parts in itertools.product(*choices)]


def _wildcard_values(text: str) -> list[str]:
    if "*" not in text and "?" not in text:
        return [text]
    # `*` may match nothing, so both an empty and a non-empty filling are tried.
    return [text.replace("*", "").replace("?", "q"), text.replace("*", "zz").replace("?", "q")]


def sample_paths(pattern: Pattern) -> list[str]:
    """Concrete paths that `pattern` matches (empty when no value fits a variable's regex)."""
    per_segment = [_segment_values(s) for s in pattern.source.split("/")[1:]]
    samples: list[str] = []
    for combo in itertools.product(*per_segment):
        path = "/" + "/".join(part for parts in combo for part in parts)
        if pattern.match(path) is not None and path not in samples:
            samples.append(path)
        if len(samples) >= _MAX_SAMPLES:
            break
    return samples


def always_matches(earlier: Pattern, later: Pattern) -> bool:
    """True when `earlier` matches every sample path of `later`: `later` never gets a
    connection while `earlier` is declared first."""
    samples = sample_paths(later)
    return bool(samples) and all(earlier.match(p) is not None for p in samples)
