"""Whether a backplane URL can be used, checked without connecting; and the URL as log lines
show it (`safe_url`: no password) and as a refused one should read (`no_password`,
`wrong_password`).

The config file's `backplane` key, `wsside serve --backplane` and `backplane_from_url` all ask
here, so a bad URL is named the same way wherever it was given. `url_problem` imports nothing;
`check_backplane` also lets redis-py read the URL's `?options` (passed on to its connection)
and looks for the files they name, so a mistake there stops the start instead of failing each
connection attempt.

Three schemes, redis-py's own: `redis://host:port/db`, `rediss://` (TLS) and
`unix:///path/redis.sock?db=N` (a Unix socket: the database is the `?db=` option).
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, quote, unquote, unquote_plus, urlsplit

__all__ = [
    "CHANNEL_OPTION",
    "NO_PASSWORD",
    "WRONG_PASSWORD",
    "BackplaneError",
    "RedisMissing",
    "channel_name",
    "check_backplane",
    "database",
    "for_redis",
    "from_folder",
    "no_password",
    "options_problem",
    "safe_url",
    "url_problem",
    "user_name",
    "wrong_password",
]

# The query option that names the application on a shared Redis (`?channel=shop`): wsside's
# own, taken out of the URL before redis-py reads it (`for_redis`).
CHANNEL_OPTION = "channel"
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9._-]+")


# What a Redis that asks for a password, refusing a URL that has none, means: redis-py's own
# words are about HELLO and AUTH (on redis-py 8). The outage line and `wsside doctor --serve`
# say this instead; `no_password` adds where the password goes.
NO_PASSWORD = "Redis asks for a password, and the URL has none"
# What to do about a password Redis refuses (the outage line and doctor say it:
# `wrong_password`).
WRONG_PASSWORD = "correct the password in the URL"
# What a URL is, in the line that refuses one of no scheme wsside reads.
EXPECTED = (
    "expected a redis://, rediss:// or unix:// URL such as redis://localhost:6379/0 or "
    "unix:///run/redis/redis.sock?db=0"
)
# What a user name or password holding these must write instead (Python's URL parser reads
# them as the URL's own parts, and `%41` as `A`).
ENCODE = (
    "a password (or user name) holding /, ?, #, @, : or % is written percent-encoded "
    "(%2F, %3F, %23, %40, %3A, %25)"
)


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
            return f"cannot read {shown!r} as a URL: {ENCODE}"
        return f"cannot read {shown!r} as a URL ({exc})"
    if _cut_userinfo(url):
        # The parts Python found hold pieces of the password: quote none of them.
        return f"cannot read {shown!r} as a URL: {ENCODE}"
    scheme = parts.scheme.lower()
    if scheme in ("redis+unix", "redis+socket", "socket"):  # other libraries' names for it
        return f"{scheme}:// is not a scheme redis-py reads: write unix:///path/redis.sock?db=0"
    if scheme not in ("redis", "rediss", "unix"):
        return f"{EXPECTED}, got {shown!r}"
    if scheme == "unix":
        if parts.hostname or parts.port is not None or not parts.path.strip("/"):
            return (
                f"expected the socket's path after unix:// in {shown!r}, such as "
                "unix:///run/redis/redis.sock?db=0 (three slashes: no host)"
            )
    elif not parts.hostname:
        return f"no host in {shown!r}; expected redis://[user:password@]host:port/db"
    db = parts.path.strip("/")
    if scheme != "unix" and db and not db.isdigit():
        return f"the database in {shown!r} is {db!r}; expected a number such as /0"
    options = parse_qs(parts.query, keep_blank_values=True)
    if any(not number.isdigit() for number in options.get("db", [])):
        return f"the ?db= in {shown!r} is {options['db'][0]!r}; expected a number such as ?db=0"
    names = options.get(CHANNEL_OPTION, [])
    if len(names) > 1:
        return f"{CHANNEL_OPTION} is given {len(names)} times in {shown!r}; give it once"
    if names and not _CHANNEL_NAME.fullmatch(names[0]):
        return (
            f"the {CHANNEL_OPTION} in {shown!r} is {names[0]!r}; expected letters, digits, "
            "'.', '_' or '-', such as ?channel=shop"
        )
    return None


def _cut_userinfo(url: str) -> bool:
    """Whether an `@` stands where no part of a URL has one: in the path or the fragment
    (`redis://u:p@ss/w#1@host/0`, a password with an unencoded `/` and `#`), or in an option's
    name. Python then took a piece of the password for the host, the database or an option.
    (An option's value may hold one, `?ssl_ca_certs=/etc/a@b/ca.pem`, and so may a socket's
    path, where only `@/` ends a password: `unix://:p/w@/run/redis.sock`.)"""
    parts = urlsplit(url)
    unix = parts.scheme.lower() == "unix"
    if ("@/" if unix else "@") in parts.path or "@" in parts.fragment:
        return True
    return any("@" in option.partition("=")[0] for option in parts.query.split("&"))


def database(url: str) -> str:
    """The database number redis-py selects for a URL that `url_problem` accepts: its `?db=`,
    else the path's (`redis://host/3`; a `unix://` path is the socket's), else 0."""
    parts = urlsplit(url)
    given = parse_qs(parts.query).get("db")
    if given:
        return str(int(given[0]))
    path = "" if parts.scheme.lower() == "unix" else parts.path.strip("/")
    return str(int(path)) if path else "0"


def user_name(url: str) -> str | None:
    """The Redis user a URL logs in as (`redis://user:pw@` or `?username=`), or None: then
    Redis's `default` user."""
    parts = urlsplit(url)
    if parts.username:
        return unquote(parts.username)
    given = parse_qs(parts.query).get("username")
    return given[0] if given else None


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
    return _joined(parts._replace(query="&".join(kept)))


