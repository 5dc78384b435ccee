"""The README's tables and config examples against the code, so that neither drifts alone.

- Every keyword parameter of `wsside.Handler` has its row in the README's "Handler API": an
  option in the options table (`| `name` | default | meaning |`), a callback in the Callbacks
  table (`| `on_connect(conn, request)` | ...`), or, for `receives` and `sends`, its place in
  "Types shared with TypeScript"; and every row names a real parameter.
- Every ```toml block of README.md and docs/ loads through the package's own config reader
  (`build_settings`, as `wsside serve` reads it) without an error or a warning: as
  `wsside.toml`, or as `pyproject.toml` when it is a `[tool.wsside]` table.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

from wsside import Handler
from wsside._runtime.config import build_settings

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
# The keyword parameters documented outside the two tables, and the README section that does.
ELSEWHERE = {"receives": "Types shared with TypeScript", "sends": "Types shared with TypeScript"}
PARAMETERS = [
    name
    for name, parameter in inspect.signature(Handler.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
]
CALLBACKS = [name for name in PARAMETERS if name.startswith("on_")]
OPTIONS = [name for name in PARAMETERS if name not in CALLBACKS and name not in ELSEWHERE]


def section(text: str, heading: str) -> str:
    """The text under `heading` (`## Handler API`), up to the next heading of its level or
    above."""
    level = len(heading.split(" ", 1)[0])
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = re.search(rf"^#{{1,{level}}} ", text[start:], re.M)
    return text[start : start + end.start()] if end else text[start:]


def table_rows(text: str, header: str) -> list[str]:
    """The first cell of each row of the table under `header` (`| option | default | ...`),
    without its backticks."""
    lines = text[text.index(header + "\n") :].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        first = line.split("|")[1].strip()
        assert first.startswith("`"), f"a row that does not start with `name`: {line}"
        rows.append(first.strip("`"))
    return rows


def handler_rows(readme: str) -> tuple[list[str], list[str]]:
    """The options table's names, and the callbacks table's (without their parameters)."""
    api = section(readme, "## Handler API")
    options = table_rows(api, "| option | default | meaning |")
    callbacks = table_rows(section(api, "### Callbacks"), "| callback | called |")
    return options, [re.sub(r"\(.*", "", row) for row in callbacks]


def test_every_handler_option_has_a_row_and_every_row_is_an_option() -> None:
    options, callbacks = handler_rows(README.read_text(encoding="utf-8"))
    assert options and callbacks, "the Handler API tables were not found"
    drift = {
        "Handler options without a row": sorted(set(OPTIONS) - set(options)),
        "rows that name no Handler option": sorted(set(options) - set(OPTIONS)),
    }
    assert drift == {key: [] for key in drift}, "the README's Handler options table"
    assert len(options) == len(set(options)), "an option with two rows"
    assert sorted(callbacks) == sorted(CALLBACKS)


def test_the_parameters_outside_the_tables_are_documented_where_said() -> None:
    readme = README.read_text(encoding="utf-8")
    for name, heading in ELSEWHERE.items():
        assert name in PARAMETERS, f"{name} is no Handler parameter now"
        assert f"`{name}`" in section(readme, f"## {heading}"), name


def toml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for found in FENCE.finditer(text):
            if found.group(1) == "toml":
                line = text.count("\n", 0, found.start()) + 1
                blocks.append((f"{page.relative_to(REPO)}:{line}", found.group(2)))
    return blocks


BLOCKS = toml_blocks()


def test_the_readme_has_its_config_example() -> None:
    assert any(where.startswith("README.md:") for where, _ in BLOCKS)


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_a_config_example_loads(
    where: str, block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tomllib.loads(block)
    pyproject = "tool" in data
    table = data["tool"]["wsside"] if pyproject else data
    # The handlers folder it names (or the default, `ws` in the current folder) exists, as
    # `wsside serve` requires.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws").mkdir()
    (tmp_path / table.get("handlers", "ws")).mkdir(parents=True, exist_ok=True)
    config = tmp_path / ("pyproject.toml" if pyproject else "wsside.toml")
    config.write_text(block, encoding="utf-8")
    settings = build_settings({}, config=config, need_handlers=True)
    assert settings.config_file == config, where
    assert settings.config_notes == (), f"{where}: {settings.config_notes}"
