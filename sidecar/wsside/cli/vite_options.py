"""The plugin's options in a Vite config, read without running it: the keys of the object
given to `wsside({...})` whose values are plain string literals (`handlers:
'../../services/realtime'`, `prefix: '/rt'`). `wsside init` writes wsside.toml and the sample
handler where the plugin serves them. A value computed by code is not read: the caller keeps
its defaults for it.
"""

from __future__ import annotations

from .js_tokens import CLOSE, OPEN, NotEditable, Token, js_tokens
from .vite_edit import SHIM

__all__ = ["plugin_strings"]


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
