"""JavaScript read as tokens without running it: a scan that knows comments, strings,
template literals and regular expressions (whether a `/` divides or starts one depends on the
token before it).

`vite_edit.py` finds where to add the plugin in these tokens, and `init_vite.py` checks a
config's brackets with them. A file the scan cannot read to its end (a comment, string,
template literal or regular expression never closed) raises `NotEditable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CLOSE", "OPEN", "NotEditable", "Token", "js_tokens", "line_end"]


class NotEditable(ValueError):
    """The config cannot be edited safely; the message says why, in a few words."""


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, template, number, regex, punct
    text: str
    start: int
    end: int


_NAME = re.compile(r"[A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*")
_NUMBER = re.compile(r"\.?\d[\w.]*")
# After these a `/` starts a regular expression; after anything else it divides.
_BEFORE_REGEX_PUNCT = frozenset(
    {"(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "+", "-", "*", "%", "<", ">"}
    | {"~", "^", "=>"}
)
_BEFORE_REGEX_WORDS = frozenset(
    {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case"}
    | {"do", "else", "yield", "await"}
)
OPEN, CLOSE = "([{", ")]}"  # bracket pairs: the closing one at the same index


def js_tokens(src: str) -> list[Token]:
    """The tokens of `src`, comments and whitespace left out. Template literals are one token
    per chunk; the code inside `${...}` is scanned like any other."""
    out: list[Token] = []
    n = len(src)
    i = 0
    depth = 0  # bracket depth, to find the `}` that ends a template's `${`
    templates: list[int] = []  # depths at which each open `${` started
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
        elif src.startswith("//", i):
            i = line_end(src, i)
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise NotEditable("a comment is never closed")
            i = end + 2
        elif c in "'\"":
            end = _string_end(src, i)
            out.append(Token("string", src[i:end], i, end))
            i = end
        elif c == "`" or (c == "}" and templates and templates[-1] == depth):
            if c == "}":
                templates.pop()
            end, opens = _template_chunk(src, i + 1)
            out.append(Token("template", src[i:end], i, end))
            if opens:
                templates.append(depth)
            i = end
        elif c == "/" and _regex_may_start(out):
            end = _regex_end(src, i)
            out.append(Token("regex", src[i:end], i, end))
            i = end
        elif m := _NAME.match(src, i):
            out.append(Token("name", m.group(), i, m.end()))
            i = m.end()
        elif m := _NUMBER.match(src, i):
            out.append(Token("number", m.group(), i, m.end()))
            i = m.end()
        else:
            text = next((p for p in ("...", "=>", "?.") if src.startswith(p, i)), c)
            depth += (text in OPEN) - (text in CLOSE)
            out.append(Token("punct", text, i, i + len(text)))
            i += len(text)
    return out


def line_end(src: str, i: int) -> int:
    end = src.find("\n", i)
    return len(src) if end < 0 else end


def _string_end(src: str, i: int) -> int:
    quote, j = src[i], i + 1
    while j < len(src):
        if src[j] == "\\":
            j += 2
        elif src[j] == quote:
            return j + 1
        elif src[j] == "\n":
            break
        else:
            j += 1
    raise NotEditable("a string is never closed")


def _template_chunk(src: str, j: int) -> tuple[int, bool]:
    """End of a template chunk starting at `j`, and whether it ends with `${` (an
    expression follows) rather than the closing backtick."""
    while j < len(src):
        if src[j] == "\\":
            j += 2
        elif src[j] == "`":
            return j + 1, False
        elif src.startswith("${", j):
            return j + 2, True
        else:
            j += 1
    raise NotEditable("a template literal is never closed")


def _regex_may_start(before: list[Token]) -> bool:
    if not before:
        return True
    last = before[-1]
    if last.kind == "punct":
        return last.text in _BEFORE_REGEX_PUNCT
    return last.kind == "name" and last.text in _BEFORE_REGEX_WORDS


def _regex_end(src: str, i: int) -> int:
    j, in_class = i + 1, False
    while j < len(src) and src[j] != "\n":
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            j += 1
            while j < len(src) and (src[j].isalnum() or src[j] == "_"):
                j += 1
            return j
        j += 1
    raise NotEditable("a regular expression is never closed")
