"""The names `wsside-env.d.ts` writes inside each namespace (TypeScript's `Partial`, `Record`,
`ArrayBuffer`, the client's `Binary` and `ErrorFrame`, the namespace's own `Receives` and
`Sends`) are never given to a user's class: an `interface Partial` would stand for every
`Partial<...>` of its namespace (tsc: `Type 'Partial' is not generic`; under skipLibCheck,
silently `any`). Checked through the real `wsside types` and the real tsc, with skipLibCheck
false; and the real TypeScript lists every name the file takes from outside itself, which
must all be in `TAKEN`, so a newly written global cannot be left out of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from test_types_tsc import COMPILERS, GOLDEN, TYPES, compiler, write_types
from test_types_tsc_shapes import types_then_tsc
from wsside._runtime.namespaces import TAKEN

__all__ = ["compiler"]  # the fixture, taken from test_types_tsc

# A class named after each name the file writes, each used where the file writes that name.
SHADOWS = """
from typing import Literal, TypedDict
from wsside import Handler

class Partial(TypedDict):
    type: Literal["partial"]
    counts: dict[Literal["a", "b"], int]

class Record(TypedDict):
    type: Literal["record"]
    scores: dict[str, int]

class ArrayBuffer(TypedDict):
    type: Literal["array-buffer"]

class Binary(TypedDict):
    type: Literal["binary"]

class ErrorFrame(TypedDict):
    type: Literal["error-frame"]

class Receives(TypedDict):
    type: Literal["receives"]

class Sends(TypedDict):
    type: Literal["sends"]

Every = Partial | Record | ArrayBuffer | Binary | ErrorFrame | Receives | Sends
shadows = Handler("/ws/shadows", receives=Every | bytes, sends=Every | bytes)
partial = Handler("/partial", sends=Partial)
"""

# Each construct whose TypeScript names a type of the file's (no class shadows one here).
EVERY = """
from typing import Literal, TypedDict
from wsside import Handler

class Tally(TypedDict):
    type: Literal["tally"]
    counts: dict[Literal["a", "b"], int]
    scores: dict[str, list[int | str]]

every = Handler("/ws/every", receives=Tally | bytes, sends=Tally | bytes)
"""

# A page using the generated types: each wrong use must be an error (tsc reports an unused
# `@ts-expect-error`, so a type that became `any` fails the compile too).
PAGE = """import { connect } from 'vite-plugin-wsside/client'
import type { Partial2, WsShadows } from './wsside-env'

export const counts: WsShadows.Partial2 = { type: 'partial', counts: { a: 1 } }
// @ts-expect-error: a count is a number
export const wrongCount: WsShadows.Partial2 = { type: 'partial', counts: { a: 'x' } }
// @ts-expect-error: 'c' is not a key
export const wrongKey: WsShadows.Partial2 = { type: 'partial', counts: { c: 1 } }
export const scores: WsShadows.Record2 = { type: 'record', scores: { ann: 3 } }
// @ts-expect-error: a score is a number
export const wrongScore: WsShadows.Record2 = { type: 'record', scores: { ann: '3' } }
export const sent: Partial2.Sends = { type: 'partial', counts: {} }

const ws = connect('/ws/shadows')
ws.send(new Uint8Array([1]))
ws.send({ type: 'binary' })
ws.on('*', (m) => {
  if (m instanceof ArrayBuffer) {
    const size: number = m.byteLength
    return size
  }
  return m.type
})
"""

# Every type reference and import of the file that TypeScript resolves to a declaration in
# another file (its lib, the client): one JSON list of names.
FOREIGN_NAMES = """
const ts = require(process.argv[2])
const file = process.argv[3]
const program = ts.createProgram([file], {
  strict: true, noEmit: true, types: [], module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022,
})
const checker = program.getTypeChecker()
const source = program.getSourceFile(file)
const names = new Set()
function visit(node) {
  if (ts.isImportSpecifier(node)) names.add(node.name.text)
  if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
    const symbol = checker.getSymbolAtLocation(node.typeName)
    const declarations = (symbol && symbol.declarations) || []
    if (!symbol || declarations.some((d) => d.getSourceFile() !== source)) {
      names.add(node.typeName.text)
    }
  }
  ts.forEachChild(node, visit)
}
visit(source)
console.log(JSON.stringify([...names].sort()))
"""


def test_classes_named_after_the_names_the_file_writes_compile(
    tmp_path: Path, compiler: str
) -> None:
    text = types_then_tsc(tmp_path, compiler, {"shadows.py": SHADOWS}, PAGE)
    assert "interface Partial2 {" in text and "counts: Partial<Record<'a' | 'b', number>>" in text


def foreign_names(file: Path) -> set[str]:
    # The oldest TypeScript tested: the newest (7, native) has no stable compiler API.
    typescript = COMPILERS["oldest"].parents[1]
    script = file.with_name("foreign_names.cjs")
    script.write_text(FOREIGN_NAMES)
    done = subprocess.run(
        ["node", str(script), str(typescript), str(file)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=file.parent,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize(
    "handlers",
    [*(f"golden/{p.name}" for p in sorted(GOLDEN.iterdir()) if p.is_dir()), "types", "every"],
)
def test_every_name_the_file_takes_from_outside_is_taken(tmp_path: Path, handlers: str) -> None:
    ws = tmp_path / "handlers" / "ws"
    if handlers == "every":
        ws.mkdir(parents=True)
        (ws / "every.py").write_text(EVERY)
    else:
        shutil.copytree(TYPES.parent / handlers / "ws", ws)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "vite-plugin-wsside").symlink_to(COMPILERS["newest"].parents[3])
    write_types(tmp_path, ws)
    names = foreign_names(tmp_path / "wsside-env.d.ts")
    assert names <= TAKEN, f"the file names {sorted(names - TAKEN)}, which TAKEN lacks"
    typed = "declare namespace" in (tmp_path / "wsside-env.d.ts").read_text()
    assert names or not typed, "no name read from a file with types: the script finds none"
