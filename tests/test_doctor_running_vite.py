"""`wsside doctor` names the Vite that runs the dev server: under Astro or Nuxt, the one the
framework imports (resolved from its own folder as Node does), not a top-level
node_modules/vite; and the middleware-mode check reads the server file a dev script runs
(`node server.js` creating Vite with `server.middlewareMode`). Real folder layouts, with
package.json-only packages, and the real `wsside doctor` CLI."""

from __future__ import annotations

import json
from pathlib import Path

from doctor_projects import one, run_doctor, write

ECHO = {"ws/echo.py": "from wsside import Handler\necho = Handler('/echo')\n"}

ASTRO_CONFIG = """\
import { defineConfig } from 'astro/config'
import wsside from 'vite-plugin-wsside'

export default defineConfig({ vite: { plugins: [wsside()] } })
"""

NUXT_CONFIG = """\
import wsside from 'vite-plugin-wsside'

export default defineNuxtConfig({ vite: { plugins: [wsside()] } })
"""


def package(name: str, version: str, **more: object) -> str:
    return json.dumps({"name": name, "version": version, **more})


def manifest(**more: object) -> str:
    return json.dumps({"name": "app", "private": True, **more})


def astro_with_two_vites(root: Path, nested: dict[str, object]) -> Path:
    """An Astro project whose Astro 5.7.1 has Vite 6.4.2 (with `nested` in its package.json)
    in its own node_modules, beside a top-level Vite 8.0.5."""
    return write(
        root,
        {
            **ECHO,
            "astro.config.mjs": ASTRO_CONFIG,
            "package.json": manifest(scripts={"dev": "astro dev"}),
            "node_modules/astro/package.json": package("astro", "5.7.1"),
            "node_modules/astro/node_modules/vite/package.json": package("vite", "6.4.2", **nested),
            "node_modules/vite/package.json": package("vite", "8.0.5"),
        },
    )


def test_astro_s_nested_vite_is_named_not_the_top_level_one(tmp_path: Path) -> None:
    _, report = run_doctor(astro_with_two_vites(tmp_path, {}), "--no-live")
    check = one(report, "vite")
    assert (check["status"], check["message"]) == (
        "pass",
        "Vite 6.4.2 (the one Astro 5.7.1 runs); not node_modules/vite 8.0.5, which Astro "
        "does not use",
    )


def test_nuxt_s_vite_comes_through_its_builder_without_a_top_level_vite(tmp_path: Path) -> None:
    # Nuxt imports @nuxt/vite-builder (from the project, then from itself), which imports
    # Vite: here the builder sits inside nuxt's folder, and Vite inside the builder's.
    builder = "node_modules/nuxt/node_modules/@nuxt/vite-builder"
    root = write(
        tmp_path,
        {
            **ECHO,
            "nuxt.config.ts": NUXT_CONFIG,
            "package.json": manifest(dependencies={"nuxt": "^3.17.0"}),
            "node_modules/nuxt/package.json": package("nuxt", "3.17.5"),
            f"{builder}/package.json": package("@nuxt/vite-builder", "3.17.5"),
            f"{builder}/node_modules/vite/package.json": package("vite", "6.0.1"),
            # Another Vite beside nuxt, which Nuxt's builder does not reach first.
            "node_modules/nuxt/node_modules/vite/package.json": package("vite", "5.0.0"),
        },
    )
    _, report = run_doctor(root, "--no-live")
    check = one(report, "vite")
    assert check["status"] == "warn"
    assert check["message"].startswith("Vite 6.0.1 (the one Nuxt 3.17.5 runs) is affected by")
    assert check["fix"] == (
        'npm install nuxt@latest (its Vite comes with it), or set "overrides": '
        '{"vite": "^6"} in package.json'
    )


def test_a_nuxt_project_without_nuxt_config_is_told_by_its_dev_script(tmp_path: Path) -> None:
    # Nuxt runs without a nuxt.config; its builder, hoisted to the project's node_modules,
    # is found from the project first, and its Vite inside it.
    root = write(
        tmp_path,
        {
            **ECHO,
            "package.json": manifest(scripts={"dev": "nuxt dev"}),
            "node_modules/nuxt/package.json": package("nuxt", "4.1.0"),
            "node_modules/@nuxt/vite-builder/package.json": package("@nuxt/vite-builder", "4.1.0"),
            "node_modules/@nuxt/vite-builder/node_modules/vite/package.json": package(
                "vite", "7.3.2"
            ),
            "node_modules/vite/package.json": package("vite", "8.0.5"),
        },
    )
    _, report = run_doctor(root, "--no-live")
    assert one(report, "vite")["message"] == (
        "Vite 7.3.2 (the one Nuxt 4.1.0 runs); not node_modules/vite 8.0.5, which Nuxt does not use"
    )


