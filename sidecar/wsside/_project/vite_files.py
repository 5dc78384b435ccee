"""Which file is a project's Vite config."""

from __future__ import annotations

from pathlib import Path

__all__ = ["VITE_CONFIG_NAMES", "find_vite_config"]

VITE_CONFIG_NAMES = tuple(f"vite.config.{ext}" for ext in ("js", "mjs", "ts", "cjs", "mts", "cts"))


def find_vite_config(root: Path) -> Path | None:
    """The Vite config file in `root`, if there is one."""
    return next((root / n for n in VITE_CONFIG_NAMES if (root / n).is_file()), None)
