"""The TypeScript name of each record and alias of one endpoint's namespace
(`typescript_types.Namespace`), and what loading warns of when one is not its Python name.

A class keeps its own name when TypeScript takes it and no other in the namespace has it
first. TypeScript does not take every Python name: a functional TypedDict's may be any string
(`TypedDict("Pm-Out", ...)`), and `default`, `new`, `string`... are words of the language
(tsc: "Interface name cannot be 'default'"); `Partial`, `Record`... are names the file writes
(`TAKEN`). A name that is not an identifier is spelled from its words (`PmOut`); any name
still not free gets the first free `Name2`, `Name3`... (`default2`), skipping every name
already used, so a user's own `Item2` is never renamed for a generated one.
"""

from __future__ import annotations

import inspect
import re

from .events import shown
from .module_names import shown_module_name
from .namespaces import TAKEN, name_words

__all__ = ["JS_IDENTIFIER", "TYPESCRIPT_WORDS", "given_names", "origin", "typescript_name"]

# Names TypeScript refuses for an interface or a type alias, or misreads where the file then
# writes them (`type R = keyof`), in TypeScript 5.0 to 7: JavaScript's reserved words, and
# TypeScript's primitive types and type operators.
_RESERVED = (
    "break case catch class const continue debugger default delete do else enum export "
    "extends false finally for function if import in instanceof new null return super "
    "switch this throw true try typeof var void while with"
)
_TYPE_WORDS = (
    "any bigint boolean never number object string symbol undefined unknown "
    "infer intrinsic keyof readonly unique"
)
TYPESCRIPT_WORDS = frozenset(f"{_RESERVED} {_TYPE_WORDS}".split())
# An ASCII identifier with `$`, which TypeScript takes and Python does not.
JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


def typescript_name(name: str) -> bool:
    """Whether TypeScript takes `name` as an interface's or alias's name."""
    identifier = name.isidentifier() or JS_IDENTIFIER.match(name) is not None
    return identifier and name not in TYPESCRIPT_WORDS


def given_names(wanted: dict[object, str]) -> dict[object, str]:
    """The TypeScript name of each key of `wanted` (in order of use), from its Python name."""
    taken = set(TAKEN | TYPESCRIPT_WORDS)
    names: dict[object, str] = {}
    later = []
    for key, name in wanted.items():
        if typescript_name(name) and name not in taken:
            names[key] = name
            taken.add(name)
        else:
            later.append((key, name))
    for key, name in later:
        base = _spelled(name)
        given, n = base, 2
        while given in taken:
            given, n = f"{base}{n}", n + 1
        names[key] = given
        taken.add(given)
    return names


def _spelled(name: str) -> str:
    """`name` itself when it is an identifier, else its words (of what a TypeScript name may
    hold) capitalized and joined, after `Type` when they start with a digit or are none."""
    if name.isidentifier() or JS_IDENTIFIER.match(name):
        return name
    spelled = "".join(word[0].upper() + word[1:] for word in name_words(name))
    return spelled if spelled[:1].isalpha() or spelled[:1] == "_" else "Type" + spelled


def origin(source: object, name: str) -> str:
    """A record's class (or an alias) with its module, and where it is defined:
    `models.ChatIn (ws/models.py:3)`."""
    module = getattr(source, "__module__", None)
    if isinstance(module, str):  # a handler file's module as its file is named: `chat`
        module = shown_module_name(module)
    qualname = getattr(source, "__qualname__", None) or name
    named = f"{module}.{qualname}" if module else str(qualname)
    if not isinstance(source, type):
        return f"the alias {named}"
    try:
        file = inspect.getsourcefile(source)
    except TypeError:  # a class of no file (built in, or made by exec)
        return named
    if file is None:
        return named
    line = getattr(source, "__firstlineno__", None)  # Python 3.13
    if line is None:
        try:
            line = inspect.getsourcelines(source)[1]
        except (OSError, TypeError):  # also a functional TypedDict, which no `class` names
            return f"{named} ({shown(file)})"
    return f"{named} ({shown(file)}:{line})"
