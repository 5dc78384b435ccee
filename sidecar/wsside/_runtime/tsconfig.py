"""`wsside-env.d.ts` in a TypeScript project's `tsconfig`: whether it is included, and adding
it (`wsside init`; `wsside doctor` warns when it is missing).

Vite's TypeScript templates compile only `src/` (`"include": ["src"]`, in `tsconfig.app.json`
behind a root `tsconfig.json` of references, or in `tsconfig.json` itself), so the file
beside vite.config is not seen until it is listed. The `include` in effect may come through
`extends` (`tsconfig_chain`): an `include` added to the app's config replaces the inherited
one, so it keeps the inherited patterns; in SvelteKit, whose generated
`.svelte-kit/tsconfig.json` is rewritten at each sync, the file goes in through SvelteKit's
`typescript.config` option, which init does not edit: it prints that step, for the options of
`sveltekit({...})` in vite.config when that call has any (as `sv create` writes it; SvelteKit
then ignores svelte.config.js), else for `kit` in svelte.config.js.
tsconfig files are JSON with comments and trailing commas: they are read as such, and edited
by inserting one string (or one member), leaving every other byte as it was. An edit that
would not read back as exactly that change is not written; the caller prints the line to add.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import find_vite_config
from .jsonc import blank_comments, read_jsonc, string_end
from .tsconfig_chain import ChainError, Declared, effective
from .typescript import FILE_NAME

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
            advice = "run npx svelte-kit sync (it writes .svelte-kit/tsconfig.json), then check"
        else:
            advice = f"fix that, then check again that {where} includes {entry}"
        return Inclusion(config, entry, None, problem, advice=advice)
    for key, declared in lists.items():
        if not isinstance(declared.value, list):
            problem = f'"{key}" in {name(declared.config)} is not a list'
            return Inclusion(config, entry, None, problem, advice=f"fix {name(declared.config)}")
    include, files = lists.get("include"), lists.get("files")
    in_files = files is not None and _relative(target, files.config.parent) in {
        posixpath.normpath(p) for p in _strings(files)
    }
    taken = include if include or files else Declared(["**/*"], config)  # TypeScript's default
    included = in_files or (_takes(taken, target) and not _takes(lists.get("exclude"), target))
    base = None  # the extended config whose list is in effect, when that is not `config`'s own
    if include is not None and include.config == config:
        key, patterns = "include", [*include.value, entry]
    elif include is None and files is not None and files.config == config:
        key, patterns = "files", [*files.value, entry]
    elif include is not None:  # inherited: an own `include` replaces it, so it keeps its patterns
        key, base = "include", include.config
        patterns = [*(_relative(base.parent / p, config.parent) for p in _strings(include)), entry]
    else:  # only `files` (or nothing): an own `include` adds to it
        key, patterns = "include", ([] if files else ["**/*"]) + [entry]
        base = None if files is None else files.config
    line = f'"{key}": {json.dumps(patterns)}'
    if base is not None and _svelte_kit(root, base):
        advice = _svelte_kit_advice(root, base, name)
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
    if state.base is None:
        edited = add_entry(text, state.entry)
    else:
        edited = add_member(text, state.key, json.loads(f"{{{state.line}}}")[state.key])
    if edited is None:
        return [], [
            f"add {state.entry} to {where} (the message types of the handlers):\n    {state.line}"
        ]
    config.write_text(edited, encoding="utf-8")
    if state.base is None:
        return [f'added {state.entry} to "{state.key}" in {where}'], []
    return [f'added "{state.key}" to {where}: the patterns it extends, and {state.entry}'], []


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path, folder)).as_posix()


def _strings(declared: Declared) -> list[str]:
    return [p for p in declared.value if isinstance(p, str)]


def _takes(declared: Declared | None, target: Path) -> bool:
    """Whether a pattern of `include` (or `exclude`) takes `target`, read as TypeScript reads
    it: relative to the config that declares it."""
    if declared is None:
        return False
    path = _relative(target, declared.config.parent)
    return any(_glob_matches(posixpath.normpath(p), path) for p in _strings(declared))


def _svelte_kit(root: Path, base: Path) -> bool:
    """Whether the inherited list comes from SvelteKit: its generated config, or any extended
    config of a project that depends on @sveltejs/kit."""
    if base.parent.name == ".svelte-kit":
        return True
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    deps = (
        [package.get(k) for k in ("dependencies", "devDependencies")]
        if isinstance(package, dict)
        else []
    )
    return any(isinstance(d, dict) and "@sveltejs/kit" in d for d in deps)


def _svelte_kit_advice(root: Path, base: Path, name: Callable[[Path], str]) -> str:
    """SvelteKit writes its tsconfig again at each sync; `typescript.config` in its options
    edits what it writes. Its options are those given to `sveltekit({...})` in vite.config
    (as `sv create` writes it), or when that call has none, `kit` in svelte.config. An
    `include` in the root tsconfig would replace SvelteKit's."""
    entry = _relative(root / FILE_NAME, base.parent)
    sync = (
        f"{name(base)} was written before: run npx svelte-kit sync (or restart the dev "
        "server), which writes it again"
    )
    replace = '(an "include" in the root tsconfig would replace SvelteKit\'s)'
    names = ("svelte.config.js", "svelte.config.mjs", "svelte.config.ts")
    present = next((n for n in names if (root / n).is_file()), None)
    svelte = present or names[0]
    try:
        mentioned = present is not None and FILE_NAME in (root / svelte).read_text(encoding="utf-8")
    except (OSError, ValueError):
        mentioned = False
    options = _sveltekit_options(root)
    if options is None:  # svelte.config.js holds the kit options (SvelteKit before 2.62)
        if mentioned:
            return f"{svelte} names {FILE_NAME}, but {sync}"
        return (
            f"in {svelte}: kit: {{ typescript: {{ config: (config) => {{ config.include.push("
            f"'{entry}'); }} }} }}, then npx svelte-kit sync {replace}"
        )
    vite, text = options
    step = (
        f"in {vite}, among the options of sveltekit({{ ... }}): typescript: {{ config: "
        f"(config) => {{ config.include.push('{entry}'); }} }}"
    )
    if "kit" in _top_keys(_js_code(text)):  # SvelteKit passes it on to vite-plugin-svelte
        return (
            f"sveltekit({{ ... }}) in {vite} has a kit: {{ ... }} option, which SvelteKit does "
            f"not read (it takes its own options unwrapped): {step}, then npx svelte-kit sync"
        )
    if FILE_NAME in text:
        return f"sveltekit({{ ... }}) in {vite} names {FILE_NAME}, but {sync}"
    ignored = (
        ""
        if present is None
        else f"; SvelteKit ignores {present}, as {vite} passes options to sveltekit()"
    )
    if mentioned:
        return (
            f"{present} names {FILE_NAME}, but SvelteKit ignores {present} when {vite} passes "
            f'options to sveltekit() (npx svelte-kit sync says "{present} is ignored when '
            f'options are passed via your Vite config"): {step}, then npx svelte-kit sync'
        )
    return f"{step}, then npx svelte-kit sync {replace}{ignored}"


