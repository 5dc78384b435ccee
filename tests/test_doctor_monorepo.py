"""A monorepo: the Vite app in apps/web, the Python app in apps/api, whose handlers
(apps/api/ws) import the app's own package (`from app.auth import TOKENS`, apps/api/app/).
vite.config names them with `handlers: '../api/ws'` and puts the app on the import path with
`env: { PYTHONPATH: '../api' }`, both relative to vite.config's folder, as the plugin takes
them. The real `wsside doctor` and `wsside types` read those options and import the handlers
as the sidecar does; a real Vite serves them, or says how to put the app on the import path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from doctor_projects import (
    VENV_PYTHON,
    env_for,
    free_port,
    link_modules,
    one,
    run_doctor,
    start_vite,
    vite_modules,
    write,
)
from test_doctor import python_with_this_wsside

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

VITE_CONFIG = """\
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  plugins: [wsside(%s)],
})
"""
WITH_ENV = "{ handlers: '../api/ws', env: { PYTHONPATH: '../api' } }"
WITHOUT_ENV = "{ handlers: '../api/ws' }"

PRIVATE = """\
from typing import Literal, TypedDict

from wsside import Handler
from app.auth import TOKENS

class Said(TypedDict):
    type: Literal["said"]
    text: str

private = Handler("/ws/private", sends=Said)
"""
API = {
    "apps/api/ws/private.py": PRIVATE,
    "apps/api/ws/chat.py": "from wsside import Handler\nchat = Handler('/ws/chat')\n",
    "apps/api/app/__init__.py": "",
    "apps/api/app/auth.py": "TOKENS = {'secret'}\n",
}

# What the load error of private.py says without the `env` option: the option to set.
HINT = (
    "`app` is in {api}, which is not on the import path here: put it there with the plugin's "
    "`env` option, `wsside({{ env: {{ PYTHONPATH: '../api' }} }})` in vite.config (relative to "
    "vite.config's folder)"
)


def monorepo(root: Path, options: str, python: str = "", **files: str) -> Path:
    """The repository in `root`; returns the Vite app's folder, apps/web. `python`: the
    plugin's `python` option, added to `options`."""
    if python:
        options = options.replace("{ ", f"{{ python: '{python}', ", 1)
    write(root, {"apps/web/vite.config.js": VITE_CONFIG % options, **API, **files})
    return root / "apps" / "web"


def clean_env(**extra: str) -> dict[str, str]:
    """The shim's environment, without a PYTHONPATH of the test run's own."""
    env = env_for(**extra)
    env.pop("PYTHONPATH", None)
    return env


def sidecar_python(root: Path, how: str) -> str:
    """The plugin's `python` option: none (the doctor imports in its own process, this
    Python), or the repository's .venv (`../../.venv/bin/python`, another path: the doctor
    imports in a subprocess of it)."""
    if how == "this":
        return ""
    python_with_this_wsside(root / ".venv")
    return "../../.venv/bin/python"


@pytest.mark.parametrize("how", ["this", "repository-venv"])
def test_doctor_imports_the_handlers_with_the_plugin_s_pythonpath(tmp_path: Path, how: str) -> None:
    web = monorepo(tmp_path, WITH_ENV, sidecar_python(tmp_path, how))
    _, report = run_doctor(web, "--no-live", env=clean_env())
    private = one(report, "handler ../api/ws/private.py")
    assert private["status"] == "pass", private
    assert private["message"].startswith("imports: /ws/private"), private
    assert one(report, "patterns")["message"] == "2 pattern(s), no duplicates or shadowing"
    if how != "this":
        interpreter = one(report, "interpreter")
        assert interpreter["message"].startswith(
            f"{tmp_path / '.venv/bin/python'} (the `python` option in vite.config): Python "
        ), interpreter


@pytest.mark.parametrize("how", ["this", "repository-venv"])
def test_without_the_env_option_doctor_names_it_as_the_fix(tmp_path: Path, how: str) -> None:
    web = monorepo(tmp_path, WITHOUT_ENV, sidecar_python(tmp_path, how))
    _, report = run_doctor(web, "--no-live", env=clean_env())
    private = one(report, "handler ../api/ws/private.py")
    assert private["status"] == "fail", private
    assert "ModuleNotFoundError: No module named 'app'" in private["message"], private
    assert private["fix"] == HINT.format(api=tmp_path / "apps" / "api")


