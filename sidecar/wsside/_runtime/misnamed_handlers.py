"""Handler files named so that wsside does not load them, for the note said when no endpoint
is served: a `_chat.py` (a helper by its name) or a `speed_test.py` (a test by its name) whose
text declares a Handler, each with the name to give it. Their text is read, not run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .events import listed, shown
from .module_names import is_handler_file, is_test_file

__all__ = ["underscored_handlers_note"]


# Bytes of a `_name.py` (or a test-named file) read to see whether it declares a Handler.
_PEEK = 64 * 1024


def underscored_handlers_note(root: Path) -> str:
    """Where wsside says that no file declares an endpoint: the `_name.py` files of the folder
    `root` whose text has `Handler(` (helpers by their name, never loaded as handler files),
    each with the name to give it, `(ws/_chat.py is not loaded: a name starting with _ is a
    helper module; rename it chat.py)`, and the files named as pytest names test files that
    declare one and are no test (`_test_named_note`); "" when there are none. Their text is
    read, not run."""
    notes = [note for note in (_underscored_note(root), _test_named_note(root)) if note]
    return " ".join(f"({note})" for note in notes)


def _underscored_note(root: Path) -> str:
    try:
        candidates = sorted(p for p in root.glob("_*.py") if not p.name.startswith("__"))
    except OSError:
        return ""
    found = [path for path in candidates if "Handler(" in _peek(path)]
    if not found:
        return ""
    files = ", ".join(shown(path) for path in found)
    is_, it, names = (
        ("is", "it", found[0].name.lstrip("_"))
        if len(found) == 1
        else ("are", "them", ", ".join(path.name.lstrip("_") for path in found))
    )
    return (
        f"{files} {is_} not loaded: a name starting with _ is a helper module; rename {it} {names}"
    )


# A Handler declared at the top level of a file's text (`chat = Handler("/ws/chat")`), and
# what makes a file a test: it imports pytest, or defines a test function.
_DECLARES = re.compile(r"^[^\s#].*\bHandler\(", re.MULTILINE)
_A_TEST = re.compile(r"^\s*(?:(?:import|from)\s+pytest|(?:async\s+)?def\s+test_)", re.MULTILINE)


def _test_named_note(root: Path) -> str:
    """The files of the folder `root` named as pytest names test files (`speed_test.py`;
    not conftest.py, pytest's by its name alone), which wsside does not load, whose text
    declares a Handler at its top level and that are no test (they neither import pytest nor
    define a `test_` function): each with a name to give it, `ws/speed_test.py is named as
    pytest names test files, which wsside does not load: rename it (e.g. speed.py) to serve
    its Handler`; "" when there are none."""
    candidates: list[Path] = []
    for folder, folders, in_it in os.walk(root):  # helper folders (`_lib/`) are no handlers'
        folders[:] = sorted(name for name in folders if not name.startswith(("_", ".")))
        candidates += sorted(
            Path(folder, name)
            for name in in_it
            # conftest.py is pytest's by its name alone, whatever it declares.
            if is_test_file(Path(name)) and name[0] != "_" and name != "conftest.py"
        )
    found = []
    for path in candidates:
        text = _peek(path)
        if _DECLARES.search(text) and not _A_TEST.search(text):
            found.append(path)
    if not found:
        return ""
    files = listed([shown(path) for path in found])
    given = [_untested_name(path) for path in found]
    names = listed(given) if all(given) else ""  # one for each, or none
    is_, it, its = (
        ("is", "it", "its Handler") if len(found) == 1 else ("are", "them", "their Handlers")
    )
    return (
        f"{files} {is_} named as pytest names test files, which wsside does not load: rename "
        f"{it}{f' (e.g. {names})' if names else ''} to serve {its}"
    )


def _untested_name(path: Path) -> str:
    """A name for the test-named file `path` that is a handler file's: `speed_test.py` and
    `test_speed.py` are `speed.py`; "" when there is none to take (`test_.py`)."""
    stem = path.stem
    plain = stem.removeprefix("test_") if stem.startswith("test_") else stem.removesuffix("_test")
    name = f"{plain}.py"
    return name if plain and is_handler_file(Path(name)) else ""


def _peek(path: Path) -> str:
    """The start of the text of `path`, "" when it cannot be read (or is no file's: a pipe
    would wait for a writer)."""
    try:
        if not path.is_file():
            return ""
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(_PEEK)
    except OSError:
        return ""
