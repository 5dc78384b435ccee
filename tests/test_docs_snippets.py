"""The JavaScript and TypeScript a user copies from README.md, docs/client.md and docs/types.md
type-check as written: each ```js and ```ts block, and the `<script>` of each ```svelte and
```vue one (their frameworks' few functions declared), is compiled by node_shim's TypeScript
(strict, `noUncheckedIndexedAccess`, `exactOptionalPropertyTypes`; `checkJs` for JavaScript)
against the plugin's and the client's own declarations and Vite's, in a project of its own.

The project holds what the text leaves to the reader: the names a snippet uses without
defining (`socket`, `banner`, `id`, `anything`, `show`), the `./lobby.js` and `./chat`
modules it imports, and, for the blocks that come after a page's `wsside-env.d.ts`, that
file: docs/client.md's hand-written one, or for docs/types.md the one `wsside types` writes
from the page's own handler beside a board handler with a nested `Task` (which its naming
examples use) and the untyped lobby.

A line marked `// error` must be a type error, and every other line must compile.
(tests/test_readme.py runs the README's Python blocks; tests/test_typescript.py checks that
docs/types.md's generated file is what the generator writes.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from test_types_tsc import write_types

REPO = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/client.md", "docs/types.md", "docs/patterns.md"]
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.M | re.S)
DECLARATION = "declare module 'vite-plugin-wsside/client'"
TSC = REPO / "node_shim" / "node_modules" / "typescript" / "bin" / "tsc"
# Installed as a project installs them: the package, and the Vite and @types/node it needs;
# and what docs/patterns.md's Yjs page and docs/client.md's component tests import
# (node_shim's devDependencies, for this check).
MODULES = {
    "vite-plugin-wsside": REPO / "node_shim",
    "vite": REPO / "node_shim" / "node_modules" / "vite",
    "@types/node": REPO / "node_shim" / "node_modules" / "@types" / "node",
    "yjs": REPO / "node_shim" / "node_modules" / "yjs",
    "y-websocket": REPO / "node_shim" / "node_modules" / "y-websocket",
    "vitest": REPO / "node_shim" / "node_modules" / "vitest",
    "ws": REPO / "node_shim" / "node_modules" / "ws",
    "@types/ws": REPO / "node_shim" / "node_modules" / "@types" / "ws",
}
COMPILER_OPTIONS = {
    "target": "ES2022",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "moduleDetection": "force",
    "allowJs": True,
    "checkJs": True,
    "noEmit": True,
    "strict": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "skipLibCheck": False,
    "types": ["node", "vite/client"],
}
# What the snippets leave to the reader.
CONTEXT = """\
import type { Socket } from 'vite-plugin-wsside/client'

declare global {
  const socket: Socket  // docs/client.md's countdown: what connect() returned
  const banner: HTMLElement
  const id: string
  const anything: unknown
  function show(value: unknown): void
}
"""
# What a component block's script takes from its framework, with no framework installed.
FRAMEWORKS = """\
declare module 'svelte' {
  export function onMount(fn: () => void | (() => void)): void
}
declare module 'vue' {
  export interface Ref<T> { value: T }
  export function ref<T>(value: T): Ref<T>
  export function onMounted(fn: () => void): void
  export function onUnmounted(fn: () => void): void
}
declare function $props(): any
declare function $state<T>(value: T): T
declare function $effect(fn: () => void | (() => void)): void
"""
SCRIPT = re.compile(r"<script\b([^>]*)>\n(.*?)</script>", re.S)
LOBBY = """\
import { connect } from 'vite-plugin-wsside/client'

export const lobby = connect('/ws/lobby')
"""
# The component code docs/client.md's test with a fake client imports.
CHAT = """\
import { connect } from 'vite-plugin-wsside/client'

export function startChat(shown: string[]) {
  const chat = connect('/ws/chat')
  chat.on('chat-message', (m) => shown.push((m as { text: string }).text))
  return chat
}
"""
# A handler with a class used only inside a message, for docs/types.md's `WsBoard.Task` and
# `Sends<`/ws/board/${string}`>`.
BOARD = """\
from typing import Literal, TypedDict

from wsside import Handler


class Task(TypedDict):
    title: str


class Snapshot(TypedDict):
    type: Literal["snapshot"]
    tasks: list[Task]


