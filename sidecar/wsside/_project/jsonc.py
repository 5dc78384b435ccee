"""tsconfig files are JSON with comments and trailing commas: reading them, and the offsets an
edit needs (`blank_comments` keeps every offset, so a position in it is one in the text)."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["blank_comments", "read_jsonc", "string_end"]


def blank_comments(text: str) -> str:
    """`text` with comments and trailing commas turned into spaces (offsets kept), so that
    `json.loads` reads it and positions in it are positions in `text`."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            i = string_end(text, i)
        elif text.startswith("//", i) or text.startswith("/*", i):
            line = text[i + 1] == "/"
            end = text.find("\n" if line else "*/", i + 2)
            end = n if end < 0 else end if line else end + 2  # unterminated: to the end
            for j in range(i, end):
                if text[j] != "\n":
                    out[j] = " "
            i = end
            continue
        i += 1
    blank = "".join(out)
    i = 0
    while i < n:
        if blank[i] == '"':
            i = string_end(blank, i)
        elif blank[i] == "," and _CLOSER.match(blank, i + 1):
            out[i] = " "
        i += 1
    return "".join(out)


_CLOSER = re.compile(r"\s*[}\]]")


def string_end(text: str, start: int) -> int:
    """The offset of the quote that ends the JSON string starting at `start`."""
    i = start + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i


def read_jsonc(text: str) -> dict[str, Any]:
    """A tsconfig's object; ValueError when it is not JSON with comments."""
    try:
        data = json.loads(blank_comments(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
