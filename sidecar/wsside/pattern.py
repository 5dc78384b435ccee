"""Ant-style path patterns: `?`, `*`, `**`, `{name}` and `{name:regex}`.

A pattern is matched segment by segment against the path left after the prefix is stripped,
so no wildcard or variable can ever reach across a `/`. Matching is case-sensitive and a
trailing slash is significant, as in Spring's AntPathMatcher that the JavaScript guide uses.

Paths arrive as the client wrote them: a browser percent-encodes what a URL path may not hold
as it is (`/ws/café` comes as `/ws/caf%C3%A9`). A pattern is written as the page writes the
URL, so its literal text is compared with the path decoded (`{name}` values are decoded too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

__all__ = ["Pattern", "PatternError", "PatternIndex", "normalize_prefix", "strip_prefix"]

T = TypeVar("T")

# A `{name}` or `{name:regex}` of a pattern (one level of braces inside the regex: `\d{2}`);
# also what the doctor and the shadowing check fill in with sample values.
VARIABLE: re.Pattern[str] = re.compile(r"\{([^{}:]+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")


class PatternError(ValueError):
    """A pattern that cannot be compiled; the message says which part is wrong."""


@dataclass(frozen=True)
class _Segment:
    literal: str | None  # set when the segment has no wildcard: compared as a string
    regex: re.Pattern[str] | None
    names: tuple[str, ...]
    is_globstar: bool = False
    # `{name:regex}`: the regex again, for the decoded value the handler gets (`%2e` is `.`).
    decoded: tuple[tuple[str, re.Pattern[str]], ...] = ()


class Pattern:
    """A compiled pattern; `match(path)` returns the captured variables or None."""

    __slots__ = ("_segments", "has_variables", "names", "source")

    def __init__(self, source: str) -> None:
        given: object = source  # as passed, whatever the annotation says
        if not isinstance(given, str):  # a type mistake, not a bad pattern: TypeError
            got = f"{type(given).__name__} {given!r:.60}"
            raise TypeError(f"a pattern is a str such as '/ws/chat', got {got}")
        if not source:
            raise PatternError("a pattern must be a non-empty string such as '/ws/chat'")
        if not source.startswith("/"):
            source = "/" + source
        self.source: str = source
        self._segments = tuple(_compile_segment(s, source) for s in source.split("/")[1:])
        names = [n for seg in self._segments for n in seg.names]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise PatternError(f"pattern {source!r} captures {sorted(dupes)[0]!r} twice")
        self.names: tuple[str, ...] = tuple(names)
        self.has_variables: bool = bool(names) or any(seg.literal is None for seg in self._segments)

    def match(self, path: str) -> dict[str, str] | None:
        """Match a path that starts with `/` (prefix already removed)."""
        parts = path.split("/")[1:]
        params: dict[str, str] = {}
        if _match(self._segments, 0, parts, 0, params):
            return params
        return None

    def literal_head(self) -> tuple[str, ...]:
        """The segments before the first one that varies: `/ws/rooms/{id}` has `("ws", "rooms")`."""
        head = []
        for segment in self._segments:
            if segment.literal is None:
                break
            head.append(segment.literal)
        return tuple(head)

    def pieces(self) -> tuple[str | None, ...]:
        """The pattern as literal text and None for each stretch that varies (a `?`, `*`,
        `**` or variable; neighbours merged): `/ws/rooms/{id}` is `("/ws/rooms/", None)`."""
        out: list[str | None] = []
        for segment in self.source.split("/")[1:]:
            _add(out, "/")
            if segment == "**":
                _add(out, None)
                continue
            pos = 0
            for m in VARIABLE.finditer(segment):
                for c in segment[pos : m.start()]:
                    _add(out, None if c in "*?" else c)
                _add(out, None)
                pos = m.end()
            for c in segment[pos:]:
                _add(out, None if c in "*?" else c)
        return tuple(out)

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


def _add(out: list[str | None], piece: str | None) -> None:
    last = out[-1] if out else None
    if piece is None:
        if not out or last is not None:
            out.append(None)
    elif last is not None:
        out[-1] = last + piece
    else:
        out.append(piece)


def _compile_segment(segment: str, source: str) -> _Segment:
    if segment == "**":
        return _Segment(None, None, (), is_globstar=True)
    if not any(c in segment for c in "*?{"):
        return _Segment(unquote(segment), None, ())
    out: list[str] = []
    names: list[str] = []
    decoded: list[tuple[str, re.Pattern[str]]] = []
    pos = 0
    for m in VARIABLE.finditer(segment):
        out.append(_wildcards(segment[pos : m.start()]))
        name, regex = m.group(1), m.group(2)
        if not name.isidentifier():
            raise PatternError(f"pattern {source!r}: {{{name}}} is not a valid variable name")
        if regex is None:
            out.append(f"(?P<{name}>.+)")
        else:
            try:
                own = re.compile(regex)
            except re.error as exc:
                raise PatternError(f"pattern {source!r}: bad regex for {{{name}}}: {exc}") from None
            if own.groups:
                raise PatternError(
                    f"pattern {source!r}: the regex of {{{name}}} has a capturing group; "
                    "use (?:...) instead"
                )
            out.append(f"(?P<{name}>{regex})")
            decoded.append((name, own))
        names.append(name)
        pos = m.end()
    rest = segment[pos:]
    if "{" in rest or "}" in rest:
        raise PatternError(f"pattern {source!r}: unbalanced braces in segment {segment!r}")
    out.append(_wildcards(rest))
    return _Segment(None, re.compile("".join(out)), tuple(names), decoded=tuple(decoded))


def _wildcards(text: str) -> str:
    return "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else _character(c) for c in text)


# What a browser percent-encodes in a URL's path (WHATWG's path percent-encode set, but for
# what a pattern cannot hold as text): each such character of a pattern also matches its
# encoding, in either case of its hex digits.
_ENCODED_IN_PATHS = frozenset(' "<>`#')


def _character(c: str) -> str:
    if c.isascii() and c not in _ENCODED_IN_PATHS:
        return re.escape(c)
    encoded = "".join(f"%[{b >> 4:X}{b >> 4:x}][{b & 15:X}{b & 15:x}]" for b in c.encode())
    return f"(?:{re.escape(c)}|{encoded})"


def _match(
    segs: tuple[_Segment, ...], i: int, parts: list[str], j: int, params: dict[str, str]
) -> bool:
    while i < len(segs):
        seg = segs[i]
        if seg.is_globstar:
            if i + 1 == len(segs):
                return True
            for k in range(j, len(parts) + 1):
                trial: dict[str, str] = {}
                if _match(segs, i + 1, parts, k, trial):
                    params.update(trial)
                    return True
            return False
        if j >= len(parts):
            return False
        part = parts[j]
        if seg.literal is not None:
            if seg.literal != (unquote(part) if "%" in part else part):
                return False
        else:
            assert seg.regex is not None
            m = seg.regex.fullmatch(part)
            if m is None:
                return False
            for name in seg.names:
                params[name] = unquote(m.group(name))
            for name, regex in seg.decoded:
                if regex.fullmatch(params[name]) is None:
                    return False
        i += 1
        j += 1
    return j == len(parts)


@dataclass
class _Node(Generic[T]):
    children: dict[str, _Node[T]] = field(default_factory=dict)
    entries: list[tuple[int, Pattern, T]] = field(default_factory=list)


class PatternIndex(Generic[T]):
    """Patterns in declaration order, filed under the literal segments they start with.

    `candidates(path)` gives only the patterns whose leading literal segments the path has, in
    declaration order: no other pattern can match it, as segments before the first wildcard
    or variable are compared one to one. With hundreds of endpoints under `/ws/...`, a
    handshake then tries a few patterns instead of every one declared before its own.
    """

    def __init__(self, entries: Iterable[tuple[Pattern, T]]) -> None:
        self._root: _Node[T] = _Node()
        for order, (pattern, value) in enumerate(entries):
            node = self._root
            for literal in pattern.literal_head():
                node = node.children.setdefault(literal, _Node())
            node.entries.append((order, pattern, value))

    def candidates(self, path: str) -> list[tuple[int, Pattern, T]]:
        """(declaration order, pattern, value) of the patterns that may match `path`."""
        node = self._root
        found = list(node.entries)
        several = False
        for part in path.split("/")[1:]:
            child = node.children.get(unquote(part) if "%" in part else part)
            if child is None:
                break
            node = child
            if node.entries:
                several = several or bool(found)
                found += node.entries
        if several:
            found.sort(key=lambda entry: entry[0])
        return found


def normalize_prefix(prefix: str) -> str:
    """`api`, `/api/` and `/api` all become `/api`; `/` and `` mean "no prefix"."""
    prefix = prefix.strip()
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    return prefix.rstrip("/")


def strip_prefix(path: str, prefixes: tuple[str, ...]) -> str | None:
    """The path under the first prefix it lies in (on a segment boundary), or None.

    `/api` itself becomes `/`; `/apix/...` is not under `/api`.
    """
    for prefix in prefixes:
        if not prefix:
            return path
        if path == prefix:
            return "/"
        if path.startswith(prefix) and path[len(prefix)] == "/":
            return path[len(prefix) :]
    return None
