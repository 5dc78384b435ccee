"""The plugin's options in a Vite config, read without running it: the keys of the object
given to `wsside({...})` whose values are plain string literals (`handlers:
'../../services/realtime'`, `prefix: '/rt'`). `wsside init` writes wsside.toml and the sample
handler where the plugin serves them, and `wsside serve` names the `handlers` option when the
default folder is missing. A value computed by code is not read: the caller keeps its
defaults for it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .._runtime.config import ConfigError, OptionError
from .js_tokens import CLOSE, OPEN, NotEditable, Token, js_tokens
from .vite_edit import SHIM

__all__ = ["plugin_strings", "vite_handlers_hint"]


def plugin_strings(src: str) -> dict[str, str]:
    """The string-literal options of the first `wsside({...})` call in `src` (the plugin by
    the name its import gives it); {} when there is none, or the file cannot be read."""
    try:
        tokens = js_tokens(src)
    except NotEditable:
        return {}
    name = _imported_as(tokens)
    for i in range(len(tokens) - 2):
        if tokens[i].kind == "name" and tokens[i].text == name and _texts(tokens, i + 1, "(", "{"):
            return _strings_of(tokens, i + 2)
    return {}


def _texts(tokens: list[Token], i: int, *texts: str) -> bool:
    return all(i + k < len(tokens) and tokens[i + k].text == text for k, text in enumerate(texts))


def _imported_as(tokens: list[Token]) -> str:
    """The name of `import NAME from 'vite-plugin-wsside'` (`wsside` when not found)."""
    for i in range(len(tokens) - 3):
        if (
            tokens[i].text == "import"
            and tokens[i + 1].kind == "name"
            and tokens[i + 2].text == "from"
            and tokens[i + 3].kind == "string"
            and tokens[i + 3].text[1:-1] == SHIM
        ):
            return tokens[i + 1].text
    return "wsside"


def _strings_of(tokens: list[Token], brace: int) -> dict[str, str]:
    """The `key: 'value'` pairs at the top level of the object opened at `brace`."""
    found: dict[str, str] = {}
    depth = 0
    for i in range(brace, len(tokens)):
        t = tokens[i]
        if t.kind == "punct" and t.text in OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in CLOSE:
            depth -= 1
            if depth == 0:
                break
        elif (
            depth == 1
            and t.kind in ("name", "string")
            and tokens[i - 1].text in ("{", ",")
            and _texts(tokens, i + 1, ":")
            and i + 3 < len(tokens)
            and tokens[i + 2].kind == "string"
            and tokens[i + 3].text in (",", "}")
            and "\\" not in tokens[i + 2].text
        ):
            found[t.text.strip("'\"")] = tokens[i + 2].text[1:-1]
    return found


def vite_handlers_hint(exc: ConfigError | OptionError) -> str:
    """`wsside serve`'s hint for a missing default handlers folder in a Vite project whose
    wsside() names another: that option, as `wsside serve` takes it (it does not read
    vite.config: a deploy may have none). '' otherwise."""
    if exc.key != "handlers folder":
        return ""
    # Here, not at the top: only this error reads vite.config (as text: no node runs).
    from ..doctor.vite_config import project_folder, read_vite_config

    root = project_folder(Path.cwd())
    facts = read_vite_config(root, None)
    named = (facts.wsside_options or {}).get("handlers")
    if facts.file is None or not isinstance(named, str):
        return ""
    folder = os.path.relpath(os.path.normpath(root / named))  # as the plugin resolves it
    return (
        f"\n  {facts.file.name} gives wsside() handlers: '{named}', which wsside serve does not "
        f"read: wsside serve --handlers {shlex.quote(folder)}"
        + (f', or handlers = "{named}" in wsside.toml' if root == Path.cwd() else "")
    )
