"""Allowed networks of a token: CIDR blocks, IPv4 or IPv6, in their canonical text.

A bare address is one host (/32 or /128); a block with host bits set is refused rather than
masked (the caller meant something else). Standard library only: the authorizer checks a
request's source IP against a token's networks on its API-token path.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_NETWORKS = 20


def parse_network(text: str) -> Network:
    """The network a CIDR block or bare address names; ValueError with the reason otherwise. An
    IPv6 zone (`fe80::1%eth0`) names no network a request comes from: refused."""
    if "%" in text:
        raise ValueError(f"{text!r} has an IPv6 zone; name the network without it")
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        if "has host bits set" in str(error):
            raise ValueError(
                f"{text} has host bits set; did you mean {ipaddress.ip_network(text, strict=False)}?"
            ) from None
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address or CIDR block") from None


def canonical(networks: Iterable[str]) -> tuple[str, ...]:
    """Each block in its canonical text (a bare address gets its /32 or /128)."""
    return tuple(str(parse_network(text)) for text in networks)


def contains_ip(networks: tuple[str, ...], ip: str | None) -> bool:
    """Whether `ip` lies in one of `networks` (canonical blocks, as stored). No IP, or one that
    is not an address, lies in none of them."""
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _parsed(networks))


# The authorizer checks every request of a token against the same blocks: parsed once per
# distinct list, not once per request (the authorizer's warm goal, docs/performance.md).
@functools.lru_cache(maxsize=1024)
def _parsed(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(text) for text in networks)


def is_subset(networks: Iterable[str], of: Iterable[str] | None) -> bool:
    """Whether every block of `networks` lies within a block of `of` (None: anywhere)."""
    if of is None:
        return True
    outer = [ipaddress.ip_network(text) for text in of]
    return all(_within(ipaddress.ip_network(text), outer) for text in networks)


def _within(network: Network, outer: list[Network]) -> bool:
    return any(network.version == block.version and network.subnet_of(block) for block in outer)  # type: ignore[arg-type]
