"""The handlers' message types as TypeScript: the text of `wsside-env.d.ts`.

The file augments `Endpoints` of `vite-plugin-wsside/client` with one entry per endpoint that
declares `receives` or `sends` (what the server receives, so what the page sends; and what
the server sends), keyed by its pattern: a plain path as a string, a pattern with wildcards or
variables as a template literal type (`/ws/rooms/${string}`). Each endpoint's types live in a
namespace named after its pattern (`namespaces.py`), so two handlers' `ChatIn`s never collide.

`render` is a pure function of the declarations: the same handlers give the same text, byte
for byte, so the plugin can leave an unchanged file alone.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..handler import Handler
from ..schema import AnyValue, DictOf, ListOf, Literals, Node, OneOf, Record, Scalar, Schema
from .callbacks import error_frame
from .namespaces import TAKEN, namespace_names

__all__ = ["FILE_NAME", "render"]

FILE_NAME = "wsside-env.d.ts"
CLIENT = "vite-plugin-wsside/client"

# Longer entries of `Endpoints` are written on several lines.
_WIDTH = 100
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
# What a handler without on_error sends besides sends=; the client exports its type as
# ErrorFrame.
_ERROR_FRAME = error_frame("")
_TRANSFORMED = (
    "// receives= types what transform_raw_data returns, not what the page sends: unknown"
)


def render(handlers: Iterable[Handler], root: Path, project: Path) -> str:
    """The text of `wsside-env.d.ts` for `handlers` (in routing order) from the handlers
    folder `root`; comments name it and each handler's file relative to `project`."""
    folder = _shown(root, project)
    endpoints = _endpoints(handlers, project)
    imports = ", ".join(sorted({name for e in endpoints for name in e.imports}))
    lines = [
        f"// {FILE_NAME}: the message types of the wsside handlers in {folder}/, for {CLIENT}.",
        "// Generated from their receives= and sends=: do not edit. The Vite plugin rewrites it",
        f"// when a handler file changes; without Vite: wsside types --out {FILE_NAME}",
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
            "  interface Endpoints {}",
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
    lines += ["  }", "}"]
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
        namespace = _Namespace(name)
        if handler.transform_raw_data is None:
            receives = namespace.root("Receives", handler.receives, True)
        else:
            # receives= then types the transform's result; the page sends its input.
            receives = "unknown"
            if handler.receives is not None:
                namespace.aliases.append(_TRANSFORMED)
        # Declared or not, the page gets the error frame from a handler without on_error.
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
        receives = _union([e.receives for e in admitted])
        sends = _union([e.sends for e in admitted])
        entries.append((key, (receives, sends), [e.source for e in admitted[1:]]))
    return entries


def _matcher(pieces: tuple[str | None, ...]) -> Callable[[tuple[str | None, ...]], bool]:
    """Whether every path of another key is a path of this template literal type."""
    regex = re.compile("".join(".*" if p is None else re.escape(p) for p in pieces), re.DOTALL)

    def covers(other: tuple[str | None, ...]) -> bool:
        # A character no path contains stands for each stretch that varies in the other key.
        return regex.fullmatch("".join("\0" if p is None else p for p in other)) is not None

    return covers


def _union(types: list[str]) -> str:
    if "unknown" in types:
        return "unknown"
    unique = list(dict.fromkeys(types))
    return " | ".join(unique)


def _key(pieces: tuple[str | None, ...]) -> str:
    if None not in pieces:
        return _string("".join(p for p in pieces if p is not None))
    body = "".join("${string}" if p is None else _template_text(p) for p in pieces)
    return f"[path: `{body}`]"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken and name not in TAKEN:
        return name
    n = 2
    while f"{name}{n}" in taken:
        n += 1
    return f"{name}{n}"


class _Namespace:
    """One endpoint's types: `Receives`, `Sends` and an interface per record they use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.aliases: list[str] = []
        # The records used, by class (receives and sends read the same class apart), with
        # their names here, in order of use.
        self.records: dict[type, tuple[Record, str]] = {}
        # The records that `receives` reaches: what the page builds and the client encodes
        # with JSON.stringify, which leaves out a key set to undefined.
        self.sent_by_page: set[type] = set()
        self.imports: set[str] = set()

    def root(
        self, alias: str, schema: Schema | None, received: bool, error_frame: bool = False
    ) -> str:
        """Declare `alias` for `schema`, with the error frame when `error_frame` and `schema`
        does not admit it already; returns how `Endpoints` names it (`unknown` if none)."""
        if schema is None:
            return "unknown"
        node = schema.node
        options = node.options if isinstance(node, OneOf) else (node,)
        parts = []
        for option in options:
            if option == Scalar("bytes"):
                # What the client's send takes; what it hands listeners.
                parts.append("Binary" if received else "ArrayBuffer")
                if received:
                    self.imports.add("Binary")
            else:
                parts.append(self.type(option))
                if received:
                    _collect(option, self.sent_by_page)
        if error_frame and schema.check(_ERROR_FRAME) is not None:
            parts.append("ErrorFrame")
            self.imports.add("ErrorFrame")
        self.aliases.append(f"type {alias} = {_union(parts)}")
        return f"{self.name}.{alias}"

    def type(self, node: Node) -> str:
        if isinstance(node, Scalar):
            return _SCALARS[node.kind]
        if isinstance(node, AnyValue):
            return "unknown"
        if isinstance(node, Literals):
            return _union([_literal(v) for v in node.values])
        if isinstance(node, ListOf):
            item = self.type(node.item)
            return f"({item})[]" if self.is_union(node.item) else f"{item}[]"
        if isinstance(node, DictOf):
            return f"Record<string, {self.type(node.value)}>"
        if isinstance(node, OneOf):
            return _union([self.type(option) for option in node.options])
        return self.record_name(node)

    def is_union(self, node: Node) -> bool:
        """Whether `node` is written as a union (`int | float` is one `number`)."""
        if isinstance(node, OneOf):
            return len({self.type(option) for option in node.options}) > 1
        return isinstance(node, Literals) and len(node.values) > 1

    def record_name(self, record: Record) -> str:
        known = self.records.get(record.source)
        if known is not None:
            return known[1]
        name = _unique(record.name, {name for _, name in self.records.values()})
        self.records[record.source] = (record, name)
        for f in record.fields:  # names the records it uses, in order of use
            self.type(f.node)
        return name

    def lines(self, title: str, note: str | None) -> list[str]:
        """The namespace, after a comment of `title` and `note` (why it has this name)."""
        if note is None:
            head = [f"/** {_comment(title)} */"]
        else:  # patterns may hold `-`: no line breaks inside one
            wrapped = textwrap.wrap(note, _WIDTH - 4, break_on_hyphens=False)
            head = _doc("\n".join([title, *wrapped]), "")
        out = [*head, f"export declare namespace {self.name} {{"]
        out += [f"  {alias}" for alias in self.aliases]
        for record, name in self.records.values():
            out.append("")
            if record.doc:
                out += _doc(record.doc, "  ")
            out.append(f"  interface {name} {{")
            for f in record.fields:
                optional = "" if f.required else "?"
                # Under exactOptionalPropertyTypes `key?: T` refuses `key: undefined`, which
                # the wire carries as an absent key when the page sends it.
                undefined = (
                    " | undefined" if not f.required and record.source in self.sent_by_page else ""
                )
                out.append(f"    {_property(f.name)}{optional}: {self.type(f.node)}{undefined}")
            out.append("  }")
        out.append("}")
        return out


def _collect(node: Node, found: set[type]) -> None:
    """Adds the class of each record that `node` reaches to `found`."""
    if isinstance(node, Record):
        if node.source in found:
            return
        found.add(node.source)
        for f in node.fields:
            _collect(f.node, found)
    elif isinstance(node, ListOf):
        _collect(node.item, found)
    elif isinstance(node, DictOf):
        _collect(node.value, found)
    elif isinstance(node, OneOf):
        for option in node.options:
            _collect(option, found)


_SCALARS = {
    "str": "string",
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "None": "null",
}


def _literal(value: str | int | bool | None) -> str:
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)  # true, false, null, 12


def _string(text: str) -> str:
    """A single-quoted TypeScript string literal."""
    body = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


def _template_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")


def _property(name: str) -> str:
    return name if _IDENTIFIER.match(name) else _string(name)


def _comment(text: str) -> str:
    return text.replace("*/", "*\\/")


def _doc(text: str, indent: str) -> list[str]:
    lines = _comment(text).splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {ln}".rstrip() for ln in lines), f"{indent} */"]
