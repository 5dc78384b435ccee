"""`wsside doctor`, `init` and `types` load no server code (`tests/test_layers.py` checks it
at run time for what `--help` loads): here, statically, through every import they can reach,
the lazy ones inside functions included, followed from module to module."""

from __future__ import annotations

import ast
from collections import deque

from test_layers import ALL_IMPORTS, MODULES, Import, _at, imports_of, module_name

# What `doctor`, `init` and `types` run: any function of these may be called.
NEVER_SERVE = (
    "wsside.cli.doctor",
    "wsside.cli.init",
    "wsside.cli.types",
    *(m for m in MODULES if m.split(".")[:2] == ["wsside", "doctor"]),
)
# What serves: the server, and every module that imports aiohttp (its web stack) at module
# level. `_io/__init__.py` is not one: it holds only the aiohttp range the command line checks.
SERVER = {"wsside._edge.server"} | {
    module_name(i.file)
    for i in ALL_IMPORTS
    if i.where == "module" and i.target.split(".")[0] == "aiohttp"
}
# Functions of modules they load that they never call: `serve` itself (cli/doctor.py imports
# `given_settings` from beside it), and the package's `__getattr__` (wsside.ASGIApp and
# wsside.Publisher, on first use: LAZY_PUBLIC).
NOT_CALLED = {("wsside.cli.serve", "serve"), ("wsside", "__getattr__")}


def _lines_of(module: str, function: str) -> range:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return range(node.lineno, (node.end_lineno or node.lineno) + 1)
    raise AssertionError(f"NOT_CALLED names {module}.{function}, which is no longer there")


def _reached(starts: tuple[str, ...]) -> dict[str, list[Import]]:
    """Each module (aiohttp's as one: `aiohttp`) that loading `starts` and calling their
    functions can load, with the shortest chain of imports from one of them. The walk stops at
    a server module: what it loads in turn is no news."""
    skipped = {module: _lines_of(module, function) for module, function in NOT_CALLED}
    reached: dict[str, list[Import]] = {m: [] for m in starts}
    queue = deque(starts)
    while queue:
        module = queue.popleft()
        if module in SERVER or module == "aiohttp":
            continue
        for i in imports_of(module):
            if i.where == "type_checking" or (
                i.where == "function" and i.line in skipped.get(module, ())
            ):
                continue
            parts = i.target.split(".")
            # Importing `wsside.x.y` runs `wsside/__init__.py` and `wsside/x/__init__.py` too.
            loads = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
            for target in ["aiohttp"] if parts[0] == "aiohttp" else loads:
                if (target in MODULES or target == "aiohttp") and target not in reached:
                    reached[target] = [*reached[module], i]
                    queue.append(target)
    return reached


def test_the_commands_that_never_serve_import_no_server_even_lazily() -> None:
    """What the test above cannot see: the imports of the checks doctor loads only when it
    runs them, and of every function these commands may call, followed from module to module."""
    reached = _reached(NEVER_SERVE)
    # The walk means nothing unless it follows lazy imports and finds the server modules.
    assert any(hops and hops[-1].where == "function" for hops in reached.values())
    assert {"wsside._edge.server", "wsside._edge.intake", "wsside._io.engine"} <= SERVER
    assert "wsside._io" in reached and "wsside._io" not in SERVER
    found = [
        f"{m}: " + " -> ".join(_at(i) for i in hops)
        for m, hops in sorted(reached.items())
        if m in SERVER or m == "aiohttp"
    ]
    assert not found, "wsside doctor, init or types can load the server:\n" + "\n".join(found)
