"""`wsside-env.d.ts` in a TypeScript project's `tsconfig`: whether it is included, and adding
it (`wsside init`; `wsside doctor` warns when it is missing).

Vite's TypeScript templates compile only `src/` (`"include": ["src"]`, in `tsconfig.app.json`
behind a root `tsconfig.json` of references, or in `tsconfig.json` itself), so the file
beside vite.config is not seen until it is listed. The `include` in effect may come through
`extends` (`tsconfig_chain`): an `include` added to the app's config replaces the inherited
one, so it keeps the inherited patterns; in SvelteKit, whose generated
`.svelte-kit/tsconfig.json` is rewritten at each sync, the file goes in through SvelteKit's
`typescript.config` option, which init does not edit: it prints that step
(`sveltekit_types.py`).
tsconfig files are JSON with comments and trailing commas: they are read as such, and edited
by inserting one string (or one member), leaving every other byte as it was. An edit that
would not read back as exactly that change is not written; the caller prints the line to add.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from .._runtime.typescript import FILE_NAME
from .jsonc import blank_comments, read_jsonc, string_end
from .sveltekit_types import svelte_kit, svelte_kit_advice
from .tsconfig_chain import CONFIG_DIR, ChainError, Declared, anchored, effective

__all__ = [
    "Inclusion",
    "add_entry",
    "add_member",
    "find_app_tsconfig",
    "include_types_file",
    "inclusion",
    "read_jsonc",
]


@dataclass(frozen=True)
class Inclusion:
    """Whether the app's tsconfig sees `wsside-env.d.ts`: `config` is that tsconfig (None: not
    a TypeScript project), `entry` the path to list in it, `included` the answer (None when
    a config could not be read, `problem` says why), `key` and `line` the member to write in
    `config` with the entry added, `advice` what the user does when it is not included, and
    `editable` whether `wsside init` does that itself. `base` is the extended config whose
    `include` (or `files`) is the one in effect, when it is not `config`'s own."""

    config: Path | None
    entry: str = FILE_NAME
    included: bool | None = None
    problem: str = ""
    key: str = "include"
    line: str = ""
    advice: str = ""
    editable: bool = False
    base: Path | None = None


def inclusion(root: Path) -> Inclusion:
    """How the TypeScript project at `root` (the folder of vite.config) stands."""
    config = find_app_tsconfig(root)
    if config is None:
        return Inclusion(None)
    target = root / FILE_NAME
    entry = _relative(target, config.parent)

    def name(path: Path) -> str:
        return _relative(path, root) if path.is_relative_to(root) else str(path)

    where = name(config)
    try:
        lists = effective(config, name).lists
    except ChainError as exc:
        problem = str(exc)
        if problem.startswith(f"cannot read {where}:"):
            advice = f'fix {where}, then list {entry} in its "include"'
        elif ".svelte-kit/tsconfig.json" in problem:  # SvelteKit's, not written yet
            advice = (
                "run npx svelte-kit sync (it writes .svelte-kit/tsconfig.json), then this "
                "command again"
            )
        else:
            advice = f"fix that, then run this command again to check that {where} includes {entry}"
        return Inclusion(config, entry, None, problem, advice=advice)
    for key, declared in lists.items():
        if not isinstance(declared.value, list):
            problem = f'"{key}" in {name(declared.config)} is not a list'
            return Inclusion(config, entry, None, problem, advice=f"fix {name(declared.config)}")
    include, files = lists.get("include"), lists.get("files")
    in_files = files is not None and any(
        _relative(target, folder) == posixpath.normpath(p)
        for folder, p in (anchored(p, files.config, config) for p in _strings(files))
    )
    taken = include if include or files else Declared(["**/*"], config)  # TypeScript's default
    included = in_files or (
        _takes(taken, target, config) and not _takes(lists.get("exclude"), target, config)
    )
    base = None  # the extended config whose list is in effect, when that is not `config`'s own
    if include is not None and include.config == config:
        key, patterns = "include", [*include.value, entry]
    elif include is None and files is not None and files.config == config:
        key, patterns = "files", [*files.value, entry]
    elif include is not None:  # inherited: an own `include` replaces it, so it keeps its patterns
        key, base = "include", include.config
        patterns = [*(_rebased(p, base, config) for p in _strings(include)), entry]
    else:  # only `files` (or nothing): an own `include` adds to it
        key, patterns = "include", ([] if files else ["**/*"]) + [entry]
        base = None if files is None else files.config
    line = f'"{key}": {json.dumps(patterns)}'
    if base is not None and svelte_kit(root, base):
        advice = svelte_kit_advice(root, base, name)
        return Inclusion(config, entry, included, key=key, line=line, advice=advice, base=base)
    advice = f"in {where}: {line}"
    return Inclusion(config, entry, included, "", key, line, advice, editable=True, base=base)