def _top_keys(code: str) -> list[str]:
    """The keys written `key:` at the top of the object literal `code` starts with."""
    depth, kept = 0, []
    for c in code:
        depth += c in "([{"
        kept.append(c if depth == 1 and c not in "([{)]}" else " ")
        depth -= c in ")]}"
        if depth == 0 and c in ")]}":
            break
    return re.findall(r"(?:^|,)\s*([\w$]+)\s*:", "".join(kept).strip())


def _sveltekit_options(root: Path) -> tuple[str, str] | None:
    """The name of vite.config and the text of the options its `sveltekit(...)` call passes,
    or None when it passes none (or there is no such call): then SvelteKit reads
    svelte.config. Read as text: `sveltekit` by the name its import from
    `@sveltejs/kit/vite` gives it."""
    vite = find_vite_config(root)
    if vite is None:
        return None
    try:
        text = vite.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    code = _js_code(text)
    name = "sveltekit"
    for m in re.finditer(r"\bimport\s*\{([^}]*)\}\s*from\s*(['\"])", code):
        source = text[m.end() : code.find(m.group(2), m.end())]
        if source == "@sveltejs/kit/vite":
            for item in m.group(1).split(","):
                words = item.split()
                if words and words[0] == "sveltekit":
                    name = words[-1]
    for m in re.finditer(rf"(?<![\w$.]){re.escape(name)}\s*\(", code):
        close = _call_end(code, m.end() - 1)
        arguments = text[m.end() : close]
        if _js_code(arguments).strip() not in ("", "undefined"):
            return vite.name, arguments
        return None
    return None


def _call_end(code: str, start: int) -> int:
    """The offset of the bracket that closes the one at `start` (the end of `code` when none
    does)."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] in "([{":
            depth += 1
        elif code[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return len(code)


# After these (or at the start) a `/` starts a regular expression; after others it divides.
_BEFORE_REGEX = frozenset("(,=:[!&|?{};+-*%<>~^")


def _js_code(text: str) -> str:
    """JavaScript `text` with its comments, and what is inside its strings, template
    literals and regular expressions, turned into spaces (offsets kept): what is left of
    the brackets and names is code's."""
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
            blank(i + 1, min(j, n))
            i, before = j + 1, c
            continue
        if not c.isspace():
            before = c
        i += 1
    return "".join(out)


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
