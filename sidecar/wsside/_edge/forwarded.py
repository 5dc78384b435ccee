"""`wsside serve --forwarded-allow-ips`: the client's address behind a reverse proxy it trusts.

When the TCP peer is one of the trusted proxies, the client is read from `X-Forwarded-For` as
uvicorn reads it: each proxy appends the address it saw, so the entries are read from the
right, past the trusted ones, and the first one that is not trusted is the client (the
leftmost when all are: the client was a trusted proxy itself). Entries to the left of it are
the client's own word and are never read. Its port is unknown. A header that is not a list
of addresses where it is read (`unknown`, a name, an empty entry) is not used: the client is
the peer, as without the option. `X-Forwarded-Proto` and `Forwarded` are not read.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

__all__ = ["TrustedProxies"]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_PORT = re.compile(r":[0-9]{1,5}")


class TrustedProxies:
    """The proxies of `Settings.forwarded_allow_ips` (entries checked by the config already:
    IP addresses, networks, `*` for any)."""

    __slots__ = ("_addresses", "_any", "_networks")

    def __init__(self, entries: Iterable[str]) -> None:
        self._any = False
        self._addresses: set[_Address] = set()
        self._networks: list[_Network] = []
        for entry in entries:
            if entry == "*":
                self._any = True
            elif "/" in entry:
                self._networks.append(ipaddress.ip_network(entry))
            else:
                self._addresses.add(ipaddress.ip_address(entry))

    def trusts(self, address: _Address) -> bool:
        return (
            self._any
            or address in self._addresses
            or any(address in network for network in self._networks)
        )

    def client(self, peer: str | None, forwarded_for: Sequence[str]) -> str | None:
        """The client's address (without a port) when `peer`, the TCP peer's address, is a
        trusted proxy and `forwarded_for` (the values of the request's `X-Forwarded-For`
        fields, in order) names it; None when the peer is the client."""
        if not peer or not forwarded_for:
            return None
        peer_address = _address(peer)
        if peer_address is None or not self.trusts(peer_address):
            return None
        # Several fields are one list, as RFC 9110 joins them.
        hops = ",".join(forwarded_for).split(",")
        client = None
        for hop in reversed(hops):
            client = _address(hop)
            if client is None:
                return None  # not an address where it is read: the peer, as without the option
            if not self.trusts(client):
                break
        return None if client is None else str(client)


def _address(hop: str) -> _Address | None:
    """The IP address of one entry of `X-Forwarded-For`, with or without a port (`1.2.3.4`,
    `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:5678`); None when it is
    none."""
    hop = hop.strip(" \t")
    if hop.startswith("["):
        host, bracket, port = hop[1:].partition("]")
        if not bracket or (port and _PORT.fullmatch(port) is None):
            return None
        hop = host
    elif hop.count(":") == 1:
        hop, port = hop.split(":")
        if _PORT.fullmatch(":" + port) is None:
            return None
    try:
        return ipaddress.ip_address(hop)
    except ValueError:
        return None
