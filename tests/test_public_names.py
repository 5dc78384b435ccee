"""What editors and type checkers read of the public names: `dir(wsside)` lists every name of
`__all__` (the lazy `ASGIApp` too) and a star import loads the ASGI app while `import wsside`
loads no server; `Connection`'s public attributes are annotated beside its `__slots__` (still
slots at run time) with hover docstrings that say what `help()` says; every field of
`Request` has a hover docstring.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from wsside import Connection, Request

PACKAGE = Path(__file__).resolve().parents[1] / "sidecar" / "wsside"


def attribute_docs(module: str, cls: str) -> dict[str, str]:
    """The string literal right after each annotation in the class body, by attribute name."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    docs = {}
    for stmt, after in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[stmt.target.id] = after.value.value
    return docs


def test_dir_lists_all_and_a_star_import_loads_the_asgi_app_only() -> None:
    code = (
        "import sys, wsside\n"
        "missing = set(wsside.__all__) - set(dir(wsside))\n"
        "assert not missing, f'not in dir(wsside): {missing}'\n"
        "listed = {n for n in dir(wsside) if not n.startswith('__')}\n"
        "assert listed == set(wsside.__all__) - {'__version__'}, listed\n"
        "assert not [m for m in sys.modules if m.startswith(('aiohttp', 'wsside._edge'))]\n"
        "ns = {}\n"
        "exec('from wsside import *', ns)\n"
        "assert set(wsside.__all__) <= set(ns), set(wsside.__all__) - set(ns)\n"
        "assert 'wsside._edge.asgi' in sys.modules, 'the star import left ASGIApp out'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_connection_attributes_are_annotated_slots_with_the_help_texts_as_hover_docs() -> None:
    slots: dict[str, str | None] = vars(Connection)["__slots__"]  # a dict: name -> help text
    public = {k: v for k, v in slots.items() if not k.startswith("_")}
    assert attribute_docs("connection.py", "Connection") == public
    hints = typing.get_type_hints(Connection)
    assert hints == {
        "path": str,
        "params": dict[str, str],
        "query": hints["query"],
        "subprotocol": str | None,
    }
    assert hints["query"].__origin__.__name__ == "MultiDictProxy"
    for name in public:  # still slots: no class attribute hides the descriptor
        assert type(Connection.__dict__[name]).__name__ == "member_descriptor", name
    assert "__dict__" not in Connection.__dict__


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Request)])
def test_every_request_field_has_a_hover_doc(field: str) -> None:
    assert attribute_docs("request.py", "Request").get(field), field
