"""Adding the plugin to a Vite config without running it: its tokens (`js_tokens.py`, a scan
that knows JavaScript's comments, strings, template literals and regular expressions), then
two insertions.

The tokens give the config object (`export default defineConfig({...})`, `export default
{...}`, `defineConfig(({ mode }) => ({...}))`, or a `const` holding one of those) and, at its
top level, the `plugins: [` array: `wsside()` goes first in it, or a `plugins: [wsside()]` key
is added when there is none. Anything else (a commented-out array, Rollup's
`build.rollupOptions.plugins`, a computed array, a spread that may hold plugins, CommonJS)
raises `NotEditable` saying why, and the caller prints the lines to add instead.
"""

from __future__ import annotations

from .js_tokens import CLOSE, OPEN, NotEditable, Token, js_tokens, line_end

__all__ = ["PLUGIN_CALL", "SHIM", "add_plugin", "import_line", "uses_plugin"]

SHIM = "vite-plugin-wsside"
PLUGIN_CALL = "wsside()"


def import_line(quote: str = "'", semicolon: bool = False) -> str:
    """The import to add, in the file's own quotes and semicolon style."""
    return f"import wsside from {quote}{SHIM}{quote}{';' if semicolon else ''}"


def uses_plugin(src: str) -> bool:
    """Whether the config imports the plugin (a mention in a comment does not count)."""
    return any(t.kind == "string" and t.text[1:-1] == SHIM for t in js_tokens(src))


def add_plugin(src: str, call: str = PLUGIN_CALL) -> str:
    """`src` (an ES-module Vite config) with the plugin imported and `call` (`wsside()`) first
    in the config's top-level `plugins` array (which is added when missing). Raises
    `NotEditable`."""
    tokens = js_tokens(src)
    if any(t.kind == "name" and t.text == "wsside" for t in tokens):
        raise NotEditable("the name wsside is already used in it")
    if _has_sequence(tokens, ("module", ".", "exports")) or _has_sequence(tokens, ("require", "(")):
        raise NotEditable("it is CommonJS (module.exports, require)")
    depths = _depths(tokens)
    config = _config_object(tokens, depths)
    edits = [_plugins_edit(src, tokens, depths, config, call), _import_edit(src, tokens, depths)]
    for at, text in sorted(edits, reverse=True):
        src = src[:at] + text + src[at:]
    return src


def _has_sequence(tokens: list[Token], texts: tuple[str, ...]) -> bool:
    size = len(texts)
    return any(
        tuple(t.text for t in tokens[i : i + size]) == texts for i in range(len(tokens) - size + 1)
    )


def _depths(tokens: list[Token]) -> list[int]:
    """The bracket depth before each token (an opening bracket is at its outer depth)."""
    depths, depth = [], 0
    for t in tokens:
        if t.kind == "punct" and t.text in CLOSE:
            depth -= 1
        depths.append(depth)
        if t.kind == "punct" and t.text in OPEN:
            depth += 1
    return depths


def _is(tokens: list[Token], i: int, text: str) -> bool:
    return i < len(tokens) and tokens[i].text == text and tokens[i].kind in ("punct", "name")


def _config_object(tokens: list[Token], depths: list[int]) -> int:
    """Index of the `{` that opens the config object."""
    start = next(
        (
            i + 2
            for i in range(len(tokens) - 2)
            if depths[i] == 0 and _is(tokens, i, "export") and _is(tokens, i + 1, "default")
        ),
        None,
    )
    if start is None:
        raise NotEditable("it has no `export default`")
    if tokens[start].kind == "name" and not _is(tokens, start, "defineConfig"):
        start = _declaration(tokens, depths, tokens[start].text)
    return _object_of(tokens, depths, start)


def _declaration(tokens: list[Token], depths: list[int], name: str) -> int:
    """Index of the value of `const|let|var <name> [: type] = <value>` at the top level."""
    for i in range(len(tokens) - 1):
        if (
            depths[i] == 0
            and tokens[i].text in ("const", "let", "var")
            and tokens[i + 1].text == name
        ):
            for j in range(i + 2, len(tokens)):
                if depths[j] == 0 and _is(tokens, j, "="):
                    return j + 1
    raise NotEditable(f"its default export {name} is not declared in it")


