"""The package's layers, read from its source, so the architecture stays as drawn
(docs/architecture.md, "The layers", states these rules).

The layers, in order: declarations (the top-level modules: `handler`, `pattern`, `request`,
`connection`, `closecodes`, and the package itself) → `_protocol` → `_io` → `_runtime` →
`_project` → `_edge` → `testing` (the test server users run their handlers in) → `doctor` →
`cli`. A module may import from its own layer and the earlier ones (the declarations import
no other layer), never from a later one. That holds for every import, at module level, under
`if TYPE_CHECKING:` and inside functions alike (a lazy import only defers a dependency on a
later layer, it does not remove it).

Each failure names the file, the line and the offending import or attribute.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sidecar" / "wsside"
LAYERS = (
    "declarations",
    "_protocol",
    "_io",
    "_runtime",
    "_project",
    "_edge",
    "testing",
    "doctor",
    "cli",
)
ENGINE = "wsside._io.engine"
# aiohttp's public modules; every other one (`aiohttp._websocket`, `aiohttp.helpers`,
# `aiohttp.base_protocol`, ...) is reached through `_io/engine.py` only.
AIOHTTP_PUBLIC = {"aiohttp", "aiohttp.web", "aiohttp.hdrs"}
AIOHTTP_MODULES = {f"aiohttp.{m.name}" for m in pkgutil.iter_modules(aiohttp.__path__)}
# Private names of the standard library that are its documented API (`os._exit`: a wsside
# command's exit without waiting for threads that handler code left, `_edge/ending.py`).
ALLOWED_PRIVATE = {("sys", "_getframe"), ("sys", "_current_frames"), ("os", "_exit")}
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make"}
# The loader's hooks on a user's declaration: private, so `help(Handler)` shows users only
# their API, and called from the layers above the declarations (the registry, callbacks, hub,
# background tasks and limit closes of `_runtime/`, `_edge/asgi_setup.py`, `testing/server.py`,
# `doctor/checks_serve.py`).
# Each is defined once, in the declarations layer (checked below).
LOADER_HOOKS = {
    "_apply_defaults": "handler.py",
    "_load_notes": "handler.py",
    "_given_options": "handler.py",
    "_serve_with": "handler.py",
    "_background_started": "handler.py",
    "_matches": "responses.py",
    # a connection's client, for its callbacks' error reports (and `wsside.testing`'s client
    # finding its server-side connection)
    "_client": "connection.py",
    # closing a connection whose handler file changed (1012), its queued messages handled
    "_restart": "connection.py",
}
# Public names of the package that live in a later layer: `wsside/__init__.py` loads them on
# first use (its module `__getattr__`) and names them for the type checker, never at import
# (`wsside.ASGIApp`, docs/asgi.md; test_asgi.py checks that `import wsside` loads no `_edge`), and
# `wsside.Publisher`, which publishes the backplane's wire format.
LAZY_PUBLIC = {"wsside._edge.asgi", "wsside._runtime.publisher", "wsside._runtime.backplane_url"}


def module_name(path: Path) -> str:
    parts = ["wsside", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """The rank of `module`'s layer in `LAYERS` (`wsside.__main__` runs the command line)."""
    if module == "wsside.__main__":
        return LAYERS.index("cli")
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else 0


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    source: str  # the import as written
    target: str  # the absolute module it loads
    where: str  # "module", "type_checking" or "function"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt], where: str) -> Iterator[tuple[ast.stmt, str]]:
    """Each statement with where it runs: at import ("module"), only for the type checker
    ("type_checking"), or when a function is called ("function")."""
    for node in body:
        yield node, where
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _statements(node.body, "function")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, "type_checking" if where == "module" else where)
            yield from _statements(node.orelse, where)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stmts = [c for c in children if isinstance(c, ast.stmt)]
                    handlers = [c for c in children if isinstance(c, ast.ExceptHandler)]
                    yield from _statements(stmts, where)
                    for handler in handlers:
                        yield from _statements(handler.body, where)


def imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, where in _statements(tree.body, "module"):
        source = ast.unparse(node) if isinstance(node, (ast.Import, ast.ImportFrom)) else ""
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, source, a.name, where) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                # `from . import malloc` loads a module; `from .x import name` loads `x`.
                is_module = sub in MODULES or sub in AIOHTTP_MODULES
                target = sub if is_module else base
                found.append(Import(path, node.lineno, source, target, where))
    return found


ALL_IMPORTS = [i for m in MODULES for i in imports_of(m)]


def _at(i: Import) -> str:
    return f"{i.file.relative_to(PACKAGE)}:{i.line}: `{i.source}`"


def test_the_layers_are_found() -> None:
    # The checks below mean nothing if the walk finds no modules or no imports.
    assert {"wsside.handler", "wsside._io.engine", "wsside._runtime.session"} <= MODULES.keys()
    assert layer("wsside.handler") == 0 and layer("wsside._edge.intake") == 5
    assert layer("wsside.testing") == 6 and layer("wsside.cli") == layer("wsside.cli.serve") == 8
    wheres = {i.where for i in ALL_IMPORTS if i.target.startswith("wsside")}
    assert wheres == {"module", "type_checking", "function"}


def test_imports_point_down() -> None:
    upward = [
        f"{_at(i)}: {LAYERS[layer(module_name(i.file))]} imports {LAYERS[layer(i.target)]}"
        for i in ALL_IMPORTS
        if i.target.split(".")[0] == "wsside"
        and layer(i.target) > layer(module_name(i.file))
        and not (
            module_name(i.file) == "wsside" and i.target in LAZY_PUBLIC and i.where != "module"
        )
    ]
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_the_package_itself_imports_only_declarations() -> None:
    found = [i for i in imports_of("wsside") if i.where == "module" and i.target != "__future__"]
    assert found, "__init__.py imports nothing: has the walk broken?"
    wrong = [_at(i) for i in found if i.target == "wsside" or layer(i.target) != 0]
    assert not wrong, "__init__.py may import only declarations:\n" + "\n".join(wrong)


def test_no_import_cycles_at_module_level() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in ALL_IMPORTS:
        if i.where == "module" and i.target in MODULES:
            graph[module_name(i.file)].add(i.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*path[path.index(n) :], n]
            if n not in state and (cycle := visit(n)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            pytest.fail("import cycle at module level: " + " -> ".join(cycle))


def _private_reads(text: str, where: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(text, where)):
        if isinstance(node, ast.Attribute):
            name, base = node.attr, node.value
            if not name.startswith("_") or name.startswith("__") or name in NAMEDTUPLE_API:
                continue
            if name in LOADER_HOOKS:
                continue
            if isinstance(base, ast.Name) and (
                base.id in ("self", "cls") or (base.id, name) in ALLOWED_PRIVATE
            ):
                continue
            if isinstance(base, ast.Call) and ast.unparse(base.func) == "super":
                continue
            yield f"{where}:{node.lineno}: `{ast.unparse(node)}`"
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and f"{node.module}.{alias.name}" not in MODULES:
                    yield f"{where}:{node.lineno}: `{ast.unparse(node)}`"


def test_no_object_reads_another_objects_private_fields() -> None:
    found = [
        read
        for m, p in MODULES.items()
        if m != ENGINE
        for read in _private_reads(p.read_text(encoding="utf-8"), str(p.relative_to(PACKAGE)))
    ]
    assert not found, (
        "private names read from outside their object (only _io/engine.py may, for aiohttp):\n"
        + "\n".join(found)
    )


def test_each_loader_hook_is_defined_once_in_the_declarations_layer() -> None:
    """The hooks the private check lets the runtime call are these, and no other object's
    method of the same name (which the check would then let anyone call)."""
    defined: dict[str, list[str]] = {}
    for p in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.name in LOADER_HOOKS
            ):
                defined.setdefault(node.name, []).append(str(p.relative_to(PACKAGE)))
    assert defined == {name: [file] for name, file in LOADER_HOOKS.items()}


