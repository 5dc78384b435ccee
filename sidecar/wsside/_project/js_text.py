"""JavaScript read as text without running it (a config file doctor or `wsside types`
reads): which characters are code, and which are comments or the inside of a string, a
template literal or a regular expression, whose `//` or `{` are no code."""

from __future__ import annotations

__all__ = ["js_code"]


# After these (or at the start) a `/` starts a regular expression; after others it divides.
_BEFORE_REGEX = frozenset("(,=:[!&|?{};+-*%<>~^")


def js_code(text: str, keep_literals: bool = False) -> str:
    """JavaScript `text` with its comments, and what is inside its strings, template
    literals and regular expressions, turned into spaces (offsets kept): what is left of
    the brackets and names is code's. With `keep_literals`, only the comments: the text a
    reading by patterns may take literal values from."""
    out = list(text)

    def blank(start: int, end: int) -> None:
        for j in range(start, end):
            if out[j] != "\n":
                out[j] = " "

    i, n, before = 0, len(text), ""
    while i < n:
        c = text[i]
        if text.startswith(("//", "/*"), i):
            line = text[i + 1] == "/"
            end = text.find("\n" if line else "*/", i + 2)
            end = n if end < 0 else end if line else end + 2
            blank(i, end)
            i = end
            continue
        if c in "'\"`" or (c == "/" and (before == "" or before in _BEFORE_REGEX)):
            j, in_class = i + 1, False
            while j < n and (text[j] != c or in_class):
                if text[j] == "\\":
                    j += 1
                elif c == "/" and text[j] in "[]":
                    in_class = text[j] == "["
                elif c != "`" and text[j] == "\n":  # not closed on its line
                    break
                j += 1
            if not keep_literals:
                blank(i + 1, min(j, n))
            i, before = j + 1, c
            continue
        if not c.isspace():
            before = c
        i += 1
    return "".join(out)