def include_types_file(root: Path) -> tuple[list[str], list[str]]:
    """Add `wsside-env.d.ts` to the app's tsconfig when a TypeScript project misses it, as
    `wsside init` reports it: (what was done, what the user must do)."""
    state = inclusion(root)
    config = state.config
    if config is None:
        return [], []
    where = _relative(config, root) if config.is_relative_to(root) else str(config)
    if state.included:
        return [f"{where} already includes {state.entry}"], []
    if state.included is None:
        return [], [f"{state.problem}; {state.advice}"]
    if not state.editable:
        return [], [f"add {state.entry} to the types SvelteKit compiles: {state.advice}"]
    text = config.read_text(encoding="utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # kept, as the user's editor wrote it
    text = text.removeprefix(bom)
    if state.base is None:
        edited = add_entry(text, state.entry)
    else:
        edited = add_member(text, state.key, json.loads(f"{{{state.line}}}")[state.key])
    if edited is None:
        return [], [
            f"add {state.entry} to {where} (the message types of the handlers):\n    {state.line}"
        ]
    config.write_text(bom + edited, encoding="utf-8")
    if state.base is None:
        return [f'added {state.entry} to "{state.key}" in {where}'], []
    return [f'added "{state.key}" to {where}: the patterns it extends, and {state.entry}'], []


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path, folder)).as_posix()


def _strings(declared: Declared) -> list[str]:
    return [p for p in declared.value if isinstance(p, str)]


def _rebased(pattern: str, base: Path, config: Path) -> str:
    """`pattern` of the extended config `base` as `config` writes it to mean the same; one of
    `${configDir}` means the same in both."""
    if pattern.startswith(CONFIG_DIR):
        return pattern
    return _relative(base.parent / pattern, config.parent)


def _takes(declared: Declared | None, target: Path, config: Path) -> bool:
    """Whether a pattern of `include` (or `exclude`) takes `target`, read as TypeScript reads
    it when it compiles `config`: relative to the config that declares it, or to `config`'s
    folder after `${configDir}`."""
    if declared is None:
        return False
    for pattern in _strings(declared):
        folder, pattern = anchored(pattern, declared.config, config)
        if _glob_matches(posixpath.normpath(pattern), _relative(target, folder)):
            return True
    return False


def find_app_tsconfig(root: Path) -> Path | None:
    """The tsconfig that compiles the app's sources: `tsconfig.json`, or when that only refers
    to others (`"files": []` and `references`, as Vite's templates do) the referenced one
    that includes the sources (`tsconfig.app.json`)."""
    config = root / "tsconfig.json"
    if not config.is_file():
        return None
    try:
        data = read_jsonc(config.read_text(encoding="utf-8-sig"))
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
    blank = blank_comments(text)
    found = _top_level_array(blank, key)
    if found is None:
        return None
    edited = _append(text, blank, *found, json.dumps(entry))
    try:
        after = read_jsonc(edited)
    except ValueError:
        return None
    return edited if after == {**before, key: [*before[key], entry]} else None


def add_member(text: str, key: str, value: list[str]) -> str | None:
    """`text` (a tsconfig without `key`) with `"key": value` as the last member of its
    top-level object, in the object's layout; None when that cannot be done safely."""
    try:
        before = read_jsonc(text)
    except ValueError:
        return None
    blank = blank_comments(text)
    start, end = len(blank) - len(blank.lstrip()), len(blank.rstrip()) - 1
    if key in before or blank[start] != "{" or blank[end] != "}":
        return None
    edited = _append(text, blank, start, end, f"{json.dumps(key)}: {json.dumps(value)}")
    try:
        after = read_jsonc(edited)
    except ValueError:
        return None
    return edited if after == {**before, key: value} else None


def _append(text: str, blank: str, start: int, end: int, item: str) -> str:
    """`text` with `item` after the last element of the array or object between the offsets
    `start` and `end` (its brackets), on a line of its own when the elements are."""
    last = len(blank[:end].rstrip()) - 1
    if last == start:  # empty
        return text[: start + 1] + item + text[start + 1 :]
    line = text[text.rfind("\n", 0, last) + 1 :]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    gap = f"\n{indent}" if "\n" in text[start:end] else " "
    if blank[last] == ",":  # a trailing comma: keep one after ours too
        return text[: last + 1] + gap + item + "," + text[last + 1 :]
    return text[: last + 1] + "," + gap + item + text[last + 1 :]


def _top_level_array(blank: str, key: str) -> tuple[int, int] | None:
    """The offsets of `[` and its `]` for `"key": [` in the top-level object, or None."""
    depth, i, n = 0, 0, len(blank)
    found: list[tuple[int, int]] = []
    while i < n:
        c = blank[i]
        if c == '"':
            end = string_end(blank, i)
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
            i = string_end(blank, i)
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