def test_the_private_check_sees_a_private_read() -> None:
    # The check itself must report what it is meant to report, and only that.
    text = (
        "import sys\nfrom .x import _y\n"
        "a = other._hidden\nb = self._mine\nc = sys._getframe\nd = t._replace\n"
    )
    assert list(_private_reads(text, "sample.py")) == [
        "sample.py:2: `from .x import _y`",
        "sample.py:3: `other._hidden`",
    ]


def test_only_the_engine_imports_aiohttp_internals() -> None:
    found = [
        _at(i)
        for i in ALL_IMPORTS
        if i.target.split(".")[0] == "aiohttp"
        and i.target not in AIOHTTP_PUBLIC
        and module_name(i.file) != ENGINE
    ]
    listed = "\n".join(found)
    assert not found, f"aiohttp's non-public modules are named only in _io/engine.py:\n{listed}"
    engine = [i.target for i in imports_of(ENGINE)]
    assert "aiohttp._websocket.reader" in engine  # the check sees the engine's own imports


def _loaded(code: str) -> dict[str, list[str]]:
    """The modules a fresh interpreter has loaded after running `code`."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps({'top': sorted({m.split('.')[0] for m in sys.modules}),"
        " 'wsside': sorted(m for m in sys.modules if m.startswith('wsside'))}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    loaded: dict[str, list[str]] = json.loads(out.splitlines()[-1])
    return loaded


HEAVY = ("typer", "click", "rich", "psutil", "watchdog")


def test_import_wsside_loads_only_declarations() -> None:
    loaded = _loaded("import wsside")
    assert not set(HEAVY) & set(loaded["top"]), "`import wsside` loads " + ", ".join(
        sorted(set(HEAVY) & set(loaded["top"]))
    )
    beyond = [m for m in loaded["wsside"] if m != "wsside" and layer(m) != 0]
    assert not beyond, "`import wsside` loads " + ", ".join(beyond)
    assert "wsside.handler" in loaded["wsside"]


def test_the_sidecar_entry_leaves_the_doctor_out() -> None:
    # What `wsside serve --ipc` loads: `main()` imports every command module, then `serve`
    # imports shim mode. `version` runs through the same `main()` and exits at once.
    loaded = _loaded(
        "import sys\n"
        "import wsside._edge.shim_mode\n"
        "from wsside.cli import main\n"
        "sys.argv = ['wsside', 'version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    assert "wsside.cli.serve" in loaded["wsside"] and "wsside.cli.doctor" in loaded["wsside"]
    doctor = [m for m in loaded["wsside"] if m.startswith("wsside.doctor")]
    assert not doctor, "the sidecar entry loads " + ", ".join(doctor)
    # Older typer releases import rich themselves; what typer loads is not wsside's doing.
    heavy = {"rich", "psutil"} & set(loaded["top"]) - set(_loaded("import typer")["top"])
    assert not heavy, "the sidecar entry loads " + ", ".join(sorted(heavy))


@pytest.mark.parametrize("command", ["doctor", "init", "types"])
def test_the_commands_that_never_serve_load_no_server(command: str) -> None:
    # Their modules are loaded with every command's; what serves (aiohttp's web stack, the
    # edge) loads when `serve` runs, 0.4 s each `wsside doctor` would spend otherwise.
    loaded = _loaded(
        "import sys\n"
        "from wsside.cli import main\n"
        f"sys.argv = ['wsside', {command!r}, '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    assert "wsside.cli.serve" in loaded["wsside"]
    assert "aiohttp" not in loaded["top"], f"wsside {command} loads aiohttp"
    assert "wsside._edge.server" not in loaded["wsside"], f"wsside {command} loads the server"


def test_type_ignores_only_at_the_aiohttp_seam_with_a_reason() -> None:
    found = []
    for module, path in MODULES.items():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "type: ignore" not in line:
                continue
            where = f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
            if not module.startswith("wsside._io."):
                found.append(f"{where}  (outside _io/)")
            elif not re.search(r"# type: ignore\[[a-z-, ]+\]  # \S", line):
                found.append(f"{where}  (needs [code] and `# why` beside it)")
    assert not found, "type: ignore only in _io/, each with its reason:\n" + "\n".join(found)
