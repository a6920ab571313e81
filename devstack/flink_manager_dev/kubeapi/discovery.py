"""Legacy discovery documents (`/api`, `/apis`, group and group-version resource lists) and `/version`."""

from __future__ import annotations

from typing import Any

from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi.registry import Registry

SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"], "finalize": ["update"]}

SERVER_VERSION = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.2-flink-manager-embedded",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{name}/{versions[0]}", "version": versions[0]},
    }


def api_group_list(registry: Registry) -> dict[str, Any]:
    """`/apis`."""
    groups = registry.groups()
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(g, v) for g, v in sorted(groups.items()) if g],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    """`/apis/<group>`."""
    versions = registry.groups().get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    """The APIResource entries of one resource and its subresources."""
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": sorted(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    for sub in sorted(rt.subresources):
        sub_entry: dict[str, Any] = {
            "name": f"{rt.plural}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": "Scale" if sub == "scale" else rt.kind,
            "verbs": SUBRESOURCE_VERBS.get(sub, ["get"]),
        }
        if sub == "scale":
            sub_entry["group"], sub_entry["version"] = "autoscaling", "v1"
        entries.append(sub_entry)
    return entries


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """`/api/v1` or `/apis/<group>/<version>`."""
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in sorted(types, key=lambda t: t.plural):
        resources += resource_entries(rt)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
CUSTOM_RESOURCE_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


def wants_aggregated(accept: str) -> bool:
    """Whether the client asked for aggregated discovery (v2) before plain JSON."""
    for option in accept.split(","):
        params = {p.strip() for p in option.split(";")[1:]}
        if {"g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"} <= params:
            return True
        if option.strip().split(";")[0].strip() == "application/json" and not params:
            return False
    return False


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    kind = (
        {"group": rt.group, "version": rt.version, "kind": rt.kind}
        if rt.custom
        else {"group": "", "version": "", "kind": rt.kind}
    )
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": kind,
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(CUSTOM_RESOURCE_VERBS) if rt.custom else sorted(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [
            {
                "subresource": sub,
                "responseKind": (
                    {"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else kind
                ),
                "verbs": SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
            for sub in sorted(rt.subresources)
        ]
    return entry


def aggregated(registry: Registry, core: bool) -> dict[str, Any]:
    """`/api` or `/apis` as an `apidiscovery.k8s.io/v2` APIGroupDiscoveryList."""
    items = []
    groups = registry.groups()
    names = [""] if core else [g for g in groups if g]
    for group in names:
        versions = []
        for version in groups.get(group, []):
            resources = sorted(registry.in_group_version(group, version), key=lambda t: t.plural)
            versions.append(
                {
                    "version": version,
                    "resources": [_aggregated_resource(rt) for rt in resources],
                    "freshness": "Current",
                }
            )
        items.append({"metadata": {"name": group} if group else {}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