board = Handler("/ws/board/{id}", sends=Snapshot)
"""


class Block:
    def __init__(self, page: str, line: int, lang: str, code: str, env: str | None) -> None:
        self.page, self.line, self.lang, self.code, self.env = page, line, lang, code, env

    def __repr__(self) -> str:
        return f"{self.page}:{self.line}"


def page_blocks(page: str) -> list[tuple[int, str, str]]:
    text = (REPO / page).read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        indent = len(m.group(1))
        code = "".join(line[indent:] for line in m.group(3).splitlines(keepends=True))
        found.append((text.count("\n", 0, m.start()) + 2, m.group(2), code))
    return found


def component_script(line: int, code: str) -> tuple[int, str, str] | None:
    """The `<script>` of a ```svelte or ```vue block, as a js or ts block of its own."""
    m = SCRIPT.search(code)
    if m is None:
        return None
    lang = "ts" if 'lang="ts"' in m.group(1) else "js"
    return line + code.count("\n", 0, m.start(2)), lang, m.group(2)


def blocks() -> list[Block]:
    """Every js/ts block, and the script of every svelte/vue one, with the page's
    `wsside-env.d.ts` for those after it ("generated": `wsside types` writes it from the
    page's handler)."""
    out = []
    for page in PAGES:
        found = page_blocks(page)
        env: str | None = None
        for line, lang, code in found:
            if lang in ("svelte", "vue"):
                script = component_script(line, code)
                if script is None:
                    continue
                line, lang, code = script
            if lang not in ("js", "ts"):
                continue
            if DECLARATION in code:
                generated = code.lstrip().startswith("// wsside-env.d.ts: the message types")
                env = "generated" if generated else code
                continue
            out.append(Block(page, line, lang, code, env))
    return out


BLOCKS = blocks()


def page_handler(page: str) -> str:
    python = [code for _, lang, code in page_blocks(page) if lang == "python"]
    assert python, f"{page} declares its types in a ```python block"
    return python[0]


def install(folder: Path) -> None:
    for name, target in MODULES.items():
        assert target.exists(), f"{target} is missing: run `make node-deps`"
        link = folder / "node_modules" / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)


def write_env(folder: Path, block: Block) -> None:
    if block.env is None:
        return
    if block.env != "generated":
        (folder / "wsside-env.d.ts").write_text(block.env, encoding="utf-8")
        return
    handlers = folder / "ws"
    handlers.mkdir()
    (handlers / "chat.py").write_text(page_handler(block.page), encoding="utf-8")
    (handlers / "board.py").write_text(BOARD, encoding="utf-8")
    # The endpoint `./lobby.js` connects to: the generated file lists every path served.
    (handlers / "lobby.py").write_text(
        "from wsside import Handler\n\nlobby = Handler('/ws/lobby')\n", encoding="utf-8"
    )
    write_types(folder, handlers)


def compile_block(folder: Path, block: Block) -> tuple[str, set[int], str]:
    """tsc over the block as src/snippet.{js,ts}: (its file, the lines with errors, tsc's
    output)."""
    if not TSC.is_file():
        pytest.fail(f"TypeScript is not installed ({TSC}): run `make node-deps`")
    install(folder)
    write_env(folder, block)
    src = folder / "src"
    src.mkdir()
    snippet = f"src/snippet.{block.lang}"
    (folder / snippet).write_text(block.code, encoding="utf-8")
    (src / "context.d.ts").write_text(CONTEXT, encoding="utf-8")
    (src / "frameworks.d.ts").write_text(FRAMEWORKS, encoding="utf-8")
    (src / "lobby.ts").write_text(LOBBY, encoding="utf-8")
    (src / "chat.ts").write_text(CHAT, encoding="utf-8")
    include = [snippet, "src/context.d.ts", "src/frameworks.d.ts", "src/lobby.ts", "src/chat.ts"]
    if (folder / "wsside-env.d.ts").exists():
        include.append("wsside-env.d.ts")
    config = {"compilerOptions": COMPILER_OPTIONS, "include": include}
    (folder / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run(
        ["node", str(TSC), "-p", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = re.findall(r"^(\S+)\((\d+),\d+\): error", done.stdout, re.M)
    others = sorted({name for name, _ in errors if name != snippet})
    assert not others, f"errors outside the snippet, in {others}:\n{done.stdout}"
    return snippet, {int(n) for _, n in errors}, done.stdout + done.stderr


def marked(code: str) -> set[int]:
    return {i for i, line in enumerate(code.splitlines(), 1) if "// error" in line}


def test_each_page_has_snippets_and_the_typed_ones_have_their_env() -> None:
    for page in PAGES:
        assert any(b.page == page for b in BLOCKS), f"no js/ts block found in {page}"
    assert any(marked(b.code) for b in BLOCKS), "no `// error` line: the marks are gone?"
    assert all(b.env is not None for b in BLOCKS if marked(b.code))


@pytest.mark.parametrize("block", BLOCKS, ids=repr)
def test_snippet_type_checks_as_written(block: Block, tmp_path: Path) -> None:
    snippet, errors, output = compile_block(tmp_path, block)
    expected = marked(block.code)
    where = f"{block.page}, block at line {block.line} ({snippet} in tsc's words)"
    assert errors >= expected, (
        f"{where}: lines {sorted(expected - errors)} are marked `// error` but compile\n{output}"
    )
    assert errors <= expected, (
        f"{where}: type errors at lines {sorted(errors - expected)}\n{output}"
    )


def test_a_snippet_made_wrong_fails(tmp_path: Path) -> None:
    """The check catches a broken snippet: the README's client block with a misspelt method."""
    readme = next(b for b in BLOCKS if b.page == "README.md" and "chat.onStatus(" in b.code)
    code = readme.code.replace("chat.onStatus(", "chat.onstatus(")
    _, errors, output = compile_block(tmp_path, Block("README.md", readme.line, "js", code, None))
    wrong = {i for i, line in enumerate(code.splitlines(), 1) if "onstatus" in line}
    assert wrong and errors == wrong, output
