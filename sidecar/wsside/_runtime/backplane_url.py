"""Whether a backplane URL can be used, checked without importing redis-py or connecting.

The config file's `backplane` key, `wsside serve --backplane` and `backplane_from_url` all ask
here, so a bad URL is named the same way wherever it was given.
"""

from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

__all__ = ["BackplaneError", "check_backplane", "url_problem"]


class BackplaneError(ValueError):
    """A backplane that cannot be used: a bad URL, or redis-py missing."""


def url_problem(url: str) -> str | None:
    """What is wrong with a backplane URL (a sentence), or None when it can be used."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: it raises when it is not a number
    except ValueError as exc:
        return f"cannot read {url!r} as a URL ({exc})"
    if parts.scheme not in ("redis", "rediss"):
        return f"expected a redis:// or rediss:// URL such as redis://localhost:6379/0, got {url!r}"
    if not parts.hostname:
        return f"no host in {url!r}; expected redis://[user:password@]host:port/db"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"the database in {url!r} is {db!r}; expected a number such as /0"
    return None


def check_backplane(url: str) -> None:
    """Raise `BackplaneError` (one sentence a user can act on) when `url` is not a usable
    Redis URL or redis-py is not installed; imports nothing."""
    problem = url_problem(url)
    if problem is not None:
        raise BackplaneError(f"backplane: {problem}")
    if importlib.util.find_spec("redis") is None:
        raise BackplaneError(
            "backplane: a redis:// backplane needs redis-py: pip install 'wsside[redis]'"
        )
