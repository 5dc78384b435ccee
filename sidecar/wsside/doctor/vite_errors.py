"""Why Vite could not load a vite.config, on one line: the cause as Vite words it, with its
place (file:line:col) when Vite gives one; not the stack frames, code excerpts or summary
lines around it."""

from __future__ import annotations

import re

__all__ = ["error_cause", "stack_dump_cause"]


def stack_dump_cause(text: str, config: str) -> str:
    """The error of a Node stack dump, from its `SomethingError: ...` line on (not the code
    excerpt above it, the frames below it or the `Node.js vX` footer)."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if re.match(r"\s*\w*Error\b", ln)), None)
    if start is not None:
        return error_cause("\n".join(lines[start:]), config)
    rest = [ln.strip() for ln in lines if ln.strip()]
    return next((ln for ln in reversed(rest) if not ln.startswith(("at ", "Node.js "))), "")


# Vite's bundler puts a summary first: esbuild (Vite 5-7) then one `file:line:col: ERROR: ...`
# line per error; rolldown (Vite 8) one `[CODE] ...` line per error, its place in a frame below
# (`╭─[ vite.config.ts:2:8 ]`).
_SUMMARY = re.compile(r"(?:\w*Error: )?Build failed with (\d+) errors?:?$")
_PLACE = re.compile(r"\S+:\d+:\d+")
_FRAMED = re.compile(r"╭─\[\s*(\S+:\d+:\d+)\s*\]")


def error_cause(message: str, config: str) -> str:
    """The first error of Vite's `message` on one line with its place (file:line:col) when
    Vite gives one, the stack frames and code excerpts left out."""
    # Vite loads the config bundled to `vite.config.ts.timestamp-….mjs`: name the user's file.
    message = re.sub(rf"\S*{re.escape(config)}\.timestamp-\S+?\.mjs", config, message)
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    more = 0
    if lines and (summary := _SUMMARY.match(lines[0])) is not None and len(lines) > 1:
        more, lines = int(summary.group(1)) - 1, lines[1:]
    if not lines:
        return ""
    cause = lines[0].removeprefix("Error: ")
    if not _PLACE.search(cause):
        framed = next((m.group(1) for ln in lines[1:4] if (m := _FRAMED.search(ln))), None)
        cause += f" ({framed})" if framed else ""
    return cause + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")
