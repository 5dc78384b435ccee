"""SvelteKit's part of `wsside-env.d.ts` in a project's types (`tsconfig.py`): SvelteKit
writes `.svelte-kit/tsconfig.json` again at each sync, so the file goes in through its
`typescript.config` option, which wsside does not edit: the step to print. SvelteKit's
options are those given to `sveltekit({...})` in vite.config when that call has any (as
`sv create` writes it; SvelteKit then ignores svelte.config.js), else `kit` in
svelte.config.js. vite.config is read as text, never run: JavaScript's comments, strings,
template literals and regular expressions are blanked first (`js_text.js_code`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from .._runtime.typescript import FILE_NAME
from .js_text import js_code
from .vite_files import find_vite_config

__all__ = ["svelte_kit", "svelte_kit_advice"]


def svelte_kit(root: Path, base: Path) -> bool:
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


def svelte_kit_advice(root: Path, base: Path, name: Callable[[Path], str]) -> str:
    """SvelteKit writes its tsconfig again at each sync; `typescript.config` in its options
    edits what it writes. Its options are those given to `sveltekit({...})` in vite.config
    (as `sv create` writes it), or when that call has none, `kit` in svelte.config. An
    `include` in the root tsconfig would replace SvelteKit's."""
    entry = Path(os.path.relpath(root / FILE_NAME, base.parent)).as_posix()
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
    if "kit" in _top_keys(js_code(text)):  # SvelteKit passes it on to vite-plugin-svelte
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
    code = js_code(text)
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
        if js_code(arguments).strip() not in ("", "undefined"):
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