def _joined(parts: SplitResult) -> str:
    """`parts` as a URL; unlike `geturl()`, keeps the `//` of `unix:///path` (no host)."""
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{query}{fragment}"


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
    example = _joined(parts._replace(netloc=f"{user}:PASSWORD@{parts.netloc.rpartition('@')[2]}"))
    if not served:
        return f"{NO_PASSWORD}: {example}"
    return (
        f"{NO_PASSWORD}: {example}, in "
        "wsside.toml rather than on the command line, which every local user can read"
    )


def wrong_password(url: str) -> str:
    """What to do about a password Redis refuses: correct it; and for a URL without a user
    name, which logs in as Redis's `default` user, name the ACL user the password is of."""
    if user_name(url) is not None:
        return WRONG_PASSWORD
    parts = urlsplit(url)
    # Built from the address and path only: the query may hold `?password=`.
    at = f"{parts.scheme}://USER:PASSWORD@{parts.netloc.rpartition('@')[2]}{parts.path}"
    return f"{WRONG_PASSWORD}; for an ACL user, name it too: {at}"


# redis-py's options that name a file (`ssl_ca_path`: a folder), which it opens at each
# connection: one that is missing would be an outage that never ends.
_FILE_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_FOLDER_OPTIONS = ("ssl_ca_path",)


def from_folder(url: str, folder: Path) -> str:
    """`url` with the relative paths its options name (`?ssl_ca_certs=tls/ca.pem`) taken from
    `folder`: the config file's, as its other paths are, not the folder wsside runs in."""
    parts = urlsplit(url)
    options = []
    for option in parts.query.split("&") if parts.query else []:
        key, _, value = option.partition("=")
        path = unquote_plus(value)
        named = unquote_plus(key) in (*_FILE_OPTIONS, *_FOLDER_OPTIONS)
        if named and path and not os.path.isabs(path):
            option = f"{key}={quote(str((folder / path).absolute()), safe='/')}"
        options.append(option)
    return _joined(parts._replace(query="&".join(options))) if options else url


def _files_problem(options: dict[str, list[str]]) -> str | None:
    """A file (or folder) an option names that redis-py could not open."""
    for key in (*_FILE_OPTIONS, *_FOLDER_OPTIONS):
        if key not in options:
            continue
        given = options[key][0]  # redis-py takes the first
        path = Path(given)
        named = f"{key} in the URL names {given}" + (
            "" if path.is_absolute() else f" ({path.absolute()})"
        )
        folder = key in _FOLDER_OPTIONS
        if not path.exists():
            return f"{named}, which does not exist"
        if folder != path.is_dir():
            expected = "a folder of CA certificates" if folder else "a file"
            return f"{named}, which is not {expected}"
        if not os.access(path, os.R_OK | (os.X_OK if folder else 0)):
            return f"{named}, which this user ({_me()}) may not read"
    return None


def _me() -> str:
    """Who runs this process (a service's user is often not the one who wrote the file)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # Windows, or a uid without a name (a container's)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "this user"


def check_backplane(url: object) -> None:
    """Raise `BackplaneError` (one sentence a user can act on) when `url` is not a usable
    Redis URL or redis-py is not installed; imports redis-py only for a URL with `?options`."""
    if not isinstance(url, str):  # `Publisher(settings.BACKPLANE)` with the setting unset
        unset = " (a setting or environment variable that is not set?)" if url is None else ""
        raise BackplaneError(f"backplane: {EXPECTED}, got {url!r}{unset}")
    problem = url_problem(url)
    if problem is not None:
        raise BackplaneError(f"backplane: {problem}")
    if importlib.util.find_spec("redis") is None:
        from .._install import pip_install, wsside_requirement

        install = pip_install(sys.executable, wsside_requirement("redis"))
        raise RedisMissing(f"backplane: a redis:// backplane needs redis-py: {install}")
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

    tls = parts.scheme.lower() != "rediss" and any(key.startswith("ssl") for key in options)
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
    return _files_problem(options)


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
