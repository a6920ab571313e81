"""The host policy: which addresses are refused, what the allowance lets through, and that the resolver the HTTP
connector uses applies it to the addresses a name resolves to."""

from __future__ import annotations

import ipaddress

import pytest

from flink_manager.artifacts.hosts import HostPolicy, HostRefusedError, PolicyResolver, address_kind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        pytest.param("127.0.0.1", "loopback", id="loopback"),
        pytest.param("127.8.9.10", "loopback", id="loopback-range"),
        pytest.param("::1", "loopback", id="loopback-v6"),
        pytest.param("169.254.169.254", "link-local", id="cloud-metadata"),
        pytest.param("fe80::1", "link-local", id="link-local-v6"),
        pytest.param("10.1.2.3", "private", id="rfc1918-10"),
        pytest.param("172.16.0.9", "private", id="rfc1918-172"),
        pytest.param("192.168.1.1", "private", id="rfc1918-192"),
        pytest.param("fd00::1", "private", id="unique-local-v6"),
        pytest.param("::ffff:10.0.0.1", "private", id="v4-mapped-private"),
        pytest.param("::ffff:127.0.0.1", "loopback", id="v4-mapped-loopback"),
        pytest.param("0.0.0.0", "unspecified", id="unspecified"),
        pytest.param("100.64.0.1", "non-public", id="carrier-grade-nat"),
        pytest.param("224.0.0.1", "multicast", id="multicast"),
        pytest.param("93.184.215.14", None, id="public"),
        pytest.param("2606:4700::1111", None, id="public-v6"),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("allowance", "host", "address", "allowed"),
    [
        pytest.param((), "repo.example.com", "93.184.215.14", True, id="public-always"),
        pytest.param((), "localhost", "127.0.0.1", False, id="loopback-refused"),
        pytest.param((), "metadata.google.internal", "169.254.169.254", False, id="metadata-refused"),
        pytest.param(
            ("minio.storage.svc.cluster.local",),
            "minio.storage.svc.cluster.local",
            "10.96.0.12",
            True,
            id="name-allowed",
        ),
        pytest.param(
            ("minio.storage.svc.cluster.local",),
            "MinIO.storage.svc.cluster.local.",
            "10.96.0.12",
            True,
            id="name-allowed-case-and-dot",
        ),
        pytest.param(
            ("minio.storage.svc.cluster.local",),
            "nexus.storage.svc.cluster.local",
            "10.96.0.13",
            False,
            id="other-name-refused",
        ),
        pytest.param((".svc.cluster.local",), "nexus.tools.svc.cluster.local", "10.96.0.13", True, id="suffix"),
        pytest.param(
            (".svc.cluster.local",), "evil-svc.cluster.local", "10.96.0.13", False, id="suffix-is-not-a-substring"
        ),
        pytest.param(("10.96.0.0/12",), "nexus.tools.svc.cluster.local", "10.96.0.13", True, id="network"),
        pytest.param(("10.96.0.0/12",), "db.internal", "10.0.0.5", False, id="outside-network"),
        pytest.param(("10.96.0.0/12",), "x", "169.254.169.254", False, id="network-does-not-allow-metadata"),
        pytest.param(("127.0.0.1",), "127.0.0.1", "127.0.0.1", True, id="address"),
        pytest.param(("127.0.0.1",), "127.0.0.2", "127.0.0.2", False, id="other-address"),
        pytest.param(("::1",), "localhost", "::1", True, id="v6-address"),
        pytest.param(("*",), "anything", "169.254.169.254", True, id="everything"),
    ],
)
def test_policy(allowance: tuple[str, ...], host: str, address: str, allowed: bool) -> None:
    refusal = HostPolicy.from_setting(allowance).refusal(host, ipaddress.ip_address(address))
    assert (refusal is None) is allowed
    if refusal is not None:
        assert address in refusal and "FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS" in refusal


@pytest.mark.parametrize("entry", ["not a host", "under_score.example", "10.0.0.0/33", "a..b"])
def test_an_entry_that_is_no_host_name_address_or_network_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a host name"):
        HostPolicy.from_setting([entry])


def test_an_address_written_in_the_url_is_checked_without_resolving() -> None:
    policy = HostPolicy()
    with pytest.raises(HostRefusedError, match="link-local"):
        policy.check_literal("169.254.169.254")
    with pytest.raises(HostRefusedError, match="loopback"):
        policy.check_literal("[::1]")
    policy.check_literal("repo.example.com")  # a name: checked when resolved
    policy.check_literal("93.184.215.14")


async def test_the_resolver_refuses_a_name_that_resolves_to_a_refused_address() -> None:
    resolver = PolicyResolver(HostPolicy())
    try:
        with pytest.raises(HostRefusedError, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback address"):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()


async def test_the_resolver_passes_a_name_the_policy_allows() -> None:
    resolver = PolicyResolver(HostPolicy.from_setting(["localhost"]))
    try:
        results = await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()
    assert {ipaddress.ip_address(r["host"]).is_loopback for r in results} == {True}
