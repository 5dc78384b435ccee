"""Print wsside's requirements from pyproject.toml, one per line, for pip's `-r`.

`make test-versions` installs them into its three venvs at once, then wsside itself into
each one after another (an editable install writes the source's egg-info, which two at a
time could tear). Usage: `python tests/project_requirements.py [EXTRA ...] [--from EXTRA NAME ...]`:
the runtime requirements, every requirement of each EXTRA, and the ones NAMEd of the extra
after `--from` (the core suite's test runner and plugins, not the test extra's browser, linters
and ASGI servers).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the Makefile runs this with .venv's Python, 3.11 or newer
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def name_of(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    return match.group(0).lower() if match else requirement


def requirements(extras: list[str], picked_from: str | None, picked: set[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    optional: dict[str, list[str]] = project["optional-dependencies"]
    for extra in [*extras, *([picked_from] if picked_from else [])]:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml: no extra named {extra!r}")
    listed: list[str] = list(project["dependencies"])
    for extra in extras:
        listed += optional[extra]
    if picked_from:
        chosen = [r for r in optional[picked_from] if name_of(r) in picked]
        missing = picked - {name_of(r) for r in chosen}
        if missing:
            raise SystemExit(f"pyproject.toml: the extra {picked_from!r} has no {sorted(missing)}")
        listed += chosen
    return list(dict.fromkeys(listed))


def main(argv: list[str]) -> None:
    extras, picked_from, picked = argv, None, set[str]()
    if "--from" in argv:
        at = argv.index("--from")
        extras, picked_from = argv[:at], argv[at + 1]
        picked = {name.lower() for name in argv[at + 2 :]}
    print("\n".join(requirements(extras, picked_from, picked)))


if __name__ == "__main__":
    main(sys.argv[1:])
