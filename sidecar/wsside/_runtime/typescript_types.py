"""One endpoint's message types as TypeScript (`typescript.py` writes the file around them): a
namespace of `Receives`, `Sends`, an interface per record and a type per recursive alias.

Names: each record and alias gets a TypeScript name (`typescript_names.py`): its own where
TypeScript takes it and it is free, else another. Which of two classes of one name keeps it
follows the order of use, so a reorder swaps them: loading the file warns of it, and of a
class renamed because TypeScript does not take its name (`clash_notes`, through
`namespaces.collision_notes`).

A field's `?`: a key that may be absent is `key?:`, with `| undefined` in what the page sends
(the client's JSON.stringify leaves out a key set to undefined). A dataclass's field with a
default may be left out of what the page sends, but an instance the server sends carries every
field: in a class the server sends, it is required, whichever way it is also used (the page
may then always send it, which fits the handler too, and its listeners narrow on it).
"""

from __future__ import annotations

import json
import textwrap

from .._message_tree import options_of
from ..schema import Alias, AnyValue, DictOf, ListOf, Literals, Node, OneOf, Record, Scalar, Schema
from .callbacks import error_frame as make_error_frame
from .callbacks import sends_error_frame
from .events import listed
from .typescript_names import JS_IDENTIFIER, given_names, origin, typescript_name

__all__ = ["Namespace", "clash_notes", "comment", "doc", "string_literal", "union"]

# Longer comments are wrapped.
WIDTH = 100
_SCALARS = {
    "str": "string",
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "None": "null",
}

Named = Record | Alias
# What a handler without on_error sends besides sends= (unless sends= is all bytes, str and
# string literals: `sends_error_frame`); the client exports its type as ErrorFrame.
_ERROR_FRAME = make_error_frame("")


def _key(node: Named) -> object:
    """What a named node stands for: a record's class (each schema reads its own records), or
    the Python object of an alias."""
    return node.source if isinstance(node, Record) else ("alias", node.name, id(node.source))


