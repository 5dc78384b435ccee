"""Whether a backplane URL can be used, checked without connecting; and the URL as log lines
show it (`safe_url`: no password) and as a refused one should read (`no_password`).

The config file's `backplane` key, `wsside serve --backplane` and `backplane_from_url` all ask
here, so a bad URL is named the same way wherever it was given. `url_problem` imports nothing;
`check_backplane` also lets redis-py read the URL's `?options` (passed on to its connection),
so a mistake there stops the start instead of failing each connection attempt.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import re
from urllib.parse import parse_qs, unquote_plus, urlsplit

__all__ = [
    "CHANNEL_OPTION",
    "NO_PASSWORD",
    "WRONG_PASSWORD",
    "BackplaneError",
    "RedisMissing",
    "channel_name",
    "check_backplane",
    "for_redis",
    "no_password",
    "options_problem",
    "safe_url",
    "url_problem",
]

# The query option that names the application on a shared Redis (`?channel=shop`): wsside's
# own, taken out of the URL before redis-py reads it (`for_redis`).
CHANNEL_OPTION = "channel"
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9._-]+")


# What a Redis that asks for a password, refusing a URL that has none, means: redis-py's own
# words are about HELLO and AUTH (on redis-py 8). The outage line and `wsside doctor --serve`
# say this instead; `no_password` adds where the password goes.
NO_PASSWORD = "Redis asks for a password, and the URL has none"
# What to do about a password Redis refuses (the outage line and doctor say it).
WRONG_PASSWORD = "correct the password in the URL"


class BackplaneError(ValueError):
    """A backplane that cannot be used: a bad URL, or redis-py missing."""


class RedisMissing(BackplaneError):
    """redis-py is not installed: the URL may be right, the Python lacks the extra."""


def url_problem(url: str) -> str | None:
    """What is wrong with a backplane URL (a sentence, quoting it without its password), or
    None when it can be used."""
    shown = safe_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: it raises when it is not a number
    except ValueError as exc:
        if "@" in url:  # Python's words may quote a piece of the password
            return (
                f"cannot read {shown!r} as a URL: a password (or user name) holding /, ?, #, @ "
                "or : is written percent-encoded (%2F, %3F, %23, %40, %3A)"
            )
        return f"cannot read {shown!r} as a URL ({exc})"
    if parts.scheme not in ("redis", "rediss"):
        return (
            f"expected a redis:// or rediss:// URL such as redis://localhost:6379/0, got {shown!r}"
        )
    if not parts.hostname:
        return f"no host in {shown!r}; expected redis://[user:password@]host:port/db"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"the database in {shown!r} is {db!r}; expected a number such as /0"
    names = parse_qs(parts.query, keep_blank_values=True).get(CHANNEL_OPTION, [])
    if len(names) > 1:
        return f"{CHANNEL_OPTION} is given {len(names)} times in {shown!r}; give it once"
    if names and not _CHANNEL_NAME.fullmatch(names[0]):
        return (
            f"the {CHANNEL_OPTION} in {shown!r} is {names[0]!r}; expected letters, digits, "
            "'.', '_' or '-', such as ?channel=shop"
        )
    return None


def channel_name(url: str) -> str | None:
    """The `?channel=` of a URL that `url_problem` accepts, or None when it has none."""
    names = parse_qs(urlsplit(url).query).get(CHANNEL_OPTION)
    return names[0] if names else None


def for_redis(url: str) -> str:
    """The URL as redis-py should read it: without wsside's own `?channel=` (the other options
    kept as written)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [
        option
        for option in parts.query.split("&")
        if unquote_plus(option.partition("=")[0]) != CHANNEL_OPTION
    ]
    return parts._replace(query="&".join(kept)).geturl()


