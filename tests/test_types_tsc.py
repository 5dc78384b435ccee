"""The generated `wsside-env.d.ts` under the real TypeScript compiler and the real client's
declarations: `tests/types/app.ts` uses `vite-plugin-wsside/client` against the types of
`tests/types/ws/`, and `tests/types/named.ts` names them by importing their namespaces from
the generated file, right uses and wrong ones (marked `@ts-expect-error`, which tsc itself
reports when the line is not an error); and every golden file compiles as it is. Each check
runs with the newest TypeScript tested (node_shim's) and the oldest the client supports
(tests/client/types'), both dev dependencies installed by `make node-deps`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TYPES = REPO / "tests" / "types"
GOLDEN = REPO / "tests" / "golden"
WSSIDE = Path(sys.executable).with_name("wsside")
COMPILERS = {
    "newest": REPO / "node_shim" / "node_modules" / "typescript" / "bin" / "tsc",
    "oldest": REPO / "tests" / "client" / "types" / "node_modules" / "typescript" / "bin" / "tsc",
}
# The options of Vite's TypeScript templates (tsconfig.app.json), and the two a strict team
# adds: the generated types must hold under them too.
COMPILER_OPTIONS = {
    "target": "ES2022",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "verbatimModuleSyntax": True,
    "moduleDetection": "force",
    "noEmit": True,
    "strict": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "skipLibCheck": False,
    "types": [],
}
# Options the templates add that TypeScript 5.0 does not know yet.
NEWER_OPTIONS = {"erasableSyntaxOnly": True, "noUncheckedSideEffectImports": True}


@pytest.fixture(params=sorted(COMPILERS))
def compiler(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def compile_project(
    folder: Path, files: list[str], compiler: str
) -> subprocess.CompletedProcess[str]:
    """tsc over `files` in `folder`, where the plugin is installed as a project installs it
    (node_modules/vite-plugin-wsside, resolved through the package's `exports`)."""
    tsc = COMPILERS[compiler]
    if not tsc.is_file():
        pytest.fail(f"TypeScript is not installed ({tsc}): run `make node-deps`")
    modules = folder / "node_modules"
    modules.mkdir(exist_ok=True)
    if not (modules / "vite-plugin-wsside").exists():
        os.symlink(REPO / "node_shim", modules / "vite-plugin-wsside")
    options = {**COMPILER_OPTIONS, **(NEWER_OPTIONS if compiler == "newest" else {})}
    (folder / "tsconfig.json").write_text(json.dumps({"compilerOptions": options, "files": files}))
    return subprocess.run(
        ["node", str(tsc), "-p", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_types(folder: Path, handlers: Path) -> None:
    """`wsside types --out wsside-env.d.ts` in `folder` for the handler files in `handlers`."""
    done = subprocess.run(
        [str(WSSIDE), "types", "--handlers", str(handlers), "--out", "wsside-env.d.ts"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A project with app.ts, named.ts and the wsside-env.d.ts that `wsside types` writes for
    them."""
    shutil.copy(TYPES / "app.ts", tmp_path / "app.ts")
    shutil.copy(TYPES / "named.ts", tmp_path / "named.ts")
    write_types(tmp_path, TYPES / "ws")
    return tmp_path


def test_right_uses_compile_and_wrong_ones_do_not(app: Path, compiler: str) -> None:
    done = compile_project(app, ["app.ts", "named.ts", "wsside-env.d.ts"], compiler)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unmarked_wrong_use_fails_the_compile(app: Path, compiler: str) -> None:
    with (app / "app.ts").open("a") as f:
        f.write("chat.send({ type: 'chat', text: 42 })\n")
    lines = (app / "app.ts").read_text().count("\n")
    done = compile_project(app, ["app.ts", "wsside-env.d.ts"], compiler)
    assert done.returncode != 0
    assert f"app.ts({lines}," in done.stdout and "error TS2322" in done.stdout, done.stdout


def test_without_the_generated_file_the_marked_lines_are_not_errors(
    app: Path, compiler: str
) -> None:
    """The other side of the first test: untyped, tsc reports each unused expect-error, so
    the marks above do stand for errors the generated types cause."""
    done = compile_project(app, ["app.ts"], compiler)
    assert done.returncode != 0
    assert "Unused '@ts-expect-error' directive" in done.stdout


@pytest.mark.parametrize("case", sorted(p.stem.removesuffix(".d") for p in GOLDEN.glob("*.d.ts")))
def test_each_golden_file_compiles(tmp_path: Path, case: str, compiler: str) -> None:
    shutil.copy(GOLDEN / f"{case}.d.ts", tmp_path / "wsside-env.d.ts")
    done = compile_project(tmp_path, ["wsside-env.d.ts"], compiler)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_namespace_is_importable_when_the_file_imports_nothing(
    tmp_path: Path, compiler: str
) -> None:
    """With no `import` from the client (no error frame, no binary message), the file is a
    module through `export {}`, which would hide every undeclared export: the namespaces are
    exported by name."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.py").write_text(
        "from typing import TypedDict\nfrom wsside import Handler\n\n"
        "class Note(TypedDict):\n    text: str\n\n"
        "notes = Handler('/ws/notes', receives=Note)\n\n"
        "@notes.on_error\ndef failed(conn, exc):\n    pass\n"
    )
    write_types(tmp_path, ws)
    assert "\nexport {}\n" in (tmp_path / "wsside-env.d.ts").read_text()
    (tmp_path / "page.ts").write_text(
        "import type { WsNotes } from './wsside-env'\n"
        "export const note: WsNotes.Note = { text: 'hi' }\n"
    )
    done = compile_project(tmp_path, ["page.ts", "wsside-env.d.ts"], compiler)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_non_ascii_endpoint_s_namespace_keeps_its_letters(tmp_path: Path, compiler: str) -> None:
    """`/ws/salão/{sala}` is `WsSalão` (before, the `ã` split the word: `WsSalO`), which
    TypeScript takes as a name, and the page connects to the path as written; a character no
    name may hold (`²`) is left out."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "sala.py").write_text(
        "from typing import TypedDict\nfrom wsside import Handler\n\n"
        "class Fala(TypedDict):\n    texto: str\n    nome_usuário: str\n\n"
        "sala = Handler('/ws/salão/{sala}', receives=Fala, sends=Fala)\n"
        "nivel = Handler('/ws/nível²', receives=Fala)\n",  # ² is no letter of a name
        encoding="utf-8",
    )
    write_types(tmp_path, ws)
    (tmp_path / "page.ts").write_text(
        "import { connect } from 'vite-plugin-wsside/client'\n"
        "import type { WsNível, WsSalão } from './wsside-env'\n"
        "const fala: WsSalão.Fala = { texto: 'oi', nome_usuário: 'Zé' }\n"
        "export const outra: WsNível.Fala = fala\n"
        "connect(`/ws/salão/${'sala 1'}`).send(fala)\n",
        encoding="utf-8",
    )
    done = compile_project(tmp_path, ["page.ts", "wsside-env.d.ts"], compiler)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_page_importing_a_name_that_collides_now_fails_to_compile(
    tmp_path: Path, compiler: str
) -> None:
    """A page uses WsTypedChat.ChatMessage of /ws/typed-chat. A file sorted before it then
    declares /ws/typed/chat, with a ChatMessage of its own: neither endpoint is WsTypedChat
    any more, so the page's import is an error, not a silent switch to the other's types."""
    ws = tmp_path / "ws"
    ws.mkdir()
    chat = (
        "from typing import Literal, TypedDict\nfrom wsside import Handler\n\n"
        "class ChatMessage(TypedDict):\n    type: Literal['chat-message']\n    {field}: str\n\n"
        "chat = Handler({pattern!r}, sends=ChatMessage)\n"
    )
    (ws / "typed_chat.py").write_text(chat.format(field="text", pattern="/ws/typed-chat"))
    (tmp_path / "page.ts").write_text(
        "import type { WsTypedChat } from './wsside-env'\n"
        "export const m: WsTypedChat.ChatMessage = { type: 'chat-message', text: 'hi' }\n"
    )

    def types_then_tsc() -> subprocess.CompletedProcess[str]:
        write_types(tmp_path, ws)
        return compile_project(tmp_path, ["page.ts", "wsside-env.d.ts"], compiler)

    alone = types_then_tsc()
    assert alone.returncode == 0, alone.stdout + alone.stderr
    (ws / "a_typed.py").write_text(chat.format(field="text", pattern="/ws/typed/chat"))
    both = types_then_tsc()
    assert both.returncode != 0
    assert "page.ts(1," in both.stdout, both.stdout
    assert "has no exported member named 'WsTypedChat'" in both.stdout, both.stdout