class Namespace:
    """One endpoint's types: `Receives`, `Sends` and a declaration per record or recursive
    alias they use, named once every one is known."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Its first lines: comments, and `type Receives = ...` as the parts of a union.
        self.heads: list[str | tuple[str, list[Node | str]]] = []
        # The records and aliases used, in order of use (receives and sends read the same
        # class apart: the first read stands for both), and their names once `lines` runs.
        self.used: dict[object, Named] = {}
        self.names: dict[object, str] = {}
        # Those that `receives` reaches (what the page builds) and that `sends` reaches.
        self.sent_by_page: set[object] = set()
        self.sent_by_server: set[object] = set()
        self.imports: set[str] = set()

    def comment(self, text: str) -> None:
        self.heads.append(text)

    def root(
        self, alias: str, schema: Schema | None, received: bool, error_frame: bool = False
    ) -> str:
        """Declare `alias` for `schema`, with the error frame when `error_frame`, the runtime
        sends it (`sends_error_frame`) and `schema` does not admit it already; returns how
        `Endpoints` names it (`unknown` if none)."""
        if schema is None:
            return "unknown"
        options = options_of(schema.node)
        parts: list[Node | str] = []
        for option in options:
            if option == Scalar("bytes"):
                # What the client's send takes; what it hands listeners.
                parts.append("Binary" if received else "ArrayBuffer")
                if received:
                    self.imports.add("Binary")
            else:
                parts.append(option)
                _collect(option, self.used, self.sent_by_page if received else self.sent_by_server)
        if error_frame and sends_error_frame(schema) and schema.check(_ERROR_FRAME) is not None:
            parts.append("ErrorFrame")
            self.imports.add("ErrorFrame")
        self.heads.append((alias, parts))
        return f"{self.name}.{alias}"

    def type(self, node: Node) -> str:
        if isinstance(node, Scalar):
            return _SCALARS[node.kind]
        if isinstance(node, AnyValue):
            return "unknown"
        if isinstance(node, Literals):
            return union([_literal(v) for v in node.values])
        if isinstance(node, ListOf):
            item = self.type(node.item)
            return f"({item})[]" if self.is_union(node.item) else f"{item}[]"
        if isinstance(node, DictOf):
            keys, value = self.type(node.keys or Scalar("str")), self.type(node.value)
            if _names_alias(node.value):  # `Record<...>` of an alias would be circular in it
                return (
                    f"{{ [key in {keys}]?: {value} }}"
                    if node.keys
                    else f"{{ [key: string]: {value} }}"
                )
            if node.keys is not None:  # each key may be absent
                return f"Partial<Record<{keys}, {value}>>"
            return f"Record<string, {value}>"
        if isinstance(node, OneOf):
            return union([self.type(option) for option in node.options])
        return self.names[_key(node)]

    def is_union(self, node: Node) -> bool:
        """Whether `node` is written as a union (`int | float` is one `number`)."""
        if isinstance(node, OneOf):
            return len({self.type(option) for option in node.options}) > 1
        return isinstance(node, Literals) and len(node.values) > 1

    def name_all(self) -> None:
        """Each record and alias its own name where TypeScript takes it and it is free, then
        the others theirs."""
        self.names = given_names({key: node.name for key, node in self.used.items()})

    def by_python_name(self) -> list[list[tuple[Named, str]]]:
        """The records and aliases grouped by Python name (two classes `ChatIn` of two
        modules share one), each group in order of use with the name each got (`ChatIn`,
        `ChatIn2`)."""
        if not self.names:
            self.name_all()
        groups: dict[str, list[tuple[Named, str]]] = {}
        for key, node in self.used.items():
            groups.setdefault(node.name, []).append((node, self.names[key]))
        return list(groups.values())

    def lines(self, title: str, note: str | None) -> list[str]:
        """The namespace, after a comment of `title` and `note` (why it has this name)."""
        self.name_all()
        if note is None:
            head = [f"/** {comment(title)} */"]
        else:  # patterns may hold `-`: no line breaks inside one
            wrapped = textwrap.wrap(note, WIDTH - 4, break_on_hyphens=False)
            head = doc("\n".join([title, *wrapped]), "")
        out = [*head, f"export declare namespace {self.name} {{"]
        for line in self.heads:
            if isinstance(line, str):
                out.append(f"  {line}")
            else:
                alias, parts = line
                types = [p if isinstance(p, str) else self.type(p) for p in parts]
                out.append(f"  type {alias} = {union(types)}")
        for key, node in self.used.items():
            out.append("")
            if isinstance(node, Alias):
                out.append(f"  type {self.names[key]} = {self.type(node.node)}")
                continue
            if node.doc:
                out += doc(node.doc, "  ")
            out.append(f"  interface {self.names[key]} {{")
            for f in node.fields:
                required = f.required or (f.defaulted and key in self.sent_by_server)
                # Under exactOptionalPropertyTypes `key?: T` refuses `key: undefined`, which
                # the wire carries as an absent key when the page sends it.
                undefined = " | undefined" if not required and key in self.sent_by_page else ""
                mark = "" if required else "?"
                if _whole(f.node):
                    out.append(f"    /** {WHOLE_NOTE} */")
                out.append(f"    {_property(f.name)}{mark}: {self.type(f.node)}{undefined}")
            out.append("  }")
        out.append("}")
        return out


def clash_notes(
    space: str, receives: Schema | None, sends: Schema | None, endpoint: str
) -> list[str]:
    """A warning per Python name that two classes (or aliases) of one endpoint share: which
    class gets which TypeScript name (`ChatIn`, `ChatIn2`) follows their order of use, so
    an unrelated reorder of `receives=` would rename them under a page's code; and one per
    class whose name TypeScript does not take (`Pm-Out`, `default`), with the name it got.
    `space` is the endpoint's namespace, `receives` what its namespace types (None under
    transform_raw_data, as `typescript.py` writes it), `endpoint` its pattern and place."""
    namespace = Namespace(space)
    namespace.root("Receives", receives, True)
    namespace.root("Sends", sends, False)
    notes = []
    for group in namespace.by_python_name():
        name = group[0][0].name
        if len(group) == 1:
            node, given = group[0]
            if not typescript_name(name):
                kind = "a class" if isinstance(node, Record) else "an alias"
                notes.append(
                    f"wsside-env.d.ts: {endpoint} uses {kind} named {name}, "
                    f"{origin(node.source, name)}, which TypeScript does not take as a type "
                    f"name: it is named {space}.{given}; rename it to have one name in both"
                )
            continue
        count = "two" if len(group) == 2 else str(len(group))
        classes = listed([origin(node.source, node.name) for node, _ in group])
        names = listed([f"{space}.{given}" for _, given in group])
        rename = "one of them" if len(group) == 2 else "all but one"
        notes.append(
            f"wsside-env.d.ts: {endpoint} uses {count} classes named {name}, {classes}: "
            f"they are named {names}, in the order it first uses them (reordering receives= "
            f"or sends= swaps the names under the page's code); rename {rename}"
        )
    return notes


# Over a field that is Python's `int` (or `int | None`), written `number`: TypeScript takes
# 1.5, and the runtime check of `receives` refuses it. Editors show it on hover.
WHOLE_NOTE = "int: a whole number (1.5 is refused)"


def _whole(node: Node) -> bool:
    """Whether `node` is `int`, alone or with None (not with `float`, which takes 1.5)."""
    options = options_of(node)
    kinds = {o.kind for o in options if isinstance(o, Scalar)}
    return "int" in kinds and all(
        isinstance(o, Scalar) and o.kind in ("int", "None") for o in options
    )


def _names_alias(node: Node) -> bool:
    """Whether `node`'s text names an alias outside any interface (which TypeScript reads
    lazily, so that `Record<string, Item>` may hold an `Item` that holds the alias)."""
    if isinstance(node, Alias):
        return True
    if isinstance(node, ListOf):
        return _names_alias(node.item)
    if isinstance(node, DictOf):
        return _names_alias(node.value)
    if isinstance(node, OneOf):
        return any(_names_alias(option) for option in node.options)
    return False


def _collect(node: Node, used: dict[object, Named], reached: set[object]) -> None:
    """Adds each record and alias that `node` reaches to `used` (in order of use, when new)
    and to `reached`."""
    if isinstance(node, (Record, Alias)):
        key = _key(node)
        if key in reached:
            return
        reached.add(key)
        used.setdefault(key, node)
        if isinstance(node, Alias):
            _collect(node.node, used, reached)
        else:
            for f in node.fields:
                _collect(f.node, used, reached)
    elif isinstance(node, ListOf):
        _collect(node.item, used, reached)
    elif isinstance(node, DictOf):
        _collect(node.value, used, reached)
    elif isinstance(node, OneOf):
        for option in node.options:
            _collect(option, used, reached)


def union(types: list[str]) -> str:
    if "unknown" in types:
        return "unknown"
    unique = list(dict.fromkeys(types))
    return " | ".join(unique)


def _literal(value: str | int | bool | None) -> str:
    if isinstance(value, str):
        return string_literal(value)
    return json.dumps(value)  # true, false, null, 12


def string_literal(text: str) -> str:
    """A single-quoted TypeScript string literal."""
    body = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


def _property(name: str) -> str:
    return name if JS_IDENTIFIER.match(name) else string_literal(name)


def comment(text: str) -> str:
    return text.replace("*/", "*\\/")


def doc(text: str, indent: str) -> list[str]:
    lines = comment(text).splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {ln}".rstrip() for ln in lines), f"{indent} */"]
