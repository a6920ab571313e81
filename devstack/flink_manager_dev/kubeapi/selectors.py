"""Label and field selectors, parsed once per request and matched against each object."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flink_manager_dev.kubeapi.errors import BadRequest


class SelectorError(BadRequest):
    """A selector the apiserver would refuse to parse (400)."""


@dataclass(frozen=True)
class Requirement:
    """One label requirement: `key op values`."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the labels satisfy this requirement."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match objects without the label, as in the apiserver.
        return not present or labels[self.key] not in self.values


_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    """Parse `a=b,c!=d,e in (f,g),!h,i` into requirements (raises SelectorError)."""
    if not text or not text.strip():
        return ()
    requirements = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise SelectorError("unable to parse requirement: found '', expected: identifier")
        match = re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", part)
        if match:
            key, op, values = match.group(1), match.group(2), match.group(3)
            items = tuple(v.strip() for v in values.split(",")) if values.strip() else ()
            requirement = Requirement(key, op, items)
        elif part.startswith("!"):
            requirement = Requirement(part[1:].strip(), "!")
        elif "!=" in part:
            key, value = part.split("!=", 1)
            requirement = Requirement(key.strip(), "!=", (value.strip(),))
        elif "==" in part:
            key, value = part.split("==", 1)
            requirement = Requirement(key.strip(), "=", (value.strip(),))
        elif "=" in part:
            key, value = part.split("=", 1)
            requirement = Requirement(key.strip(), "=", (value.strip(),))
        elif re.search(r"[<>()\s]", part):
            raise SelectorError(f'unable to parse requirement: <nil>: Invalid value: "{part}": unsupported selector')
        else:
            requirement = Requirement(part, "exists")
        _check_requirement(requirement)
        requirements.append(requirement)
    return tuple(requirements)


def _check_requirement(requirement: Requirement) -> None:
    if not _LABEL_KEY.match(requirement.key) or len(requirement.key.rsplit("/", 1)[-1]) > 63:
        raise SelectorError(
            f'unable to parse requirement: key: Invalid value: "{requirement.key}": name part must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    for value in requirement.values:
        if not _LABEL_VALUE.match(value) or len(value) > 63:
            raise SelectorError(
                f'unable to parse requirement: values[0][{requirement.key}]: Invalid value: "{value}": a valid label '
                "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            )


def labels_match(requirements: tuple[Requirement, ...], obj: Mapping[str, Any]) -> bool:
    """Whether an object's labels satisfy every requirement."""
    if not requirements:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in requirements)


FieldGetter = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class FieldRequirement:
    """One field requirement: `field=value` or `field!=value`."""

    field: str
    value: str
    negate: bool
    getter: FieldGetter

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether the object satisfies this requirement."""
        actual = self.getter(obj)
        actual = "" if actual is None else actual
        return (actual != self.value) if self.negate else (actual == self.value)


def _path_getter(*path: str) -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str | None:
        value: Any = obj
        for part in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


COMMON_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}
EVENT_FIELDS = {
    "involvedObject.kind": ("involvedObject", "kind"),
    "involvedObject.namespace": ("involvedObject", "namespace"),
    "involvedObject.name": ("involvedObject", "name"),
    "involvedObject.uid": ("involvedObject", "uid"),
    "involvedObject.apiVersion": ("involvedObject", "apiVersion"),
    "involvedObject.resourceVersion": ("involvedObject", "resourceVersion"),
    "involvedObject.fieldPath": ("involvedObject", "fieldPath"),
    "reason": ("reason",),
    "reportingComponent": ("reportingComponent",),
    "source": ("source", "component"),
    "type": ("type",),
}
# events.k8s.io/v1 selectors, read from the stored core/v1 form.
NEW_EVENT_FIELDS = {
    "regarding.kind": ("involvedObject", "kind"),
    "regarding.namespace": ("involvedObject", "namespace"),
    "regarding.name": ("involvedObject", "name"),
    "regarding.uid": ("involvedObject", "uid"),
    "regarding.apiVersion": ("involvedObject", "apiVersion"),
    "regarding.resourceVersion": ("involvedObject", "resourceVersion"),
    "regarding.fieldPath": ("involvedObject", "fieldPath"),
    "reason": ("reason",),
    "type": ("type",),
    "reportingController": ("reportingComponent",),
}
EXTRA_FIELDS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("", "events"): EVENT_FIELDS,
    ("events.k8s.io", "events"): NEW_EVENT_FIELDS,
    ("", "namespaces"): {"status.phase": ("status", "phase")},
    ("", "secrets"): {"type": ("type",)},
}


def parse_field_selector(
    text: str | None, storage_key: tuple[str, str], selectable: tuple[str, ...] = (), custom: bool = False
) -> tuple[FieldRequirement, ...]:
    """Parse `metadata.name=x,type!=Normal` for one resource (unsupported fields raise SelectorError)."""
    if not text or not text.strip():
        return ()
    known: dict[str, tuple[str, ...]] = dict(COMMON_FIELDS)
    known.update(EXTRA_FIELDS.get(storage_key, {}))
    for path in selectable:
        known[path.lstrip(".")] = tuple(path.lstrip(".").split("."))
    requirements = []
    for raw in text.split(","):
        part = raw.strip()
        if "!=" in part:
            name, value = part.split("!=", 1)
            negate = True
        elif "==" in part:
            name, value = part.split("==", 1)
            negate = False
        elif "=" in part:
            name, value = part.split("=", 1)
            negate = False
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        name = name.strip()
        if name not in known:
            if custom:
                raise SelectorError(f"field label not supported: {name}")
            raise SelectorError(f'field label "{name}" not supported for {storage_key[1]}')
        requirements.append(FieldRequirement(name, value.strip(), negate, _path_getter(*known[name])))
    return tuple(requirements)


def fields_match(requirements: tuple[FieldRequirement, ...], obj: Mapping[str, Any]) -> bool:
    """Whether an object satisfies every field requirement."""
    return all(r.matches(obj) for r in requirements)


def exact_name(requirements: tuple[FieldRequirement, ...]) -> str | None:
    """The single name a `metadata.name=x` selector pins, for a direct lookup instead of a scan."""
    for r in requirements:
        if r.field == "metadata.name" and not r.negate:
            return r.value
    return None
