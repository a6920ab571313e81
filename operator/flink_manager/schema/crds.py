"""CustomResourceDefinitions: their validation, defaults and status, and the resource types they serve."""

from __future__ import annotations

import copy
from typing import Any

from flink_manager.schema import fielderrors as fe
from flink_manager.schema.cel import compile_schema_rules, concatenates_a_conversion
from flink_manager.schema.compiled import CompiledSchema
from flink_manager.schema.fielderrors import FieldError
from flink_manager.schema.resources import ResourceType

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def default_crd(crd: dict[str, Any]) -> None:
    """The apiserver's defaults for a CRD (in place)."""
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})
    for version in spec.get("versions") or ():
        if isinstance(version, dict):
            version.setdefault("served", True)


def validate_crd(crd: dict[str, Any]) -> list[FieldError]:
    """The CRD checks that matter to clients: names, versions, structural types and CEL compilation."""
    errors: list[FieldError] = []
    spec = crd.get("spec") or {}
    group = spec.get("group") or ""
    names = spec.get("names") or {}
    plural = names.get("plural") or ""
    name = (crd.get("metadata") or {}).get("name", "")
    if name != f"{plural}.{group}":
        errors.append(fe.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        errors.append(fe.required("spec.group"))
    if not plural:
        errors.append(fe.required("spec.names.plural"))
    if not names.get("kind"):
        errors.append(fe.required("spec.names.kind"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(fe.not_supported("spec.scope", spec.get("scope", ""), ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        errors.append(fe.invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(fe.invalid("spec.versions", fe.OMIT, "must have exactly one version marked as storage version"))
    schemas = [(v.get("schema") or {}).get("openAPIV3Schema") for v in versions]
    shared = len(versions) > 0 and all(schema == schemas[0] for schema in schemas)
    for i, schema in enumerate(schemas):
        if schema is None:
            errors.append(fe.required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"))
            continue
        if shared and i > 0:
            break
        # One schema shared by every version is validated (and reported) as the top-level `spec.validation`.
        path = "spec.validation.openAPIV3Schema" if shared else f"spec.versions[{i}].schema.openAPIV3Schema"
        errors += _structural_errors(schema, path, root=True)
        for rule_path, message, entry in compile_schema_rules(schema, {}, path):
            errors.append(fe.invalid(rule_path, _rule_value(entry), f"compilation failed: {message}"))
        errors += _cost_errors(schema, path)
    return errors


def _rule_value(entry: dict[str, Any]) -> fe.RawValue:
    """A validation rule as the apiserver prints it in errors: the JSON of its internal Go struct."""
    return fe.RawValue(
        fe.go_json(
            {
                "Rule": entry.get("rule", ""),
                "Message": entry.get("message", ""),
                "MessageExpression": entry.get("messageExpression", ""),
                "Reason": entry.get("reason"),
                "FieldPath": entry.get("fieldPath", ""),
                "OptionalOldSelf": entry.get("optionalOldSelf"),
            }
        )
    )


_OVER_BUDGET = (
    "exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, "
    "maxProperties, and maxLength where arrays, maps, and strings are declared)"
)


def _cost_errors(schema: dict[str, Any], root: str) -> list[FieldError]:
    offending: list[FieldError] = []
    for path, entry in _rules(schema, root):
        for key, what in (("rule", "rule"), ("messageExpression", "messageExpression")):
            expression = entry.get(key)
            if expression and concatenates_a_conversion(expression):
                offending.append(fe.forbidden(f"{path}.{key}", f"estimated {what} cost {_OVER_BUDGET}"))
                offending.append(
                    fe.forbidden(
                        f"{path}.{key}",
                        "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
                    )
                )
    if offending:
        offending.append(
            fe.forbidden(
                root, f"x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema {_OVER_BUDGET}"
            )
        )
    return offending


def _rules(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [
        (f"{path}.x-kubernetes-validations[{i}]", entry)
        for i, entry in enumerate(schema.get("x-kubernetes-validations") or ())
    ]
    for name, sub in (schema.get("properties") or {}).items():
        found += _rules(sub, f"{path}.properties[{name}]")
    for keyword in ("items", "additionalProperties"):
        sub = schema.get(keyword)
        if isinstance(sub, dict):
            found += _rules(sub, f"{path}.{keyword}")
    return found


def _structural_errors(schema: dict[str, Any], path: str, root: bool = False) -> list[FieldError]:
    errors: list[FieldError] = []
    untyped_ok = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string")
    if not schema.get("type") and not untyped_ok:
        if root:
            errors.append(fe.required(f"{path}.type", "must not be empty at the root"))
        else:
            errors.append(fe.required(f"{path}.type", "must not be empty for specified object fields"))
    for name, sub in (schema.get("properties") or {}).items():
        errors += _structural_errors(sub, f"{path}.properties[{name}]")
    items = schema.get("items")
    if isinstance(items, dict):
        errors += _structural_errors(items, f"{path}.items")
    elif schema.get("type") == "array" and items is None:
        errors.append(fe.required(f"{path}.items", "must be specified"))
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        errors += _structural_errors(additional, f"{path}.additionalProperties")
    return errors


def resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CRD."""
    spec = crd["spec"]
    names = spec["names"]
    result = []
    for version in spec.get("versions") or ():
        if not version.get("served", True):
            continue
        schema = copy.deepcopy((version.get("schema") or {}).get("openAPIV3Schema"))
        subresources = frozenset((version.get("subresources") or {}).keys())
        rt = ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec.get("scope") == "Namespaced",
            singular=names.get("singular") or names["kind"].lower(),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=subresources,
            schema=schema,
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            selectable_fields=tuple(f.get("jsonPath", "") for f in version.get("selectableFields") or ()),
            tracks_generation=True,
            custom=True,
            crd_name=crd["metadata"]["name"],
            storage_version=bool(version.get("storage")),
            strategic_merge=False,
            unconditional_update=False,
        )
        rt.compiled = CompiledSchema(schema)
        result.append(rt)
    return result


def established_status(crd: dict[str, Any], now: str) -> dict[str, Any]:
    """The status the apiextensions controllers write once the names are accepted."""
    spec = crd["spec"]
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    previous = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or ()}

    def condition(kind: str, reason: str, message: str) -> dict[str, Any]:
        old = previous.get(kind)
        since = old["lastTransitionTime"] if old and old.get("status") == "True" else now
        return {"type": kind, "status": "True", "lastTransitionTime": since, "reason": reason, "message": message}

    stored = list((crd.get("status") or {}).get("storedVersions") or ())
    for version in spec.get("versions") or ():
        if version.get("storage") and version["name"] not in stored:
            stored.append(version["name"])
    return {
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names,
        "storedVersions": stored,
    }


def terminating_status(crd: dict[str, Any], now: str) -> dict[str, Any]:
    """Status while the CRD's objects are being deleted."""
    status = copy.deepcopy(crd.get("status") or {})
    conditions = [c for c in status.get("conditions") or () if c.get("type") != "Terminating"]
    conditions.append(
        {
            "type": "Terminating",
            "status": "True",
            "lastTransitionTime": now,
            "reason": "InstanceDeletionInProgress",
            "message": "CustomResource deletion is in progress",
        }
    )
    status["conditions"] = conditions
    return status
