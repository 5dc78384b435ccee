"""docs/client.md's "Component tests (Vitest)" as a team copies it: its config, global setup,
setup file and two test files, in a project of their own with a handler, run by a real Vitest
(node_shim's devDependency, with jsdom): the test with a fake client and the one against a
real `wsside serve`, which the global setup starts on a free port and stops."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "node_shim"
PAGE = REPO / "docs" / "client.md"

CHAT_PY = """\
from wsside import Handler

chat = Handler("/ws/chat")


@chat.on_message
async def echo(conn, data):
    await conn.send({"type": "chat-message", "text": data["text"]})
"""

FILES = [
    "src/chat.ts",
    "vitest.config.ts",
    "tests/wsside-server.ts",
    "tests/websocket.ts",
    "src/chat.mock.test.ts",
    "src/chat.real.test.ts",
]


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("## Component tests (Vitest)")
    return text[start : text.index("\n## ", start + 1)]


def test_the_page_s_component_tests_pass_as_written(tmp_path: Path) -> None:
    blocks = dict(
        (match[1], match[2]) for match in re.finditer(r"```ts\n// (\S+)\n(.*?)```", section(), re.S)
    )
    assert sorted(blocks) == sorted(FILES), blocks.keys()
    for name, code in blocks.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code, encoding="utf-8")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text(CHAT_PY, encoding="utf-8")
    # The project's .venv: this interpreter's, with wsside.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "wsside").symlink_to(Path(sys.executable).parent / "wsside")
    # Installed as npm would: the plugin, and node_shim's Vitest, jsdom and ws.
    modules = tmp_path / "node_modules"
    modules.mkdir()
    for entry in (SHIM / "node_modules").iterdir():
        if not entry.name.startswith("."):
            (modules / entry.name).symlink_to(entry)
    (modules / "vite-plugin-wsside").symlink_to(SHIM)
    (tmp_path / "package.json").write_text('{"type": "module"}\n')

    done = subprocess.run(
        ["node", str(SHIM / "node_modules" / "vitest" / "vitest.mjs"), "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1", "CI": "1"},
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert re.search(r"Tests\s+2 passed \(2\)", said), said
    assert "src/chat.real.test.ts" in said and "src/chat.mock.test.ts" in said, said
    # The global setup's `wsside serve` stops with the run (its SIGTERM may land just after).
    left = [p for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == str(tmp_path)]
    _, alive = psutil.wait_procs(left, timeout=15)
    assert not alive, [p.cmdline() for p in alive]
