"""What both registries show from the sources: one version, the MIT licence text, a PyPI page
whose links work there. The built packages themselves are tests/test_release.py's."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import wsside

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
NPM = json.loads((REPO / "node_shim" / "package.json").read_text())
LONG_DESCRIPTION = REPO / PYPROJECT["readme"]


def test_one_version_for_both_packages() -> None:
    assert "version" not in PYPROJECT and "version" in PYPROJECT["dynamic"]
    assert NPM["version"] == wsside.__version__


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
