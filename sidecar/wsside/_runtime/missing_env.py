"""A handler file that reads a variable the process's environment lacks
(`SECRET = os.environ["SESSION_SECRET"]`): Python's error is the bare `KeyError:
'SESSION_SECRET'`. Under Vite the usual cause is a `.env` file, which Vite reads for the
page (`import.meta.env`), and SvelteKit or Nuxt for their own server, but which never
reaches the Python process: the plugin's `env` option does.
"""

from __future__ import annotations

import os

__all__ = ["NOT_IN_ENVIRONMENT", "missing_env_hint"]

# How the hint starts; `wsside.testing` finds it to add what a test does instead.
NOT_IN_ENVIRONMENT = "not in this process's environment"


# `os.environ[name]`'s code (os is a frozen module: its frames' file is `<frozen os>`).
_LOOKUP = type(os.environ).__getitem__.__code__


def missing_env_hint(exc: BaseException) -> str | None:
    """For a `KeyError` raised by `os.environ[name]` (its innermost frame is the mapping's
    lookup) for a name not in the environment: what to do; else None."""
    if type(exc) is not KeyError or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return None
    name = exc.args[0]
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code is not _LOOKUP or name in os.environ:
        return None
    return (
        f"{NOT_IN_ENVIRONMENT}: under Vite, pass it with the plugin's env option "
        '(Vite reads a .env file for the page, not for Python: README "Secrets in .env"); '
        "for wsside serve, wsside types or uvicorn, set it where they run"
    )
