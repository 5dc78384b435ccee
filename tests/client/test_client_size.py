"""The browser client's size that README.md and docs/client.md quote ("2.3 KB minified and
gzipped") is the one `npm run size:client` gives today (node_shim/scripts/client-size.mjs:
minified by the Vite installed in node_shim, gzipped at level 9)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "node_shim"
QUOTED = re.compile(r"(\d+(?:\.\d+)?) KB minified and gzipped")
# KB as the project's other figures count it (bench/run.py): 1024 bytes, to one decimal.
KB = 1024


@pytest.fixture(scope="module")
def gzipped() -> int:
    """The client's size in bytes, minified and gzipped, as `npm run size:client` prints it."""
    if not (SHIM / "node_modules" / "vite" / "package.json").is_file():
        pytest.fail(f"Vite is not installed in {SHIM}: run `make node-deps`")
    out = subprocess.check_output(
        ["npm", "run", "--silent", "size:client"], cwd=SHIM, text=True, timeout=60
    )
    found = re.search(r"(\d+) B minified\+gzipped", out)
    assert found, f"`npm run size:client` printed no 'N B minified+gzipped': {out!r}"
    return int(found[1])


@pytest.mark.parametrize("page", ["README.md", "docs/client.md"])
def test_the_docs_quote_the_clients_size_of_today(page: str, gzipped: int) -> None:
    text = (REPO / page).read_text(encoding="utf-8")
    want = f"{gzipped / KB:.1f}"
    quotes = list(QUOTED.finditer(text))
    if not quotes:
        pytest.fail(f"{page} quotes no size of the client: write '{want} KB minified and gzipped'")
    for quote in quotes:
        line = text.count("\n", 0, quote.start()) + 1
        if quote[1] != want:
            pytest.fail(
                f"{page}:{line} says {quote[0]!r}; `npm run size:client` gives {gzipped} B: "
                f"write {want} KB"
            )
