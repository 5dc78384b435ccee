"""`wsside doctor`'s shim check reads the release line (major.minor) of both packages as the
plugin does (`releaseLineSkew`), whatever follows major.minor.patch: a PEP 440 tag
(`0.1.0.post1`, `0.2.0rc1`, `0.1.0.dev0`) or a semver one (`0.2.0-rc.1`). Its fix gives the
other side's release line in each registry's own syntax, with the interpreter pip installs
into."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from doctor_projects import REPO, env_for, one, run_doctor
from test_doctor_version_skew import _doctor, _project
from wsside import __version__
from wsside._edge.control import PROTOCOL_VERSION

PLUGIN = json.loads((REPO / "node_shim" / "package.json").read_text())["version"]
MAJOR, MINOR = (int(n) for n in PLUGIN.split(".")[:2])
LINE = f"{MAJOR}.{MINOR}"
NEXT = f"{MAJOR}.{MINOR + 1}"


def _plugin_at(root: Path, version: str) -> None:
    """The project's installed plugin says `version` (an npm install of another release)."""
    package = root / "node_modules" / "vite-plugin-wsside" / "package.json"
    package.write_text(json.dumps({**json.loads(package.read_text()), "version": version}))


@pytest.mark.parametrize("tag", [".0.post1", ".0rc1", ".0.dev0", ".3", ".0-rc.1"])
def test_a_tagged_wsside_of_the_plugin_s_line_passes(tmp_path: Path, tag: str) -> None:
    theirs = f"{LINE}{tag}"
    python = _project(tmp_path, theirs, PROTOCOL_VERSION)
    check = _doctor(tmp_path)
    assert check["status"] == "pass", check
    assert check["message"] == (
        f"vite-plugin-wsside {PLUGIN} (control protocol {PROTOCOL_VERSION}), wsside {theirs} "
        f"(control protocol {PROTOCOL_VERSION}) of {python}, which Vite's sidecar will run"
    )


@pytest.mark.parametrize("tag", ["-rc.1", ".post1", "-beta.3+build.5"])
def test_a_tagged_plugin_of_wsside_s_line_passes(tmp_path: Path, tag: str) -> None:
    _project(tmp_path, __version__, PROTOCOL_VERSION)
    _plugin_at(tmp_path, f"{LINE}.0{tag}")
    assert _doctor(tmp_path)["status"] == "pass"


def test_a_pre_release_of_another_line_warns_with_each_registry_s_range(tmp_path: Path) -> None:
    # npm skips pre-releases in `~0.2.0`, so the range starts at `-0`; pip's `==0.1.*` is
    # any 0.1 release.
    theirs = f"{NEXT}.0rc1"
    python = _project(tmp_path, theirs, PROTOCOL_VERSION)
    check = _doctor(tmp_path)
    assert check["status"] == "warn", check
    assert check["message"] == (
        f"different release lines: vite-plugin-wsside {PLUGIN} (control protocol "
        f"{PROTOCOL_VERSION}), wsside {theirs} (control protocol {PROTOCOL_VERSION}) "
        f"of {python}, which Vite's sidecar will run"
    )
    assert check["fix"] == (
        f"npm install -D 'vite-plugin-wsside@~{NEXT}.0-0', "
        f"or {python} -m pip install 'wsside=={LINE}.*'"
    )


def test_another_protocol_of_a_post_release_gives_both_lines(tmp_path: Path) -> None:
    theirs = f"{NEXT}.0.post1"
    python = _project(tmp_path, theirs, PROTOCOL_VERSION + 1)
    check = _doctor(tmp_path)
    assert check["status"] == "fail", check
    assert check["fix"] == (
        f"install matching versions: npm install -D 'vite-plugin-wsside@~{NEXT}.0', "
        f"or {python} -m pip install 'wsside=={LINE}.*'"
    )


def test_in_the_sidecar_s_own_python_pip_is_that_python_s(tmp_path: Path) -> None:
    """Doctor run by the interpreter Vite's sidecar runs: its own wsside, compared with a
    pre-release plugin of another line, and its pip named (not whichever `pip` is on PATH)."""
    _project(tmp_path, __version__, PROTOCOL_VERSION)
    plugin = f"{NEXT}.0-rc.1"
    _plugin_at(tmp_path, plugin)
    _, report = run_doctor(tmp_path, env=env_for())  # WSSIDE_PYTHON: this Python
    check = one(report, "shim")
    assert check["status"] == "warn", check
    assert check["message"] == (
        f"different release lines: vite-plugin-wsside {plugin} (control protocol "
        f"{PROTOCOL_VERSION}), wsside {__version__} (control protocol {PROTOCOL_VERSION})"
    )
    line = ".".join(__version__.split(".")[:2])
    assert check["fix"] == (
        f"npm install -D 'vite-plugin-wsside@~{line}.0', "
        f"or {shlex.quote(sys.executable)} -m pip install 'wsside=={NEXT}.*'"
    )
