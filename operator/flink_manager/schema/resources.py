"""A served resource type (group, version, plural, kind, schema) as the apiserver describes one."""

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