def wsside_types(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "types", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wsside_types_takes_handlers_and_env_from_vite_config(tmp_path: Path) -> None:
    web = monorepo(
        tmp_path,
        WITH_ENV,
        **{"apps/web/own/solo.py": "from wsside import Handler\nsolo = Handler('/solo')\n"},
    )
    done = wsside_types(web, "--out", "wsside-env.d.ts")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "wsside types: wrote wsside-env.d.ts\n"
    text = (web / "wsside-env.d.ts").read_text()
    assert "the wsside handlers in ../api/ws/" in text
    assert "'/ws/private': " in text, text
    # A flag wins over vite.config; the `env` option still applies (no flag gives it).
    done = wsside_types(web, "--handlers", "own")
    assert done.returncode == 0, done.stderr
    assert "the wsside handlers in own/" in done.stdout
    assert "/ws/private" not in done.stdout


def test_wsside_types_names_vite_config_s_handlers_option_when_its_folder_is_missing(
    tmp_path: Path,
) -> None:
    web = monorepo(tmp_path, WITH_ENV.replace("../api/ws", "../apii/ws"))
    done = wsside_types(web)
    assert done.returncode == 2
    assert done.stderr == (
        "wsside types: the `handlers` option of wsside() in vite.config.js ('../apii/ws'): "
        f"no such folder: {tmp_path / 'apps' / 'apii' / 'ws'}\n"
    )


def test_a_misspelt_handlers_option_is_the_fix_and_the_folder_meant_is_found(
    tmp_path: Path,
) -> None:
    """vite.config's `handlers` wins over wsside.toml's: the fix corrects the option, and the
    handler files beside the folder it names (outside the Vite project) are pointed at."""
    web = monorepo(
        tmp_path,
        WITH_ENV.replace("../api/ws", "../apii/ws"),
        **{"apps/web/wsside.toml": 'handlers = "ws"\n'},
    )
    code, report = run_doctor(web, "--no-live", env=clean_env())
    check = one(report, "handlers folder")
    assert code == 1 and check["status"] == "fail", check
    assert check["message"] == (
        "../apii/ws/ does not exist, but ../api/ws/ has files declaring a Handler (chat.py, "
        "private.py)"
    )
    assert check["fix"] == (
        "set the `handlers` option of wsside() in vite.config to '../api/ws' "
        "(or move those files into ../apii/ws/)"
    )
    # Nothing near it to point at: the option is still what to correct, not wsside.toml.
    for name in API:
        if name.startswith("apps/api/ws/"):
            (tmp_path / name).unlink()
    _, report = run_doctor(web, "--no-live", env=clean_env())
    check = one(report, "handlers folder")
    assert check["message"] == "../apii/ws/ does not exist"
    assert check["fix"] == (
        "correct the `handlers` option of wsside() in vite.config ('../apii/ws'; it wins over "
        "wsside.toml), or create ../apii/ws/ with a handler file (`wsside init` writes one)"
    )


@pytest.mark.slow
def test_vite_serves_them_and_doctor_probes_them_live(tmp_path: Path, vite_modules: Path) -> None:
    web = monorepo(tmp_path, WITH_ENV)
    link_modules(web, vite_modules)
    env = clean_env()
    for _ in start_vite(web, free_port(), env):
        _, report = run_doctor(web, env=env)
        assert one(report, "handler ../api/ws/private.py")["status"] == "pass"
        live = one(report, "live /api/ws/private")
        assert live["status"] == "pass" and live["message"].startswith("101 in "), live


@pytest.mark.slow
def test_vite_s_terminal_names_the_env_option(tmp_path: Path, vite_modules: Path) -> None:
    """The sidecar the plugin runs knows it is under Vite: its load error's hint is the
    plugin's `env` option, not "run from that folder"."""
    web = monorepo(tmp_path, WITHOUT_ENV)
    link_modules(web, vite_modules)
    log: list[str] = []
    for _ in start_vite(web, free_port(), clean_env(), log):
        said = [line.rstrip() for line in log if "No module named 'app'" in line]
        assert said, "".join(log)
        assert said[0].endswith(
            "ModuleNotFoundError: No module named 'app': "
            + HINT.format(api=tmp_path / "apps" / "api")
        ), said[0]
