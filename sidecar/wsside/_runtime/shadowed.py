"""Shadowed patterns: an enabled pattern that one declared before it matches on every path,
so that it never gets a connection (the first declared match wins: files in sorted order,
then declaration order). `wsside doctor` names them in its patterns row; the sidecar says
the same words at start, and again whenever a change of the endpoints makes a new one.

Deciding inclusion of two Ant patterns exactly would need regex-language inclusion; sample
paths answer the practical question. Each wildcard and variable of the later pattern is
filled with a few different values (zero, one and two segments for `**`), every sample is
confirmed against the later pattern itself, and the earlier pattern must match them all.
Every start and reload asks it of each pair of endpoints: each pattern's samples are made
once (not for each pattern before it), and a pair stops at the first sample refused.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..handler import Handler
from ..pattern import VARIABLE, Pattern

__all__ = ["ShadowNotes", "Shadowing", "sample_paths", "shadowings"]

# Values tried for a variable with a regex: the first that the regex accepts is used.
_CANDIDATES = ("1", "42", "x", "abc", "a-b_c", "A1", "0.5", "user@example")
_MAX_SAMPLES = 64
# Pairs of patterns whose answer `ShadowNotes` keeps, at most (a long session's edits).
_KNOWN_MAX = 100_000


def _segment_values(segment: str) -> list[list[str]]:
    """Replacement lists (each a list of path segments) for one pattern segment."""
    if segment == "**":
        return [[], ["x"], ["x", "y"]]
    choices: list[list[str]] = [[""]]
    pos = 0
    for m in VARIABLE.finditer(segment):
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


def _matches_all(earlier: Pattern, samples: Sequence[str]) -> bool:
    """Whether `earlier` matches all of `samples`: it stops at the first it refuses."""
    return bool(samples) and all(earlier.match(p) is not None for p in samples)


@dataclass(frozen=True)
class Shadowing:
    """`later` never serves: `earlier`, declared first, matches all its paths."""

    later: Handler
    earlier: Handler

    def message(self, at: Callable[[Handler], str]) -> str:
        """What doctor's row and the sidecar's line say; `at` names a declaration's place
        (`ws/chat/lobby.py:4`)."""
        later, earlier = self.later.pattern.source, self.earlier.pattern.source
        return (
            f"{later!r} ({at(self.later)}) is shadowed by {earlier!r} ({at(self.earlier)}), "
            "which is declared first and matches all its paths"
        )

    def fix(self) -> str:
        later, earlier = self.later.pattern.source, self.earlier.pattern.source
        return (
            f"declare {later!r} before {earlier!r} (files load in sorted order), "
            "or narrow the earlier pattern"
        )


def shadowings(
    handlers: Sequence[Handler], known: dict[tuple[str, str], bool] | None = None
) -> list[Shadowing]:
    """Each enabled declaration of `handlers` (in routing order) that an earlier enabled one
    always matches first, with the first such one. `known`: whether the earlier pattern
    matches all the later one's samples, by the two patterns' text, kept between calls (a
    reload need not sample every pair again)."""
    live = [h for h in handlers if not h.disabled]
    found: list[Shadowing] = []
    for i, later in enumerate(live):
        samples: list[str] | None = None  # made at the first pair that is not known
        for earlier in live[:i]:
            pair = (earlier.pattern.source, later.pattern.source)
            if pair[0] == pair[1]:
                continue  # a duplicate, refused at load (doctor names it apart)
            shadows = None if known is None else known.get(pair)
            if shadows is None:
                if samples is None:
                    samples = sample_paths(later.pattern)
                shadows = _matches_all(earlier.pattern, samples)
                if known is not None:
                    known[pair] = shadows
            if shadows:
                found.append(Shadowing(later, earlier))
                break
    return found


_Key = tuple[str, str, str, str]


class ShadowNotes:
    """The shadowings said so far: `new` gives those of the endpoints now that were not
    there at the last call (a reload that changes none of them says nothing again; one that
    ends and comes back is new again)."""

    def __init__(self) -> None:
        self._now: set[_Key] = set()
        self._known: dict[tuple[str, str], bool] = {}

    def new(self, handlers: Sequence[Handler]) -> list[Shadowing]:
        if len(self._known) > _KNOWN_MAX:
            self._known.clear()
        found = shadowings(handlers, self._known)
        keys = [_key(s) for s in found]
        fresh = [s for s, key in zip(found, keys, strict=True) if key not in self._now]
        self._now = set(keys)
        return fresh


def _key(shadowing: Shadowing) -> _Key:
    """A shadowing by its patterns and files: not their lines, which an edit above moves."""
    later, earlier = shadowing.later, shadowing.earlier
    return (later.pattern.source, later.file, earlier.pattern.source, earlier.file)