def test_a_pnpm_link_is_followed_to_the_framework_s_own_vite(tmp_path: Path) -> None:
    store = "node_modules/.pnpm/astro@5.7.1/node_modules"
    root = write(
        tmp_path,
        {
            **ECHO,
            "astro.config.mjs": ASTRO_CONFIG,
            "package.json": manifest(devDependencies={"astro": "^5"}),
            f"{store}/astro/package.json": package("astro", "5.7.1"),
            f"{store}/vite/package.json": package("vite", "6.4.2"),
        },
    )
    (root / "node_modules/astro").symlink_to(root / store / "astro", target_is_directory=True)
    _, report = run_doctor(root, "--no-live")
    assert one(report, "vite")["message"] == "Vite 6.4.2 (the one Astro 5.7.1 runs)"


def test_node_is_held_to_the_engines_of_the_framework_s_vite(tmp_path: Path) -> None:
    root = astro_with_two_vites(tmp_path, {"engines": {"node": ">=99"}})
    _, report = run_doctor(root, "--no-live")
    check = one(report, "node")
    assert check["status"] == "fail"
    assert check["message"].endswith("; Vite 6.4.2 (the one Astro 5.7.1 runs) needs >=99")


VITE_CONFIG = """\
import wsside from 'vite-plugin-wsside'

export default { plugins: [wsside()] }
"""

EXPRESS_SERVER = """\
import express from 'express'
import { createServer } from 'vite'

const app = express()
// Vite as Express middleware: it has no http.Server of its own.
const vite = await createServer({
  server: { middlewareMode: true },
  appType: 'custom',
})
app.use(vite.middlewares)
const server = app.listen(5173)
"""


def express(tmp_path: Path, server: str) -> Path:
    return write(
        tmp_path,
        {
            **ECHO,
            "vite.config.js": VITE_CONFIG,
            "package.json": manifest(scripts={"dev": "NODE_ENV=development node server"}),
            "server.js": server,
        },
    )


def test_a_dev_script_s_server_in_middleware_mode_is_found(tmp_path: Path) -> None:
    _, report = run_doctor(express(tmp_path, EXPRESS_SERVER), "--no-live")
    check = one(report, "middleware mode")
    assert (check["status"], check["message"]) == (
        "warn",
        "server.js, which the dev script runs, creates Vite in middleware mode: the plugin "
        "cannot see WebSocket upgrades by itself",
    )
    assert check["fix"].startswith("call attachWsside(yourHttpServer, options)")


def test_a_dev_script_s_server_that_attaches_wsside_passes(tmp_path: Path) -> None:
    text = EXPRESS_SERVER.replace(
        "import express", "import { attachWsside } from 'vite-plugin-wsside'\nimport express"
    )
    text += "attachWsside(server, { prefix: '/api' })\n"
    _, report = run_doctor(express(tmp_path, text), "--no-live")
    check = one(report, "middleware mode")
    assert (check["status"], check["message"]) == (
        "pass",
        "server.js, which the dev script runs, creates Vite in middleware mode and calls "
        "attachWsside() on its server",
    )


def test_off_says_what_was_read(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {**ECHO, "vite.config.js": VITE_CONFIG, "package.json": manifest(scripts={"dev": "vite"})},
    )
    _, report = run_doctor(root, "--no-live")
    assert one(report, "middleware mode")["message"] == (
        "off: not set in vite.config.js, and the dev script (vite) runs no server file"
    )
    (root / "package.json").write_text(manifest())
    _, report = run_doctor(root, "--no-live")
    assert one(report, "middleware mode")["message"] == (
        "not set in vite.config.js; package.json has no dev script, so a server of your own "
        "that creates Vite in middleware mode would not be seen"
    )


def test_a_dev_script_s_server_with_an_hmr_server_passes(tmp_path: Path) -> None:
    text = EXPRESS_SERVER.replace(
        "server: { middlewareMode: true },",
        "server: { middlewareMode: true, hmr: { server: httpServer } },",
    )
    _, report = run_doctor(express(tmp_path, text), "--no-live")
    check = one(report, "middleware mode")
    assert (check["status"], check["message"]) == (
        "pass",
        "server.js, which the dev script runs, creates Vite in middleware mode, with "
        "hmr.server: the plugin serves that server's upgrades",
    )
