"""The resource types the server knows: built-in kinds and the kinds CRDs register."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass
class ResourceType:
    """One served (group, version, plural) with what discovery and the handlers need to know."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: frozenset[str] = frozenset()
    schema: dict[str, Any] | None = None  # openAPIV3Schema of a custom resource
    printer_columns: tuple[dict[str, Any], ...] = ()
    selectable_fields: tuple[str, ...] = ()
    tracks_generation: bool = False
    custom: bool = False  # served from a CRD
    crd_name: str | None = None
    storage_version: bool = True
    strategic_merge: bool = True  # built-ins accept strategic merge patches; custom resources do not
    unconditional_update: bool = True  # PUT without metadata.resourceVersion allowed
    name_rule: str = "subdomain"  # subdomain | label | path
    compiled: Any = field(default=None, repr=False, compare=False)  # the compiled schema (validators, CEL)
    stored_as: tuple[str, str] | None = None  # another resource's storage, reached through `conversion`
    conversion: Any = field(default=None, repr=False, compare=False)  # a FieldRenames to and from that storage

    def __post_init__(self) -> None:
        if not self.singular:
            self.singular = self.kind.lower()

    @property
    def api_version(self) -> str:
        """`group/version`, or `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are stored per (group, plural), shared by all served versions (and by converted aliases)."""
        return self.stored_as or (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        """`<Kind>List`."""
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """`plural.group` as kubectl names a resource (and as errors spell it)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        """Whether a status subresource splits status writes from spec writes."""
        return "status" in self.subresources


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
