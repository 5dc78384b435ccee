"""The `wsside` command line: `serve`, `doctor`, `init`, `version`.

Each command lives in its own module; `doctor` loads its checks only when it runs, so a
sidecar started by the shim (`wsside serve --ipc`) never imports them.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    from . import doctor, init, serve  # noqa: F401 - each registers its command on `app`
    from .app import app

    app()
