"""`wsside init`: scaffold a working wsside setup in a Vite project.

Writes `wsside.toml` and `ws/echo.py` (never overwriting), and adds the plugin to
`vite.config` when the file is simple enough to edit without understanding JavaScript: one
`plugins: [` array (or a `defineConfig({` call without one) and single-line imports. Anything
else gets the exact lines to add, printed. An edited config keeps its original as `.bak`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import typer

from .._runtime.config import find_config, find_vite_config
from .app import app

__all__ = ["add_plugin", "scaffold"]

IMPORT_LINE = "import wsside from 'vite-plugin-wsside'"

WSSIDE_TOML = """\
# wsside: the Python WebSocket handlers of this Vite project.
# Browsers connect to ws://<dev server>/api/<pattern>, e.g. ws://localhost:5173/api/echo.
prefix = "/api"
handlers = "ws"
"""

ECHO_PY = '''\
"""Echo: ws://localhost:5173/api/echo sends every message back to its sender."""

from wsside import Handler

echo = Handler("/echo")


@echo.on_message
async def reply(conn, data):
    await conn.send(data)
'''

NEW_VITE_CONFIG = f"""\
import {{ defineConfig }} from 'vite'
{IMPORT_LINE}

export default defineConfig({{
  plugins: [wsside()],
}})
"""


def add_plugin(text: str) -> str | None:
    """`text` (an ES-module vite.config) with the wsside import and `wsside()` added, or None
    when the file is not simple enough to edit safely."""
    lines = text.splitlines(keepends=True)
    imports = [i for i, ln in enumerate(lines) if ln.startswith("import ")]
    # A multi-line import (`import {` ... `} from`) would be split by an inserted line.
    if not imports or any(
        " from " not in lines[i] and not re.match(r"import\s+['\"]", lines[i]) for i in imports
    ):
        return None
    plugins = re.findall(r"\bplugins\s*:\s*\[", text)
    if len(plugins) == 1:
        body = re.sub(r"(\bplugins\s*:\s*\[)(\s*)(\]?)", _insert_call, text, count=1)
    elif not plugins and len(re.findall(r"defineConfig\(\s*\{", text)) == 1:
        body = re.sub(r"(defineConfig\(\s*\{)", r"\1\n  plugins: [wsside()],", text, count=1)
    else:
        return None
    body_lines = body.splitlines(keepends=True)
    body_lines.insert(imports[-1] + 1, IMPORT_LINE + "\n")
    return "".join(body_lines)


def _insert_call(m: re.Match[str]) -> str:
    opening, space, closing = m.groups()
    if closing:
        return f"{opening}wsside()]"
    # Keep the array's layout: inline stays inline, one-per-line stays one-per-line.
    return f"{opening}{space}wsside(),{space}" if space else f"{opening}wsside(), "


def scaffold(root: Path) -> tuple[list[str], list[str]]:
    """Create what is missing in `root`. Returns (what was done, what the user must do)."""
    done: list[str] = []
    todo: list[str] = []
    if find_config(root) is None:
        (root / "wsside.toml").write_text(WSSIDE_TOML, encoding="utf-8")
        done.append("wrote wsside.toml")
    else:
        done.append("kept the existing wsside config")
    echo = root / "ws" / "echo.py"
    if echo.exists():
        done.append("kept ws/echo.py")
    else:
        echo.parent.mkdir(exist_ok=True)
        echo.write_text(ECHO_PY, encoding="utf-8")
        done.append("wrote ws/echo.py")
    config = find_vite_config(root)
    if config is None:
        (root / "vite.config.js").write_text(NEW_VITE_CONFIG, encoding="utf-8")
        done.append("wrote vite.config.js with the plugin")
        return done, todo
    text = config.read_text(encoding="utf-8")
    if "vite-plugin-wsside" in text:
        done.append(f"{config.name} already uses the plugin")
        return done, todo
    edited = add_plugin(text) if "module.exports" not in text else None
    if edited is None:
        todo.append(
            f"add to {config.name}:\n    {IMPORT_LINE}\n"
            "  and wsside() to the plugins array:\n    plugins: [wsside()],"
        )
        return done, todo
    shutil.copy2(config, config.with_name(config.name + ".bak"))
    config.write_text(edited, encoding="utf-8")
    done.append(f"added wsside() to {config.name} (original kept as {config.name}.bak)")
    return done, todo


@app.command()
def init(
    root: Path | None = typer.Option(
        None, "--root", help="The Vite project (default: the current folder)."
    ),
) -> None:
    """Scaffold wsside in a Vite project: wsside.toml, ws/echo.py and the plugin in vite.config."""
    where = (root or Path.cwd()).resolve()
    done, todo = scaffold(where)
    for line in done:
        typer.echo(f"  ✓ {line}")
    for line in todo:
        typer.echo(f"  → {line}")
    typer.echo(
        "\nNext:\n  npm install -D vite-plugin-wsside\n  npx vite"
        "         # then connect to ws://localhost:5173/api/echo\n  wsside doctor"
    )
