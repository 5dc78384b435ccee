"""`wsside doctor` in projects of frameworks built on Vite that have no vite.config: Astro and
Nuxt put Vite's options, wsside() among the plugins, under `vite: {...}` of their own config.
Read as text (running the framework to resolve them would be running its dev server)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from doctor_projects import one, run_doctor, write

ECHO = """\
from wsside import Handler

echo = Handler("/echo")
"""

ASTRO = """\
import { defineConfig } from 'astro/config'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  server: { port: 4321 },
  vite: {
    plugins: [wsside()],
  },
})
"""

NUXT = """\
import wsside from 'vite-plugin-wsside'

export default defineNuxtConfig({
  devtools: { enabled: true },
  vite: { plugins: [wsside()] },
})
"""


def project(root: Path, config: str, text: str) -> Path:
    return write(root, {config: text, "ws/echo.py": ECHO, "package.json": "{}"})


@pytest.mark.parametrize(
    ("config", "text", "framework"),
    [("astro.config.mjs", ASTRO, "Astro"), ("nuxt.config.ts", NUXT, "Nuxt")],
)
def test_the_framework_config_is_read_for_the_plugin(
    tmp_path: Path, config: str, text: str, framework: str
) -> None:
    _, report = run_doctor(project(tmp_path, config, text))
    check = one(report, "vite.config")
    assert check["status"] == "pass"
    assert check["message"] == (
        f"{config} uses wsside() in vite.plugins (read as text: {framework} builds Vite's "
        "config itself)"
    )
    assert one(report, "hmr path")["message"] == "HMR path(s) / stay clear of /api"
    # No dev server runs: the way to start one is the framework's, not `npx vite`.
    start = {"Astro": "npx astro dev", "Nuxt": "npx nuxi dev"}[framework]
    assert f"(`npm run dev`, or `{start}`)" in one(report, "dev server")["fix"]


def test_wsside_outside_vite_is_named(tmp_path: Path) -> None:
    vite = "  vite: {\n    plugins: [wsside()],\n  },\n"
    text = ASTRO.replace(vite, "  integrations: [wsside()],\n")
    code, report = run_doctor(project(tmp_path, "astro.config.mjs", text))
    check = one(report, "vite.config")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == (
        "astro.config.mjs calls wsside() outside its vite: {...}, where Astro does not give it "
        "to Vite"
    )
    assert check["fix"] == (
        "move it: vite: { plugins: [wsside()] } in astro.config.mjs, "
        "with import wsside from 'vite-plugin-wsside'"
    )


def test_vite_options_are_read_under_vite_not_the_framework_s_own(tmp_path: Path) -> None:
    # Astro's own `server: { port }` is no Vite option; the proxy under `vite.server` is.
    text = ASTRO.replace(
        "plugins: [wsside()],",
        "plugins: [wsside()],\n    server: { proxy: { '/api': { target: 'ws://x', ws: true } } },",
    )
    code, report = run_doctor(project(tmp_path, "astro.config.mjs", text))
    assert code == 1
    assert one(report, "proxy")["message"].startswith(
        "server.proxy['/api'] (ws: true) also claims '/api/echo'"
    )


def test_nuxt_middleware_mode_is_served_by_the_plugin(tmp_path: Path) -> None:
    _, report = run_doctor(project(tmp_path, "nuxt.config.ts", NUXT))
    check = one(report, "middleware mode")
    assert check["status"] == "pass"
    assert check["message"].startswith("Nuxt runs Vite in middleware mode")
    assert one(report, "exposure")["message"].startswith(
        "devServer.host is not set: nuxi dev listens on localhost, or on every interface "
        "inside a container or WSL"
    )


def test_nuxt_exposure_is_its_devserver_host(tmp_path: Path) -> None:
    text = NUXT.replace("devtools: { enabled: true },", "devServer: { host: '0.0.0.0' },")
    _, report = run_doctor(project(tmp_path, "nuxt.config.ts", text))
    check = one(report, "exposure")
    assert check["status"] == "warn"
    assert check["message"].startswith('devServer.host is "0.0.0.0": the dev server')
    assert check["fix"] == "use devServer.host 'localhost' unless you need it"


def test_middleware_mode_with_an_hmr_server_needs_no_attach(tmp_path: Path) -> None:
    config = """\
    import { defineConfig } from 'vite'
    import wsside from 'vite-plugin-wsside'

    export default defineConfig({
      plugins: [wsside()],
      server: { middlewareMode: true, hmr: { server: globalThis.appServer } },
    })
    """
    _, report = run_doctor(project(tmp_path, "vite.config.js", config))
    check = one(report, "middleware mode")
    assert (check["status"], check["message"]) == (
        "pass",
        "on, with server.hmr.server: the plugin serves that server's upgrades",
    )


def test_no_config_of_any_kind(tmp_path: Path) -> None:
    # A package.json: a folder of handler files alone is checked for wsside serve instead.
    code, report = run_doctor(write(tmp_path, {"ws/echo.py": ECHO, "package.json": "{}"}))
    check = one(report, "vite.config")
    assert code == 1
    assert check["message"] == (
        f"no vite.config.*, astro.config.* or nuxt.config.* in {tmp_path.resolve()}"
    )


class _ViteClient(BaseHTTPRequestHandler):
    """What doctor asks a dev server to tell it is Vite: /@vite/client answers 200 with a
    script."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/@vite/client" else 404)
        self.send_header("Content-Type", "text/javascript")  # Vite's client is a script
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dev_server() -> Iterator[int]:
    """An Astro-like dev server on loopback (not on Vite's 5173); yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ViteClient)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_running_dev_server_is_looked_for_on_the_framework_s_port(
    tmp_path: Path, dev_server: int
) -> None:
    text = ASTRO.replace("server: { port: 4321 }", f"server: {{ port: {dev_server} }}")
    _, report = run_doctor(project(tmp_path, "astro.config.mjs", text))
    assert one(report, "dev server")["message"].startswith(
        f"http://localhost:{dev_server} (a Vite dev server on port {dev_server}"
    )


# A framework's dev command as doctor sees it: a node process in the project whose command
# line does not say vite, serving Vite's client where Nuxt does.
NUXT_LIKE_DEV = """
import http from 'node:http'
const server = http.createServer((req, res) => {
  const found = req.url === '/_nuxt/@vite/client'
  res.writeHead(found ? 200 : 404, found ? { 'Content-Type': 'text/javascript' } : {}).end()
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
"""


def test_a_framework_s_dev_command_is_found_by_its_process(tmp_path: Path) -> None:
    """`nuxi dev`, `astro dev`, `react-router dev`: found in the project's folder by process,
    on whatever port it listens, and recognised by Vite's client under /_nuxt/ too."""
    root = project(tmp_path, "nuxt.config.ts", NUXT)
    (root / "dev.mjs").write_text(NUXT_LIKE_DEV)
    server = subprocess.Popen(["node", "dev.mjs"], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        _, report = run_doctor(root)
        assert one(report, "dev server")["message"] == (
            f"http://127.0.0.1:{port} (the dev server process of {root.name}/)"
        )
    finally:
        server.kill()
        server.wait(10)
        server.stdout.close()


@pytest.mark.parametrize(
    ("config", "text"), [("astro.config.mjs", ASTRO), ("nuxt.config.ts", NUXT)]
)
def test_run_from_a_subfolder_the_project_is_the_framework_config_s_folder(
    tmp_path: Path, config: str, text: str
) -> None:
    root = project(tmp_path, config, text)
    pages = root / "src" / "pages"
    pages.mkdir(parents=True)
    _, report = run_doctor(pages)
    assert report["root"] == str(root.resolve())
    assert one(report, "vite.config")["status"] == "pass"
