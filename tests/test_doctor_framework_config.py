"""An Astro or Nuxt project with a vite.config.* beside the framework's own config: the
framework builds Vite's config from its own file and never reads the vite.config, so wsside()
there starts no sidecar. `wsside doctor` reads the framework's config and names the stray
file; `wsside init` prints the lines for the framework's `vite` key and leaves the vite.config
as it is. A plain Vite project is read as before. Real `wsside doctor` and `wsside init`
processes, on projects in tmp folders."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from doctor_projects import SIMPLE_VITE_CONFIG, one, run_doctor, write
from test_init_middleware_mode import run_init
from wsside.cli.vite_edit import import_line

ECHO = "from wsside import Handler\n\necho = Handler('/echo')\n"
PACKAGE = '{"name": "app", "private": true, "type": "module"}'

ASTRO = """\
import { defineConfig } from 'astro/config'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  vite: { plugins: [wsside()] },
})
"""
NUXT = """\
import wsside from 'vite-plugin-wsside'

export default defineNuxtConfig({
  vite: { plugins: [wsside()] },
})
"""
# Each framework's config as the user left it: wsside() only in vite.config.js.
WITHOUT_PLUGIN = {
    "astro.config.mjs": "import { defineConfig } from 'astro/config'\n\n"
    "export default defineConfig({})\n",
    "nuxt.config.ts": "export default defineNuxtConfig({})\n",
}
FRAMEWORKS = [("astro.config.mjs", "Astro"), ("nuxt.config.ts", "Nuxt")]


def project(root: Path, files: dict[str, str]) -> Path:
    return write(root, {"ws/echo.py": ECHO, "package.json": PACKAGE, **files})


@pytest.mark.parametrize(("config", "framework"), FRAMEWORKS)
def test_wsside_only_in_a_stray_vite_config_fails_naming_both_files(
    tmp_path: Path, config: str, framework: str
) -> None:
    root = project(tmp_path, {config: WITHOUT_PLUGIN[config], "vite.config.js": SIMPLE_VITE_CONFIG})
    code, report = run_doctor(root, "--no-live")
    check = one(report, "vite.config")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == (
        f"vite.config.js has wsside(), which {framework} never reads (it reads {config})"
    )
    assert check["fix"] == (
        f"move it to {config}: vite: {{ plugins: [wsside()] }}, "
        "with import wsside from 'vite-plugin-wsside'"
    )


@pytest.mark.parametrize(("config", "framework"), FRAMEWORKS)
def test_wsside_in_both_configs_warns_that_the_vite_config_is_not_read(
    tmp_path: Path, config: str, framework: str
) -> None:
    text = {"astro.config.mjs": ASTRO, "nuxt.config.ts": NUXT}[config]
    root = project(tmp_path, {config: text, "vite.config.js": SIMPLE_VITE_CONFIG})
    _, report = run_doctor(root, "--no-live")
    check = one(report, "vite.config")
    assert check["status"] == "warn"
    assert check["message"] == (
        f"{config} uses wsside() in vite.plugins; vite.config.js has wsside() too, but "
        f"{framework} never reads it (harmless, but misleading)"
    )
    assert check["fix"] == (
        "take wsside() out of vite.config.js (or delete it, if nothing else reads it)"
    )


def test_wsside_in_astro_and_in_vitest_s_vite_config_passes(tmp_path: Path) -> None:
    # Vitest reads that vite.config (`vitest --ui` starts a sidecar from it): not a stray.
    vitest = (
        "import { defineConfig } from 'vitest/config'\nimport wsside from 'vite-plugin-wsside'\n\n"
        "export default defineConfig({ plugins: [wsside()], test: { environment: 'jsdom' } })\n"
    )
    root = project(tmp_path, {"astro.config.mjs": ASTRO, "vite.config.ts": vitest})
    _, report = run_doctor(root, "--no-live")
    check = one(report, "vite.config")
    assert (check["status"], check["message"]) == (
        "pass",
        "astro.config.mjs uses wsside() in vite.plugins; vite.config.ts has it too, for Vitest, "
        "which reads that file (Astro does not)",
    )


def test_a_stray_vite_config_without_wsside_is_named_where_neither_has_it(
    tmp_path: Path,
) -> None:
    config = "astro.config.mjs"
    plain = "import { defineConfig } from 'vite'\n\nexport default defineConfig({})\n"
    root = project(tmp_path, {config: WITHOUT_PLUGIN[config], "vite.config.js": plain})
    _, report = run_doctor(root, "--no-live")
    check = one(report, "vite.config")
    assert (check["status"], check["message"]) == (
        "fail",
        "astro.config.mjs does not use the wsside plugin (Astro never reads vite.config.js)",
    )


def test_a_plain_vite_project_is_read_from_its_vite_config(tmp_path: Path) -> None:
    root = project(tmp_path, {"vite.config.js": SIMPLE_VITE_CONFIG})
    _, report = run_doctor(root, "--no-live")
    check = one(report, "vite.config")
    # No node_modules here, so Vite cannot be asked: the file is read as text, as before.
    assert (check["status"], check["message"].split(";")[0]) == (
        "warn",
        "vite.config.js uses wsside() (read as text",
    )


class _SilentVite(BaseHTTPRequestHandler):
    """A dev server whose Vite has no wsside(): it serves Vite's client, and leaves every
    WebSocket upgrade unanswered until the test ends."""

    done = threading.Event()

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.done.wait()
            return
        self.send_response(200 if self.path == "/@vite/client" else 404)
        self.send_header("Content-Type", "text/javascript")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def silent_vite() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SilentVite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        _SilentVite.done.set()
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_unanswered_probe_points_at_the_framework_s_config(
    tmp_path: Path, silent_vite: int
) -> None:
    root = project(tmp_path, {"astro.config.mjs": ASTRO})
    url = f"http://127.0.0.1:{silent_vite}"
    _, report = run_doctor(root, "--url", url, "--timeout", "2")
    check = one(report, "live /api/echo")
    assert (check["status"], check["message"]) == ("fail", "no answer: timed out")
    assert check["fix"].startswith(
        "Vite did not answer the upgrade: is wsside() in astro.config.mjs's vite.plugins?"
    )


@pytest.mark.parametrize(("config", "framework"), FRAMEWORKS)
def test_init_gives_the_framework_s_lines_and_leaves_the_vite_config(
    tmp_path: Path, config: str, framework: str
) -> None:
    root = project(tmp_path, {config: WITHOUT_PLUGIN[config], "vite.config.js": SIMPLE_VITE_CONFIG})
    done = run_init(root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        f"→ {config} was not edited: {framework} builds Vite's config from it, so the plugin "
        f"goes under its `vite` key, not in vite.config.js, which {framework} never reads.\n"
    ) in done.stdout
    assert f"      {import_line()}    (with the other imports)\n" in done.stdout
    assert "      vite: { plugins: [wsside()] },    (in the object it exports;" in done.stdout
    assert f"npm run dev     # {framework}'s dev server" in done.stdout
    assert "npx vite" not in done.stdout
    assert (root / "vite.config.js").read_text() == SIMPLE_VITE_CONFIG
    assert (root / config).read_text() == WITHOUT_PLUGIN[config]
    assert not (root / "vite.config.js.bak").exists()


def test_init_with_the_plugin_in_both_says_the_vite_config_is_not_read(tmp_path: Path) -> None:
    root = project(tmp_path, {"astro.config.mjs": ASTRO, "vite.config.js": SIMPLE_VITE_CONFIG})
    done = run_init(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "✓ astro.config.mjs already uses the plugin (vite.config.js is not read by Astro)\n"
    ) in done.stdout
    assert (root / "vite.config.js").read_text() == SIMPLE_VITE_CONFIG


def test_init_takes_wsside_s_options_from_the_framework_s_config(tmp_path: Path) -> None:
    # The prefix of the wsside() that runs goes into wsside.toml, not the stray one's.
    astro = ASTRO.replace("wsside()", "wsside({ prefix: '/live' })")
    stray = SIMPLE_VITE_CONFIG.replace("wsside()", "wsside({ prefix: '/stray' })")
    root = project(tmp_path, {"astro.config.mjs": astro, "vite.config.js": stray})
    shutil.rmtree(root / "ws")  # no handler of the project's own: init writes its sample
    done = run_init(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'prefix = "/live"' in (root / "wsside.toml").read_text()
    assert "npm run dev     # Astro's dev server, with the handlers at /live/echo" in done.stdout
    # The sample handler names where it answers: Astro's port, that prefix.
    assert "ws://localhost:4321/live/echo sends" in (root / "ws" / "echo.py").read_text()
