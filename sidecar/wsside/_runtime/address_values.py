"""The values of the keys that name network addresses: `host` (the addresses `wsside serve`
listens on) and `forwarded_allow_ips` (the proxies whose `X-Forwarded-For` it trusts), as the
config file (`config_keys.py`) and the flags (`config.py`) check them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "FORWARDED_EXPECTED",
    "HOST_EXPECTED",
    "host_problem",
    "hosts_problem",
    "is_host",
    "is_hosts",
    "is_proxies",
    "proxy_entries",
    "proxy_problem",
]


def is_host(v: Any) -> bool:
    """One host name or address to listen on: no blank, comma or space (a name or an IPv4 or
    IPv6 address has none; `WSSIDE_WORKER` joins several with commas)."""
    return isinstance(v, str) and bool(v.strip()) and re.search(r"[\s,]", v) is None


def is_hosts(v: Any) -> bool:
    return is_host(v) or (isinstance(v, (list, tuple)) and bool(v) and all(is_host(h) for h in v))


def hosts_problem(hosts: Iterable[str]) -> tuple[str, str] | None:
    """The first host named twice in `hosts`, and why that is refused; None when each is
    named once."""
    seen: set[str] = set()
    for host in hosts:
        if host in seen:
            return host, "given twice: each address is listened on once"
        seen.add(host)
    return None


HOST_EXPECTED = "a host name or address (a string), or a non-empty list of them"


def host_problem(host: str) -> str | None:
    """What is written wrong in one host to listen on (a URL, a port, brackets), with what
    was likely meant; None when it reads as a name or an address (whether it resolves is
    found when listening)."""
    if "://" in host:
        name = host.split("://", 1)[1].split("/", 1)[0]
        return f"a host, not a URL{_meant(name)}"
    if host.startswith("["):
        return f"an IPv6 address goes without brackets{_meant(host)}"
    if host.count(":") == 1:
        return f"the port is a setting of its own (--port, or port in a config file){_meant(host)}"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", host):  # (`127.1` and `0` are IPv4's own shorthands)
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "not an IPv4 address (four numbers from 0 to 255)"
    return None


def _meant(host: str) -> str:
    """`: did you mean HOST?` for `host` without its port and IPv6 brackets, or the default
    when nothing is left."""
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return f": did you mean {host}?" if host else ": leave the host out (127.0.0.1) or name one"


FORWARDED_EXPECTED = 'an IP address such as 10.0.0.5, a network such as 10.0.0.0/8, or "*" (any)'


def is_proxies(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(p, str) for p in v))


def proxy_entries(value: str | Iterable[str]) -> tuple[str, ...]:
    """The trusted proxies of `forwarded_allow_ips` (or of each `--forwarded-allow-ips`), one
    entry each: a string is split at its commas, as uvicorn's `--forwarded-allow-ips
    127.0.0.1,10.0.0.0/8` is. A blank entry is kept, for `proxy_problem` to refuse."""
    values = (value,) if isinstance(value, str) else value
    return tuple(entry.strip() for v in values for entry in v.split(","))


def proxy_problem(entry: str) -> str | None:
    """What is wrong with one trusted proxy (an IP address, a network, or `*`), or None."""
    if entry == "*":
        return None
    try:
        if "/" in entry:
            ipaddress.ip_network(entry)
        else:
            ipaddress.ip_address(entry)
    except ValueError:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"expected {FORWARDED_EXPECTED}"
        return f"a network has no host bits set: did you mean {network}?"
    return None
