"""The handlers' message types as TypeScript: the text of `wsside-env.d.ts`.

The file augments `Endpoints` of `vite-plugin-wsside/client` with one entry per endpoint that
declares `receives` or `sends` (what the server receives, so what the page sends; and what
the server sends), keyed by its pattern: a plain path as a string, a pattern with wildcards or
variables as a template literal type (`/ws/rooms/${string}`); and `Paths` with the key of
every endpoint served, declared or not, which `connect` then takes alone. Each endpoint's
types live in a namespace named after its pattern (`namespaces.py`), so two handlers'
`ChatIn`s never collide.

`render` is a pure function of the declarations: the same handlers give the same text, byte
for byte, so the plugin can leave an unchanged file alone.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..handler import Handler
from .namespaces import namespace_names
from .typescript_types import WIDTH, Namespace, string_literal, union

__all__ = ["FILE_NAME", "UNTYPED", "render"]

FILE_NAME = "wsside-env.d.ts"
# The line of a file whose handlers declare no types (their paths are listed all the same).
UNTYPED = "  interface Endpoints {}"
CLIENT = "vite-plugin-wsside/client"

# Longer entries of `Endpoints` are written on several lines.
_WIDTH = WIDTH
_TRANSFORMED = (
    "// receives= types what transform_raw_data returns, not what the page sends: unknown"
)


def render(handlers: Iterable[Handler], root: Path, project: Path) -> str:
    """The text of `wsside-env.d.ts` for `handlers` (in routing order) from the handlers
    folder `root`; comments name it and each handler's file relative to `project`."""
    folder = _shown(root, project)
    handlers = list(handlers)
    endpoints = _endpoints(handlers, project)
    paths = _paths(handlers)
    imports = ", ".join(sorted({name for e in endpoints for name in e.imports}))
    # The command run beside this file: a folder other than the default is named (the
    # plugin's `handlers` option, which wsside.toml may not say).
    where = "" if folder == "ws" else f" --handlers {shlex.quote(folder)}"
    lines = [
        f"// {FILE_NAME}: the message types of the wsside handlers in {folder}/, for {CLIENT}.",
        "// Generated from their receives= and sends=: do not edit. The Vite plugin rewrites it",
        f"// when a handler file changes; without Vite: wsside types --out {FILE_NAME}{where}",
        f"import type {{ {imports} }} from '{CLIENT}'" if imports else "export {}",
        "",
        f"declare module '{CLIENT}' {{",
    ]
    if endpoints:  # each namespace is exported: a page imports the one it needs
        page = f"import type {{ {endpoints[0].space} }} from './{FILE_NAME[: -len('.d.ts')]}'"
        lines.insert(3, f"// A page names its types: {page} (the path from the page)")
    if not endpoints:
        lines += [
            "  // No handler declares receives= or sends= yet: every endpoint is untyped.",
            UNTYPED,
            *paths,
            "}",
        ]
        return "\n".join(lines) + "\n"
    lines.append("  interface Endpoints {")
    for key, (receives, sends), covered in _entries(endpoints):
        if covered:  # TypeScript requires it (see _entries)
            also = ", ".join(covered)
            lines.append(f"    // Also admits the types of {also}: this key matches their paths")
        line = f"    {key}: {{ receives: {receives}; sends: {sends} }}"
        if len(line) > _WIDTH:
            line = f"    {key}: {{\n      receives: {receives}\n      sends: {sends}\n    }}"
        lines.append(line)
    lines += ["  }", *paths, "}"]
    for endpoint in endpoints:
        lines += ["", *endpoint.namespace]
    return "\n".join(lines) + "\n"


@dataclass
class _Endpoint:
    key: str  # the property name or index signature in `Endpoints`
    source: str  # the pattern as declared
    pieces: tuple[str | None, ...]
    receives: str
    sends: str
    space: str  # its namespace's name
    namespace: list[str]
    imports: set[str]  # the client's types it uses


def _shown(path: str | Path, project: Path) -> str:
    """`path` relative to `project` (so the text is the same on every machine), with `/` on
    every system; absolute only where there is no relative path (another Windows drive)."""
    try:
        return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(project))).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _endpoints(handlers: Iterable[Handler], project: Path) -> list[_Endpoint]:
    endpoints: list[_Endpoint] = []
    for named in namespace_names(handlers):
        handler, name = named.handler, named.name
        pieces = handler.pattern.pieces()
        namespace = Namespace(name)
        if handler.transform_raw_data is None:
            receives = namespace.root("Receives", handler.receives, True)
        else:
            # receives= then types the transform's result; the page sends its input.
            receives = "unknown"
            if handler.receives is not None:
                namespace.comment(_TRANSFORMED)
        # Declared or not, the page gets the error frame from a handler without on_error,
        # unless sends= is all bytes, str and string literals (`sends_error_frame`, which
        # `root` asks).
        frame = handler.callbacks["on_error"] is None
        sends = namespace.root("Sends", handler.sends, False, error_frame=frame)
        endpoints.append(
            _Endpoint(
                key=_key(pieces),
                source=handler.pattern.source,
                pieces=pieces,
                receives=receives,
                sends=sends,
                space=name,
                namespace=namespace.lines(
                    f"{handler.pattern.source} ({_shown(handler.file, project)})", named.note()
                ),
                imports=namespace.imports,
            )
        )
    return endpoints


def _paths(handlers: list[Handler]) -> list[str]:
    """The `Paths` interface: the key of every endpoint served (not the disabled ones), in
    routing order, once each; none while there is no handler (`connect` takes any path)."""
    keys = dict.fromkeys(_key(h.pattern.pieces()) for h in handlers if not h.disabled)
    if not keys:
        return []
    return [
        "  // Every path the handlers serve: connect() takes no other (a path only known at",
        "  // run time, a `string`, is not checked).",
        "  interface Paths {",
        *(f"    {key}: true" for key in keys),
        "  }",
    ]


def _entries(endpoints: list[_Endpoint]) -> list[tuple[str, tuple[str, str], list[str]]]:
    """One (key, (receives, sends), patterns it also admits) per distinct key. TypeScript
    requires every entry a pattern's key covers to fit the pattern's own (`/ws/${string}`
    covers `/ws/chat`), so a pattern's entry also admits the types of the entries it covers;
    endpoints with the same key share one entry."""
    merged: dict[str, list[_Endpoint]] = {}
    for e in endpoints:
        merged.setdefault(e.key, []).append(e)
    entries = []
    for key, own in merged.items():
        admitted = list(own)
        if None in own[0].pieces:
            covers = _matcher(own[0].pieces)
            for other_key, others in merged.items():
                if other_key != key and covers(others[0].pieces):
                    admitted += others
        receives = union([e.receives for e in admitted])
        sends = union([e.sends for e in admitted])
        entries.append((key, (receives, sends), [e.source for e in admitted[1:]]))
    return entries


def _matcher(pieces: tuple[str | None, ...]) -> Callable[[tuple[str | None, ...]], bool]:
    """Whether every path of another key is a path of this template literal type."""
    regex = re.compile("".join(".*" if p is None else re.escape(p) for p in pieces), re.DOTALL)

    def covers(other: tuple[str | None, ...]) -> bool:
        # A character no path contains stands for each stretch that varies in the other key.
        return regex.fullmatch("".join("\0" if p is None else p for p in other)) is not None

    return covers


def _key(pieces: tuple[str | None, ...]) -> str:
    if None not in pieces:
        return string_literal("".join(p for p in pieces if p is not None))
    body = "".join("${string}" if p is None else _template_text(p) for p in pieces)
    return f"[path: `{body}`]"


def _template_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
