"""`wsside-env.d.ts` in a TypeScript project's `tsconfig`: whether it is included, and adding
it (`wsside init`; `wsside doctor` warns when it is missing).

Vite's TypeScript templates compile only `src/` (`"include": ["src"]`, in `tsconfig.app.json`
behind a root `tsconfig.json` of references, or in `tsconfig.json` itself), so the file
beside vite.config is not seen until it is listed. tsconfig files are JSON with comments and
trailing commas: they are read as such, and edited by inserting one string into the array,
leaving every other byte as it was. An edit that would not read back as exactly that change
is not written; the caller prints the line to add instead.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .typescript import FILE_NAME

__all__ = ["Inclusion", "add_entry", "find_app_tsconfig", "include_types_file", "inclusion"]


@dataclass(frozen=True)
class Inclusion:
    """Whether the app's tsconfig sees `wsside-env.d.ts`: `config` is that tsconfig (None: not
    a TypeScript project), `entry` the path to list in it, `included` the answer (None when
    the file could not be read, `problem` says why), `line` the `include` line with the
    entry added, for the user to copy."""

    config: Path | None
    entry: str = FILE_NAME
    included: bool | None = None
    problem: str = ""
    key: str = "include"
    line: str = ""


def inclusion(root: Path) -> Inclusion:
    """How the TypeScript project at `root` (the folder of vite.config) stands."""
    config = find_app_tsconfig(root)
    if config is None:
        return Inclusion(None)
    entry = Path(os.path.relpath(root / FILE_NAME, config.parent)).as_posix()
    try:
        data = read_jsonc(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Inclusion(config, entry, None, f"cannot read {config.name}: {exc}")
    key = "include" if "include" in data or "files" not in data else "files"
    listed = data.get(key)
    if listed is None:
        return Inclusion(config, entry, True)  # no include and no files: TypeScript takes all
    if not isinstance(listed, list):
        return Inclusion(config, entry, None, f'"{key}" in {config.name} is not a list')
    patterns = [p for p in listed if isinstance(p, str)]
    included = key == "include" and any(_glob_matches(p, entry) for p in patterns)
    included = included or any(Path(p).as_posix().removeprefix("./") == entry for p in patterns)
    line = f'"{key}": {json.dumps([*listed, entry])}'
    return Inclusion(config, entry, included, key=key, line=line)


def include_types_file(root: Path) -> tuple[list[str], list[str]]:
    """Add `wsside-env.d.ts` to the app's tsconfig when a TypeScript project misses it, as
    `wsside init` reports it: (what was done, what the user must do)."""
    state = inclusion(root)
    config = state.config
    if config is None:
        return [], []
    where = config.relative_to(root).as_posix() if config.is_relative_to(root) else str(config)
    if state.included:
        return [f"{where} already includes {state.entry}"], []
    if state.included is None:
        return [], [f'{state.problem}; list {state.entry} in its "include"']
    edited = add_entry(config.read_text(encoding="utf-8"), state.entry)
    if edited is None:
        return [], [
            f"add {state.entry} to {where} (the message types of the handlers):\n    {state.line}"
        ]
    config.write_text(edited, encoding="utf-8")
    return [f'added {state.entry} to "{state.key}" in {where}'], []


def find_app_tsconfig(root: Path) -> Path | None:
    """The tsconfig that compiles the app's sources: `tsconfig.json`, or when that only refers
    to others (`"files": []` and `references`, as Vite's templates do) the referenced one
    that includes the sources (`tsconfig.app.json`)."""
    config = root / "tsconfig.json"
    if not config.is_file():
        return None
    try:
        data = read_jsonc(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return config  # its own check reports it
    references = data.get("references")
    if data.get("files") != [] or "include" in data or not isinstance(references, list):
        return config
    candidates = []
    for ref in references:
        target = root / str(ref.get("path", "")) if isinstance(ref, dict) else None
        if target is not None and target.is_dir():
            target = target / "tsconfig.json"
        if target is not None and target.is_file():
            candidates.append(target)
    # The app's config, not the one for vite.config itself (tsconfig.node.json).
    apps = [c for c in candidates if "node" not in c.name]
    return (apps or candidates or [config])[0]


# ---- JSON with comments ------------------------------------------------------------------


def _blank_comments(text: str) -> str:
    """`text` with comments and trailing commas turned into spaces (offsets kept), so that
    `json.loads` reads it and positions in it are positions in `text`."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            i = _string_end(text, i)
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
            i = _string_end(blank, i)
        elif blank[i] == "," and _CLOSER.match(blank, i + 1):
            out[i] = " "
        i += 1
    return "".join(out)


_CLOSER = re.compile(r"\s*[}\]]")


def _string_end(text: str, start: int) -> int:
    """The offset of the quote that ends the JSON string starting at `start`."""
    i = start + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i


def read_jsonc(text: str) -> dict[str, Any]:
    """A tsconfig's object; ValueError when it is not JSON with comments."""
    try:
        data = json.loads(_blank_comments(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def add_entry(text: str, entry: str) -> str | None:
    """`text` (a tsconfig) with `entry` appended to its top-level `include` (or `files` when
    it has only that) in the array's own layout; None when that cannot be done safely."""
    try:
        before = read_jsonc(text)
    except ValueError:
        return None
    key = "include" if "include" in before or "files" not in before else "files"
    if not isinstance(before.get(key), list):
        return None
    blank = _blank_comments(text)
    found = _top_level_array(blank, key)
    if found is None:
        return None
    start, end = found  # the offsets of `[` and `]`
    quoted = json.dumps(entry)
    last = len(blank[:end].rstrip()) - 1
    if last == start:  # an empty array
        edited = text[: start + 1] + quoted + text[start + 1 :]
    else:
        line = text[text.rfind("\n", 0, last) + 1 :]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        gap = f"\n{indent}" if "\n" in text[start:end] else " "
        if blank[last] == ",":  # a trailing comma: keep one after ours too
            edited = text[: last + 1] + gap + quoted + "," + text[last + 1 :]
        else:
            edited = text[: last + 1] + "," + gap + quoted + text[last + 1 :]
    try:
        after = read_jsonc(edited)
    except ValueError:
        return None
    return edited if after == {**before, key: [*before[key], entry]} else None


def _top_level_array(blank: str, key: str) -> tuple[int, int] | None:
    """The offsets of `[` and its `]` for `"key": [` in the top-level object, or None."""
    depth, i, n = 0, 0, len(blank)
    found: list[tuple[int, int]] = []
    while i < n:
        c = blank[i]
        if c == '"':
            end = _string_end(blank, i)
            if depth == 1 and json.loads(blank[i : end + 1]) == key:
                m = re.compile(r"\s*:\s*\[").match(blank, end + 1)
                if m is not None:
                    found.append((m.end() - 1, _closing(blank, m.end() - 1)))
            i = end + 1
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        i += 1
    return found[0] if len(found) == 1 else None


def _closing(blank: str, start: int) -> int:
    depth, i = 0, start
    while True:
        c = blank[i]
        if c == '"':
            i = _string_end(blank, i)
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i
        i += 1


def _glob_matches(pattern: str, path: str) -> bool:
    """Whether a tsconfig `include` pattern takes `path` (both relative to the tsconfig): a
    pattern without wildcards names a file or a folder; `*`, `?` and `**/` as TypeScript
    reads them."""
    pattern = Path(pattern).as_posix().removeprefix("./").rstrip("/")
    if pattern in ("", "."):
        return True
    if not any(c in pattern for c in "*?"):
        return path == pattern or path.startswith(pattern + "/")
    regex = ""
    for part in re.split(r"(\*\*/|\*|\?)", pattern):
        regex += {"**/": "(?:[^/]+/)*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
    # A last segment without an extension or a wildcard names a folder: all that is in it.
    last = pattern.rsplit("/", 1)[-1]
    if "." not in last and not any(c in last for c in "*?"):
        regex += "(?:/.*)?"
    return re.fullmatch(regex, path) is not None
