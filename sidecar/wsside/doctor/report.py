"""Showing the results: a table for people, JSON for tools."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from .model import Check, worst

__all__ = ["as_json", "print_table", "summary"]

_STYLE = {"pass": ("✓ pass", "green"), "warn": ("! warn", "yellow"), "fail": ("✗ fail", "red")}


def summary(results: Sequence[Check]) -> str:
    counts = Counter(r.status for r in results)
    return f"{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} failed"


def as_json(results: Sequence[Check], root: Path) -> str:
    """`{"ok", "status", "root", "wsside", "summary", "checks": [{name, status, message, fix}]}`;
    `ok` is false exactly when the exit code is 1."""
    data: dict[str, Any] = {
        "ok": worst(results) != "fail",
        "status": worst(results),
        "root": str(root),
        "wsside": __version__,
        "summary": summary(results),
        "checks": [r.as_dict() for r in results],
    }
    return json.dumps(data, indent=2)


def print_table(results: Sequence[Check], root: Path, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"wsside doctor: {root}", title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("finding / fix", overflow="fold")
    for r in results:
        label, style = _STYLE[r.status]
        # Text, not markup: messages quote user files and TOML tables like [tool.wsside].
        cell = Text(r.message)
        if r.fix:
            cell.append("\n→ " + r.fix, style=style)
        table.add_row(Text(label, style=style), Text(r.name), cell)
    console.print(table)
    label, style = _STYLE[worst(results)]
    console.print(Text(summary(results), style=style))
