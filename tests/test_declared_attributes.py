"""Type checkers in strict mode (pyright's `--verifytypes`, `reportUnknownMemberType`) need
each public attribute of a public class to have a declared type: an attribute known only from
what its method assigns (`self.pattern = Pattern(pattern)`) "could be inferred differently by
type checkers". Read from the source, as pyright does: in every public module (no part of its
path starts with `_`; `wsside.doctor` and `wsside.cli` are among them, reached by the console
script and `python -m wsside.doctor.imports`), each `self.name = ...` of a public name is
declared, in the class body or on one of its assignments, unless it copies a parameter that
is itself annotated; and a module's public variable made by a call is declared."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sidecar" / "wsside"


# Calls that make a type (a TypeVar), which type checkers read as such.
_TYPE_MAKERS = {"TypeVar", "ParamSpec", "NewType", "typing.TypeVar"}


def public_modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if not any(p.startswith("_") and p != "__init__" for p in parts):
            yield path


def _self_target(node: ast.expr) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        return node.attr
    return None


def undeclared(cls: ast.ClassDef) -> list[tuple[str, int]]:
    """The public attributes of `cls` assigned in its methods without a declared type."""
    declared = {
        s.target.id
        for s in cls.body
        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
    }
    assigned: list[tuple[str, int, ast.expr | None, set[str]]] = []
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        args = method.args
        annotated = {
            a.arg
            for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
            if a.annotation is not None
        }
        for node in ast.walk(method):
            if isinstance(node, ast.AnnAssign) and (name := _self_target(node.target)):
                declared.add(name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if name := _self_target(target):
                        assigned.append((name, node.lineno, node.value, annotated))
    return [
        (name, line)
        for name, line, value, annotated in assigned
        if not name.startswith("_")
        and name not in declared
        and not (isinstance(value, ast.Name) and value.id in annotated)
    ]


def test_public_attributes_have_declared_types() -> None:
    found = []
    for path in public_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef) and not cls.name.startswith("_"):
                shown = path.relative_to(PACKAGE.parent).as_posix()
                found += [f"{shown}:{line} {cls.name}.{name}" for name, line in undeclared(cls)]
    assert found == []


def test_public_module_variables_made_by_a_call_have_declared_types() -> None:
    # `app = typer.Typer(...)`: what a call returns is inferred, so it is declared instead.
    found = [
        f"{path.relative_to(PACKAGE.parent).as_posix()}:{stmt.lineno} {target.id}"
        for path in public_modules()
        for stmt in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Call)
        and ast.unparse(stmt.value.func) not in _TYPE_MAKERS
        for target in stmt.targets
        if isinstance(target, ast.Name) and not target.id.startswith("_")
    ]
    assert found == []


def test_the_reader_sees_an_undeclared_attribute() -> None:
    # The rule itself: a computed value needs a declaration; a copied parameter does not.
    (cls,) = ast.parse(
        "class A:\n"
        "    def __init__(self, p: str, q) -> None:\n"
        "        self.p = p\n"
        "        self.q = q\n"
        "        self.r = len(p)\n"
        "        self.s: int = 1\n"
        "        self._t = 2\n"
    ).body
    assert isinstance(cls, ast.ClassDef)
    assert undeclared(cls) == [("q", 4), ("r", 5)]
