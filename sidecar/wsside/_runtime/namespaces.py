"""The namespace names of `wsside-env.d.ts`: each typed endpoint's, from its own pattern.

A pattern's plain name is its words (runs of ASCII letters and digits), capitalized and
joined: `/ws/typed-chat` is `WsTypedChat`. Plain names lose what separated the words and what
varies, so two patterns can share one (`/ws/typed-chat` and `/ws/typed/chat`). Then none of
them keeps it, whatever the files around: a page that imported it gets an error, never the
other endpoint's types. Each is named by spelling out its whole pattern instead: `/` is `_`,
the words are kept, and the rest are lowercase words (`-` is `dash`, `*` is `star`) or a
variable's name after `$`: `Ws_Typed_dash_Chat` and `Ws_Typed_Chat`. A spelled name always
has a `_`, which no plain name has, so it is never another endpoint's plain name. Two patterns
spelled alike (they differ in case only, or in a variable's regex) add a hash of the pattern.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..handler import Handler
from ..pattern import VARIABLE
from .events import listed, shown

__all__ = ["TAKEN", "Named", "collision_notes", "name_words", "namespace_names", "typed"]

# The names the file writes inside each namespace, where a declaration of the same name would
# stand for them instead (an `interface Partial` of the user's makes each `Partial<...>` of its
# namespace an error, or `any` under skipLibCheck): no interface, alias or namespace is named
# one of them (tests/test_types_globals.py checks that every global the file names is here).
TAKEN = frozenset(
    {
        "Receives",  # each namespace's own aliases
        "Sends",
        "Binary",  # the client's types, imported
        "ErrorFrame",
        "Partial",  # TypeScript's: `Partial<Record<K, T>>`, `Record<string, T>`, bytes sent
        "Record",
        "ArrayBuffer",
    }
)

# Letters and digits of any script: TypeScript names may hold them (`/ws/salão` is `WsSalão`,
# not `WsSalO`).
_WORD = re.compile(r"[^\W_]+")
# A variable (`{name}`, `{name:regex}` whose regex may hold `{n}`), a word, or one character.
_TOKEN = re.compile(rf"{VARIABLE.pattern}|([^\W_]+)|(.)", re.DOTALL)
_SPELLED = {
    "-": "dash",
    "_": "underscore",
    ".": "dot",
    "~": "tilde",
    "*": "star",
    "?": "qmark",
}


@dataclass(frozen=True)
class Named:
    handler: Handler
    name: str  # its namespace's name
    plain: str  # the name it has when no other endpoint has it too
    others: tuple[Handler, ...]  # the endpoints that have `plain` too (none: it keeps it)

    def note(self) -> str | None:
        """Why it is not named `plain` (a line of its namespace's comment), or None."""
        if not self.others:
            return None
        patterns = listed([h.pattern.source for h in self.others])
        return (
            f"Not {self.plain}: {patterns} would have that name too, so each is named from "
            "its whole pattern (see docs/types.md)"
        )


def typed(handler: Handler) -> bool:
    """Whether `handler` is in `wsside-env.d.ts` (enabled, with receives= or sends=)."""
    return not handler.disabled and (handler.receives is not None or handler.sends is not None)


def namespace_names(handlers: Iterable[Handler]) -> list[Named]:
    """The typed ones of `handlers`, in their order, each with its namespace's name."""
    typed_ = [h for h in handlers if typed(h)]
    plain = [plain_name(h.pattern.pieces()) for h in typed_]
    sharing: dict[str, list[int]] = {}
    for i, name in enumerate(plain):
        sharing.setdefault(name, []).append(i)
    names = list(plain)
    collided = [i for i in range(len(typed_)) if len(sharing[plain[i]]) > 1]
    spelled = {i: spelled_name(typed_[i].pattern.source) for i in collided}
    spelled_as: dict[str, int] = {}
    for i in collided:
        spelled_as[spelled[i]] = spelled_as.get(spelled[i], 0) + 1
    for i in collided:
        names[i] = spelled[i]
        if spelled_as[spelled[i]] > 1:
            digest = hashlib.sha256(typed_[i].pattern.source.encode()).hexdigest()[:8]
            names[i] = f"{spelled[i]}_h{digest}"
    return [
        Named(h, names[i], plain[i], tuple(typed_[j] for j in sharing[plain[i]] if j != i))
        for i, h in enumerate(typed_)
    ]


def collision_notes(handlers: Iterable[Handler], loaded: Iterable[Handler]) -> list[str]:
    """A warning per plain name that endpoints share, among `handlers`, when one of `loaded`
    (the handlers of the file just loaded) is among them: both patterns, where each is
    declared, and the names they get. Then, for each endpoint of `loaded`, a warning per
    class name two of its classes share (`typescript_types.clash_notes`)."""
    loaded = list(loaded)
    mine = {id(h) for h in loaded if typed(h)}
    if not mine:
        return []
    notes = []
    done: set[str] = set()
    named = namespace_names(handlers)
    for n in named:
        if not n.others or n.plain in done:
            continue
        group = [m for m in named if m.others and m.plain == n.plain]
        if not any(id(m.handler) in mine for m in group):
            continue
        done.add(n.plain)
        where = listed([f"{m.handler.pattern.source} ({_at(m.handler)})" for m in group])
        these = listed([m.name for m in group])
        each = "both" if len(group) == 2 else "all"
        nobody = "neither" if len(group) == 2 else "none"
        notes.append(
            f"wsside-env.d.ts: {where} would {each} be named {n.plain}, so {nobody} is (a "
            f"page importing {n.plain} gets a type error): they are named {these}"
        )
    # Here, not at the top: typescript_types imports TAKEN from this module.
    from .typescript_types import clash_notes

    for n in named:
        if id(n.handler) in mine:
            h = n.handler
            receives = h.receives if h.transform_raw_data is None else None
            notes += clash_notes(n.name, receives, h.sends, f"{h.pattern.source} ({_at(h)})")
    return notes


def name_words(text: str) -> list[str]:
    """The words of `text`, of what a name may hold: a letter or digit that TypeScript does
    not take in a name (`²`, `½`, `①`) is left out, as punctuation is."""
    kept = ("".join(c for c in word if ("a" + c).isidentifier()) for word in _WORD.findall(text))
    return [word for word in kept if word]


def plain_name(pieces: tuple[str | None, ...]) -> str:
    """The words of the literal pieces, capitalized and joined (`Root` for none), after
    `Endpoint` when they start with a digit, with `2` after a name the file uses itself."""
    words = name_words("".join(p for p in pieces if p is not None))
    name = "".join(w[0].upper() + w[1:] for w in words) or "Root"
    name = name if name[0].isalpha() else "Endpoint" + name
    return f"{name}2" if name in TAKEN else name


def spelled_name(source: str) -> str:
    """The whole pattern as a name: `/` as `_` (the first one kept when the name would have
    no `_` or start with a digit), words capitalized, `{room}` as `$Room`, `**` as
    `globstar`, other characters as lowercase words (`dash`; `x27` for `'`)."""
    segments = []
    for segment in source.split("/")[1:]:
        if segment == "**":
            segments.append("globstar")
            continue
        parts = []
        for m in _TOKEN.finditer(segment):
            variable, _, word, char = m.groups()
            if variable is not None:
                parts.append("$" + "".join(w[0].upper() + w[1:] for w in name_words(variable)))
            elif word is not None:
                # What a name may not hold is spelled, as other characters are: `x²` is `Xxb2`.
                spelled = "".join(c if ("a" + c).isidentifier() else f"x{ord(c):x}" for c in word)
                parts.append(spelled[0].upper() + spelled[1:])
            else:
                parts.append(_SPELLED.get(char) or f"x{ord(char):x}")
        segments.append("_".join(parts))
    name = "_".join(segments)
    if "_" not in name or name[0].isdigit():
        name = "_" + name
    return name


def _at(handler: Handler) -> str:
    return f"{shown(handler.file)}:{handler.line}"
