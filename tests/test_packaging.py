"""What a user gets from PyPI and npm: one version, the MIT licence text, the metadata both
registries show, a PyPI page whose links work there, and the interpreter rules file. The wheel
is really built (pip's PEP 517 build, as `pip install .` would)."""

from __future__ import annotations

import email
import email.message
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import wsside

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
NPM = json.loads((REPO / "node_shim" / "package.json").read_text())
LONG_DESCRIPTION = REPO / PYPROJECT["readme"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("wsside-*.whl")
    return zipfile.ZipFile(built)


def metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.message_from_bytes(wheel.read(name))


def test_one_version_for_both_packages() -> None:
    assert "version" not in PYPROJECT and "version" in PYPROJECT["dynamic"]
    assert NPM["version"] == wsside.__version__


def test_the_wheel_says_what_pypi_shows(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    assert meta["Version"] == wsside.__version__
    assert meta["License-Expression"] == "MIT"
    assert meta["Author"] == "the wsside authors"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls["Repository"].startswith("https://") and urls["Homepage"].startswith("https://")
    assert "Programming Language :: Python :: 3.10" in meta.get_all("Classifier")
    assert meta.get_payload() == LONG_DESCRIPTION.read_text()
    licence = next(n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE"))
    assert wheel.read(licence) == (REPO / "LICENSE").read_bytes()


def test_the_wheel_carries_the_rules_file_itself(wheel: zipfile.ZipFile) -> None:
    info = wheel.getinfo("wsside/interpreter-rules.json")
    assert (info.external_attr >> 16) & 0o170000 != 0o120000  # a file, not a link
    assert wheel.read(info) == (REPO / "node_shim" / "interpreter-rules.json").read_bytes()


def test_the_pypi_page_links_only_to_absolute_urls() -> None:
    text = LONG_DESCRIPTION.read_text()
    links = re.findall(r"\]\(([^)]*)\)", text)
    assert links and all(link.startswith("https://") for link in links), links
    assert len(text) < 4000  # a page, not the guide


def test_the_licence_is_mit_in_both_packages() -> None:
    licence = (REPO / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) ") and "the wsside authors" in licence
    # npm packs a LICENSE beside package.json, but never follows a link: a copy.
    assert (REPO / "node_shim" / "LICENSE").read_text() == licence
    assert NPM["license"] == "MIT"
    assert NPM["repository"]["url"].startswith("git+https://")
