"""vite-plugin-wsside/client installed as npm installs it (a copy in node_modules, not a link),
in Chromium through a real Vite: in dev Vite serves it as it is, never pre-bundling it (the
plugin adds it to optimizeDeps.exclude, merged with the user's), so a page whose imports
Vite's scan does not see (a framework's: SvelteKit, Nuxt, React Router) is not reloaded for
it on its first load; `vite build` bundles it as any module."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from examples.conftest import ROOT

from .conftest import (
    HELLO,
    VITE_PACKAGES,
    Vite,
    VitePreview,
    build,
    serving,
    vite_env,
    write_project,
)

pytestmark = pytest.mark.browser

CLIENT = "vite-plugin-wsside/client"

# `entries: []`: no scan at start, as for a framework's pages, whose imports Vite meets only
# as the browser asks for them; a user's own exclude, to be kept beside the plugin's.
CONFIG = "optimizeDeps: { entries: [], exclude: ['left-alone'] }"

RESOLVED_EXCLUDES = """\
import { resolveConfig } from 'vite'
const config = await resolveConfig({}, 'serve')
const client = config.environments?.client.optimizeDeps.exclude
console.log(JSON.stringify([config.optimizeDeps.exclude, client]))
"""


def install_copy(folder: Path) -> None:
    """node_shim as `npm install` puts it: the files package.json publishes, copied."""
    package = ROOT / "node_shim"
    target = folder / "node_modules" / "vite-plugin-wsside"
    target.unlink()
    target.mkdir()
    for name in ["package.json", *json.loads((package / "package.json").read_text())["files"]]:
        source = package / name.rstrip("/")
        if source.is_dir():
            shutil.copytree(source, target / source.name)
        else:
            shutil.copy(source, target / source.name)


def project(tmp_path: Path, major: int) -> Path:
    folder = write_project(tmp_path / "project", major, config=CONFIG)
    install_copy(folder)
    return folder


@pytest.mark.parametrize("major", sorted(VITE_PACKAGES))
def test_in_dev_the_client_is_served_as_it_is_never_optimized(major, tmp_path, open_page):
    folder = project(tmp_path, major)
    resolved = subprocess.run(
        ["node", "--input-type=module", "-e", RESOLVED_EXCLUDES],
        cwd=folder,
        env=vite_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resolved.returncode == 0, resolved.stderr
    top, client = json.loads(resolved.stdout.splitlines()[-1])
    assert top == ["left-alone", CLIENT]
    if major >= 6:  # Vite 6 brought environments; the browser's takes the top-level list
        assert client == ["left-alone", CLIENT]

    server = Vite(folder)
    with serving(server, "/api/ws/echo"):
        page = open_page(server)
        page.wait_for_function(HELLO)
        loaded = page.evaluate(
            "performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)"
        )
        navigations = page.evaluate("performance.getEntriesByType('navigation')[0].type")
    # Stopped: Vite's output is all read.
    assert "/node_modules/vite-plugin-wsside/client/index.js" in loaded, loaded
    assert not [path for path in loaded if "/.vite/deps/" in path], loaded
    assert navigations == "navigate"
    optimized = [
        line
        for line in server.lines
        if re.search(r"new dependencies|optimized|reloading", line, re.IGNORECASE)
    ]
    assert not optimized, server.output


@pytest.mark.parametrize("major", [min(VITE_PACKAGES), max(VITE_PACKAGES)])
def test_vite_build_bundles_the_installed_client(major, tmp_path, open_page):
    folder = project(tmp_path, major)
    build(folder)
    bundled = "".join(path.read_text() for path in (folder / "dist" / "assets").glob("*.js"))
    assert "wsside: connect needs a global WebSocket" in bundled
    server = VitePreview(folder)
    with serving(server, "/api/ws/echo"):
        page = open_page(server)
        page.wait_for_function(HELLO)
        assert page.evaluate("socket.status") == "open"