def safe_url(url: str) -> str:
    """The URL without its password, for log lines and errors: the address's
    (`redis://user:***@host`) and redis-py's `?password=` option. Read as text, not parsed,
    so that a URL too broken to parse is masked too: a password with an unencoded `/`, `?`,
    `#` or `@` in it (which the URL must encode) ends at the last `@`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _PASSWORD_OPTION.sub(r"\1***", url)
    userinfo, at, after = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.partition(':')[0]}:***@{after}"
    return f"{scheme}://" + _PASSWORD_OPTION.sub(r"\1***", rest)


# redis-py's query options that carry a secret (`?password=...`), and what follows up to the
# next option.
_PASSWORD_OPTION = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def no_password(url: str, served: bool = True) -> str | None:
    """For a Redis that refused `url` for want of a password: where the password goes (a
    sentence), or None when the URL has one (a wrong one: Redis's own words say so). `served`:
    the URL is `wsside serve`'s, whose config file is the place for it."""
    parts = urlsplit(url)
    if parts.password is not None or _PASSWORD_OPTION.search(parts.query and "?" + parts.query):
        return None
    user = parts.username or ""
    example = parts._replace(netloc=f"{user}:PASSWORD@{parts.netloc.rpartition('@')[2]}")
    if not served:
        return f"{NO_PASSWORD}: {example.geturl()}"
    return (
        f"{NO_PASSWORD}: {example.geturl()}, in "
        "wsside.toml rather than on the command line, which every local user can read"
    )


def check_backplane(url: object) -> None:
    """Raise `BackplaneError` (one sentence a user can act on) when `url` is not a usable
    Redis URL or redis-py is not installed; imports redis-py only for a URL with `?options`."""
    if not isinstance(url, str):  # `Publisher(settings.BACKPLANE)` with the setting unset
        unset = " (a setting or environment variable that is not set?)" if url is None else ""
        raise BackplaneError(
            "backplane: expected a redis:// or rediss:// URL such as redis://localhost:6379/0, "
            f"got {url!r}{unset}"
        )
    problem = url_problem(url)
    if problem is not None:
        raise BackplaneError(f"backplane: {problem}")
    if importlib.util.find_spec("redis") is None:
        raise RedisMissing(
            "backplane: a redis:// backplane needs redis-py: pip install 'wsside[redis]'"
        )
    problem = options_problem(url)
    if problem is not None:
        raise BackplaneError(f"backplane: {problem}")


def options_problem(url: str) -> str | None:
    """What redis-py refuses in the URL's query string (`?ssl_cert_reqs=none`...), which it
    would otherwise raise at each connection attempt; None when there is nothing to refuse
    (or no redis-py to ask: `check_backplane` says that)."""
    url = for_redis(url)
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    if not options or importlib.util.find_spec("redis") is None:
        return None
    if "decode_responses" in options:
        return "decode_responses in the URL: wsside reads the backplane's messages as bytes"
    from redis.asyncio import ConnectionPool
    from redis.exceptions import RedisError

    tls = parts.scheme == "redis" and any(key.startswith("ssl") for key in options)
    refused = "redis-py refuses the URL's options ({}){}".format
    hint = "; TLS options need a rediss:// URL" if tls else ""
    try:
        pool = ConnectionPool.from_url(url)
    except (ValueError, TypeError, RedisError) as exc:
        return refused(exc, hint)
    try:
        pool.connection_class(**pool.connection_kwargs)  # checks its options; connects later
    except (ValueError, TypeError, RedisError) as exc:
        unknown = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
        if unknown is not None and not tls:
            return _unknown_option(unknown[1], pool.connection_class)
        return refused(exc, hint)
    return None


def _unknown_option(name: str, connection: type) -> str:
    """A query option neither wsside nor redis-py's connections take, with the one meant."""
    taken = {CHANNEL_OPTION}
    for cls in connection.__mro__:  # each class takes its own and passes the rest on
        if "__init__" in vars(cls):
            taken.update(inspect.signature(vars(cls)["__init__"]).parameters)
    meant = difflib.get_close_matches(name, sorted(taken - {"self", "args", "kwargs"}), n=1)
    return f"unknown option {name!r} in the URL" + (
        f": did you mean {meant[0]!r}?" if meant else ""
    )
