"""The host policy: an artifact is never fetched from an address inside the cluster or the node unless allowed.

Anyone who may create an Artifact chooses the URL the operator fetches, from inside the cluster, with the
operator's network position: a URL on a loopback, link-local (169.254.169.254, the cloud metadata service) or
private address could read what only the cluster should reach. Such hosts are refused unless the operator's
FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS names them (an in-cluster MinIO or Nexus is a real case).

The check is made where the address is known: for a host name, in the resolver the HTTP connector uses (so the
address checked is the address connected to: a name cannot resolve to a public address for the check and to a
private one for the connection); for an address written in the URL, before each request, redirects included.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HostRefusedError(OSError):
    """Raised inside the HTTP connector (which passes OSErrors on); carries the policy's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def address_kind(address: IPAddress) -> str | None:
    """What makes an address one the operator does not fetch from unless allowed (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class HostPolicy:
    """Which non-public hosts are allowed: exact names, `.suffix`es, addresses and networks, or everything."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()
    allow_all: bool = False

    @classmethod
    def from_setting(cls, entries: Iterable[str]) -> HostPolicy:
        """Parse FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS entries; ValueError names an entry that is none."""
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        allow_all = False
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if entry == "*":
                allow_all = True
            elif entry.startswith("."):
                suffixes.append(entry)
            else:
                try:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError:
                    if not all(part and part.replace("-", "").isalnum() for part in entry.split(".")):
                        raise ValueError(f"{raw!r} is neither a host name, an address, a network nor .suffix") from None
                    names.add(entry)
        return cls(frozenset(names), tuple(suffixes), tuple(networks), allow_all)

    def name_allowed(self, host: str) -> bool:
        """True when the host name is allowed whatever it resolves to."""
        host = host.lower().rstrip(".")
        return self.allow_all or host in self.names or any(host.endswith(s) for s in self.suffixes)

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why `host`, which is or resolves to `address`, is refused (None: allowed)."""
        kind = address_kind(address)
        if (
            kind is None
            or self.name_allowed(host)
            or any(address in net for net in self.networks if net.version == address.version)
        ):
            return None
        shown = host if host == str(address) else f"{host} ({address})"
        return (
            f"host {shown} is a {kind} address, refused unless the operator allows it in "
            f"FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS"
        )

    def check_literal(self, host: str) -> None:
        """Refuse a URL host written as an address (a name is checked when it is resolved)."""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        refusal = self.refusal(host, address)
        if refusal is not None:
            raise HostRefusedError(refusal)


class PolicyResolver(AbstractResolver):
    """aiohttp's threaded resolver, refusing a host when any address it resolves to is refused by the policy."""

    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy
        self._resolver = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            refusal = self._policy.refusal(host.rstrip("."), ipaddress.ip_address(result["host"].split("%")[0]))
            if refusal is not None:
                raise HostRefusedError(refusal)
        return results

    async def close(self) -> None:
        await self._resolver.close()
