"""The resource types the server knows: built-in kinds and the kinds CRDs register."""

from __future__ import annotations

from flink_manager.schema.resources import ResourceType


class Registry:
    """Lookup of served resource types by (group, version, plural) and by kind."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._group_versions: dict[str, list[str]] = {}  # group → versions, preferred first

    def add(self, rt: ResourceType) -> None:
        """Serve a resource type (replacing one with the same group/version/plural)."""
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
        versions = self._group_versions.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
            versions.sort(key=version_priority)

    def remove_crd(self, crd_name: str) -> None:
        """Stop serving every version a CRD registered."""
        for key, rt in list(self._by_gvr.items()):
            if rt.crd_name == crd_name:
                del self._by_gvr[key]
        self._rebuild_versions()

    def _rebuild_versions(self) -> None:
        self._group_versions = {}
        for rt in self._by_gvr.values():
            versions = self._group_versions.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        for versions in self._group_versions.values():
            versions.sort(key=version_priority)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The resource type served at this path, if any."""
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The resource type of an object's apiVersion and kind."""
        group, _, version = api_version.rpartition("/")
        for rt in self._by_gvr.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def storage_versions(self, group: str, plural: str) -> list[ResourceType]:
        """All served versions of one stored resource."""
        return [rt for rt in self._by_gvr.values() if rt.group == group and rt.plural == plural]

    def groups(self) -> dict[str, list[str]]:
        """group → served versions, preferred first."""
        return {g: list(v) for g, v in self._group_versions.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        """Every resource type of one group/version."""
        return [rt for (g, v, _), rt in self._by_gvr.items() if g == group and v == version]

    def all(self) -> list[ResourceType]:
        """Every served resource type."""
        return list(self._by_gvr.values())


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    import re

    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stage, -major, -minor, version)
