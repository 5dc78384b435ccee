"""Which endpoint URL the path of a 404 likely meant (`closest`: only one a single slip away,
the rule below), and which part of the path its pattern refuses (`refused_segment`).
`not_found.py` says it in Vite's terminal, and `wsside.testing`'s server in `HandshakeRefused`."""

from __future__ import annotations

import difflib
import functools

from ..pattern import Pattern

__all__ = ["closest", "refused_segment"]

# Which endpoint a 404's path likely meant: only one a single slip away, on whole segments.
# A slip is one segment spelt differently from a literal segment of the pattern, a typo (case
# aside, at most one letter wrong, missing, extra, or two letters swapped; two such in a
# segment longer than 5 letters), one segment that a variable's regex refuses where all the
# others match, a trailing `/` or a segment written twice (`/api/api/ws/chat`), or, for a
# pattern with neither variable nor wildcard, one segment too many or one missing
# (`/api/chat` for `/api/ws/chat`). Sharing the prefix and many letters is not enough:
# `/api/ws/metrics` is no slip of `/api/ws/admin`, nor `/api/ws/games/tic-tac-toe/g1` of
# `/api/ws/chat/{room}`. When two endpoints are as close, none is named.


def closest(path: str, urls: list[str]) -> str | None:
    """The endpoint URL `path` likely meant, if it is one slip away (the rule above); among
    several, the one most like it, a pattern's variables compared as the parts of `path` they
    stand for (`/api/ws/room/ABC` is closer to `/api/ws/room/{room:[a-z]+}` than to a short
    `/api/ws/hb`). None when two are as like it."""
    ranked = sorted(
        (
            (difflib.SequenceMatcher(None, path, _filled(url, path)).ratio(), url)
            for url in dict.fromkeys(urls)
            if _one_slip(url, path)
        ),
        reverse=True,
    )
    if not ranked or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return None
    return ranked[0][1]


def _one_slip(url: str, path: str) -> bool:
    """Whether `path` is one slip (the rule above) from a path that `url` matches."""
    pattern = _compiled(url)
    if pattern is None:
        return False
    want, got = url.split("/")[1:], path.split("/")[1:]

    def fits(parts: list[str]) -> bool:
        return pattern.match("/" + "/".join(parts)) is not None

    literal = all(_is_literal(w) for w in want)
    for i, part in enumerate(got):  # one segment too many
        doubled = part == "" or (i > 0 and got[i - 1] == part)
        if (literal or doubled) and fits(got[:i] + got[i + 1 :]):
            return True
    if literal and any(fits([*got[:i], w, *got[i:]]) for i, w in enumerate(want)):
        return True  # one missing
    for i, part in enumerate(got):  # one misspelt, at its place counted from either end
        for j in {i, len(want) - len(got) + i}:
            w = want[j] if 0 <= j < len(want) else ""
            if _is_literal(w) and w and _typo(part, w) and fits([*got[:i], w, *got[i + 1 :]]):
                return True
    if len(want) != len(got) or "**" in want:
        return False
    refused = [w for w, part in zip(want, got, strict=True) if not _segment_fits(w, part)]
    return len(refused) == 1 and not _is_literal(refused[0])


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> Pattern | None:
    """`Pattern(source)`, made once for each text (`closest` sees every endpoint at every
    404); None when it is no pattern."""
    try:
        return Pattern(source)
    except ValueError:
        return None


def _segment_fits(want: str, part: str) -> bool:
    """Whether the path segment `part` matches the pattern segment `want`."""
    pattern = _compiled("/" + want)  # never None: a segment of a pattern that compiled
    return pattern is not None and pattern.match("/" + part) is not None


def _is_literal(segment: str) -> bool:
    return not any(c in segment for c in "*?{")


def _typo(part: str, meant: str) -> bool:
    """`part` is `meant` with a typo: case aside, at most one letter wrong, missing, extra,
    or two swapped (two such when `meant` is longer than 5 letters)."""
    a, b = part.lower(), meant.lower()
    return _slips(a, b) <= (1 if len(b) <= 5 else 2)


def _slips(a: str, b: str) -> int:
    """The optimal string alignment distance: edits, a swap of two neighbours counted once."""
    if abs(len(a) - len(b)) > 2:
        return 3
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(
                rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _filled(url: str, path: str) -> str:
    """`url` with each `{variable}` segment replaced by `path`'s segment at its place."""
    got = path.split("/")
    return "/".join(
        got[i] if "{" in part and i < len(got) else part for i, part in enumerate(url.split("/"))
    )


def refused_segment(url: str, path: str) -> str:
    """Which part of `path` a pattern with variables (`url`, its prefix included) refuses,
    when the two have as many segments: `/ws/rooms/a.b` against `{room:[\\w-]+}`."""
    wanted, got = url.split("/")[1:], path.split("/")[1:]
    if len(got) == len(wanted) + 1 and got[-1] == "" and Pattern(url).match(path[:-1]):
        return " (without the trailing /)"
    if len(wanted) != len(got) or any("*" in w for w in wanted):
        return ""
    for want, part in zip(wanted, got, strict=True):
        if want != part and Pattern("/" + want).match("/" + part) is None:
            return f" (`{part}` does not match `{want}`)" if "{" in want else ""
    return ""