def _object_of(tokens: list[Token], depths: list[int], i: int) -> int:
    if _is(tokens, i, "defineConfig") and _is(tokens, i + 1, "("):
        i += 2
        if not _is(tokens, i, "{"):
            i = _arrow_body(tokens, depths, i)
    if not _is(tokens, i, "{"):
        raise NotEditable("its default export is not defineConfig({...}) or an object")
    return i


def _arrow_body(tokens: list[Token], depths: list[int], i: int) -> int:
    """For `defineConfig((args) => ({` or `arg => ({`: the index of the returned object's
    `{`; for any other argument, `i` itself."""
    for j in range(i, len(tokens)):
        if depths[j] < depths[i]:
            return i  # defineConfig's closing parenthesis: no function
        if depths[j] == depths[i] and _is(tokens, j, "=>"):
            if _is(tokens, j + 1, "(") and _is(tokens, j + 2, "{"):
                return j + 2
            raise NotEditable(
                "defineConfig is given a function that does not return ({...}) at once"
            )
    return i


def _plugins_edit(
    src: str, tokens: list[Token], depths: list[int], config: int, call: str
) -> tuple[int, str]:
    inside = depths[config] + 1
    found: list[int] = []
    spread = False
    after_separator = True
    for i in range(config + 1, len(tokens)):
        if depths[i] < inside:
            break  # the config object's closing brace
        if depths[i] != inside:
            continue
        t = tokens[i]
        if after_separator and t.text == "...":
            spread = True
        elif after_separator and t.kind in ("name", "string") and t.text.strip("'\"") == "plugins":
            found.append(i)
        after_separator = t.text == ","
    if len(found) > 1:
        raise NotEditable("its config has plugins twice")
    if found:
        key = found[0]
        if not (_is(tokens, key + 1, ":") and _is(tokens, key + 2, "[")):
            raise NotEditable("its plugins are not written as an array [...]")
        return _first_in_array(src, tokens, key + 2, call)
    if spread:
        raise NotEditable("its config spreads another object (...), which may hold the plugins")
    return _new_key(src, tokens, config, call)


def _first_in_array(src: str, tokens: list[Token], bracket: int, call: str) -> tuple[int, str]:
    opening = tokens[bracket]
    if _is(tokens, bracket + 1, "]"):
        return opening.end, call
    gap = src[opening.end : tokens[bracket + 1].start]
    if "\n" in gap:  # one plugin per line: keep it so
        return opening.end, "\n" + gap.rsplit("\n", 1)[1] + call + ","
    return opening.end, call + ", "


def _new_key(src: str, tokens: list[Token], brace: int, call: str) -> tuple[int, str]:
    opening = tokens[brace]
    key = f"plugins: [{call}],"
    if _is(tokens, brace + 1, "}"):
        return opening.end, f" {key[:-1]} "
    gap = src[opening.end : tokens[brace + 1].start]
    if "\n" in gap:
        return opening.end, "\n" + gap.rsplit("\n", 1)[1] + key
    return opening.end, " " + key


def _import_edit(src: str, tokens: list[Token], depths: list[int]) -> tuple[int, str]:
    """After the last top-level import statement (in its quotes and semicolon style), else
    at the top."""
    last_end: int | None = None
    quote, semicolon = "'", False
    for i in range(len(tokens)):
        if depths[i] != 0 or not _is(tokens, i, "import") or _is(tokens, i + 1, "("):
            continue
        if _is(tokens, i + 1, "."):  # import.meta
            continue
        j = i + 1
        while j < len(tokens) and tokens[j].kind != "string":
            j += 1
        if j == len(tokens):
            break
        end = tokens[j].end
        quote = tokens[j].text[0]
        semicolon = _is(tokens, j + 1, ";")
        last_end = tokens[j + 1].end if semicolon else end
    line = import_line(quote, semicolon)
    if last_end is None:
        return 0, line + "\n\n"
    return line_end(src, last_end), "\n" + line
