"""Read the CRDs in crds/ and compare their schemas with the pydantic models, field by field.

Every check returns a list of `Difference`s (empty when all agree), so that a test can assert both that the
real CRDs agree with the models and that a deliberately broken CRD does not.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import functools
import re
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from flink_manager.api import KINDS

CRD_DIR = Path(__file__).resolve().parents[3] / "crds"
GROUP = "flinkmanager.io"
VERSION = "v1alpha1"
SHORT_NAMES = {"FlinkCluster": "fc", "Artifact": "fa", "JobSpec": "fjs", "Execution": "fex"}
CATEGORIES = ["flink", "flinkmanager"]
READY = '.status.conditions[?(@.type=="Ready")].status'
AGE = ".metadata.creationTimestamp"

# The columns `kubectl get` shows by default (priority 0), in order: upper-cased name → jsonPath.
PRINTER_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "FlinkCluster": [
        ("URL", ".spec.restUrl"),
        ("PHASE", ".status.phase"),
        ("VERSION", ".status.flinkVersion"),
        ("TASKMANAGERS", ".status.taskManagers"),
        ("SLOTS AVAILABLE", ".status.slotsAvailable"),
        ("AGE", AGE),
    ],
    "Artifact": [
        ("VERSION", ".spec.version"),
        ("PHASE", ".status.phase"),
        ("AGE", AGE),
    ],
    "JobSpec": [
        ("ARTIFACT", ".spec.artifactRef.name"),
        ("ENTRY CLASS", ".spec.entryClass"),
        ("PARALLELISM", ".spec.parallelism"),
        ("CLUSTER", ".spec.clusterRef.name"),
        ("READY", READY),
        ("UPDATED", ".status.rollout.progress"),
        ("AGE", AGE),
    ],
    "Execution": [
        ("JOBSPEC", ".spec.jobSpecRef.name"),
        ("STATE", ".spec.state"),
        ("PHASE", ".status.phase"),
        ("FLINK JOB", ".status.flinkJobId"),
        ("READY", READY),
        ("AGE", AGE),
    ],
}
# Columns shown only with `-o wide` (priority 1): upper-cased name → jsonPath.
WIDE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "Artifact": [("SHA256", ".status.sha256"), ("SOURCE", ".status.resolved.url")],
}

# Keywords a structural schema may use (anything else is a typo or a construct the apiserver rejects).
SCHEMA_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "description",
        "title",
        "nullable",
        "default",
        "enum",
        "example",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "x-kubernetes-validations",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-embedded-resource",
    }
)


@dataclasses.dataclass(frozen=True)
class Difference:
    """One disagreement, located by kind and path (such as `spec.restartPolicy.maxRestarts`)."""

    kind: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.kind} {self.path}: {self.problem}"


# ---------------------------------------------------------------------------------------------- loading


def crd_path(kind: str) -> Path:
    """crds/<plural>.yaml."""
    plural = KINDS[kind][0]
    return CRD_DIR / f"{plural}.yaml"


def load_crd(kind: str) -> dict[str, Any]:
    """The CRD of a kind, parsed with yaml.safe_load (a fresh copy each time: callers may change it)."""
    return copy.deepcopy(_parsed_crd(kind))


@functools.cache
def _parsed_crd(kind: str) -> dict[str, Any]:
    with crd_path(kind).open(encoding="utf-8") as stream:
        loaded: dict[str, Any] = yaml.safe_load(stream)
    return loaded


def root_schema(crd: dict[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema of the v1alpha1 version."""
    for version in crd["spec"]["versions"]:
        if version["name"] == VERSION:
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise KeyError(f"no version {VERSION}")


def part_schema(crd: dict[str, Any], part: str) -> dict[str, Any]:
    """The schema of `spec` or `status`."""
    schema: dict[str, Any] = root_schema(crd)["properties"][part]
    return schema


# ---------------------------------------------------------------------------------------------- apiserver semantics


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """A copy of `value` with schema defaults applied as structural defaulting does (nested defaults included)."""
    value = copy.deepcopy(value)
    _default_in_place(value, schema)
    return value


def _default_in_place(value: Any, schema: dict[str, Any]) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, sub in properties.items():
            if name in value and value[name] is None and not sub.get("nullable"):
                del value[name]  # the apiserver drops nulls of non-nullable fields before defaulting
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        for name, item in value.items():
            if name in properties:
                _default_in_place(item, properties[name])
            elif isinstance(schema.get("additionalProperties"), dict):
                _default_in_place(item, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default_in_place(item, schema["items"])


def prune(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Drop fields the schema does not declare (in place), as the apiserver does; return their paths."""
    dropped: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for name in list(value):
            if properties is not None and name in properties:
                dropped += prune(value[name], properties[name], f"{path}.{name}")
            elif isinstance(additional, dict):
                dropped += prune(value[name], additional, f"{path}.{name}")
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                del value[name]
                dropped.append(f"{path}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            dropped += prune(item, schema["items"], f"{path}[{i}]")
    return dropped


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality that, unlike ==, tells true from 1 and 0 from false."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------------- models vs schemas


class _Report:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.differences: list[Difference] = []

    def add(self, path: str, problem: str) -> None:
        self.differences.append(Difference(self.kind, path, problem))


def compare_model(kind: str, model: type[BaseModel], schema: dict[str, Any], path: str) -> list[Difference]:
    """Every difference between a model (and the models it nests) and the schema of the same object."""
    report = _Report(kind)
    _compare_object(model, schema, path, report)
    return report.differences


def compare_kind(kind: str, crd: dict[str, Any]) -> list[Difference]:
    """Differences between a kind's Spec and Status models and its CRD's `spec` and `status`."""
    _, spec_model, status_model = KINDS[kind]
    properties = root_schema(crd).get("properties") or {}
    differences: list[Difference] = []
    for part, model in (("spec", spec_model), ("status", status_model)):
        if part not in properties:
            differences.append(Difference(kind, part, "missing from the CRD schema"))
            continue
        differences += compare_model(kind, model, properties[part], part)
    return differences


def _compare_object(model: type[BaseModel], schema: dict[str, Any], path: str, report: _Report) -> None:
    if schema.get("type") != "object":
        report.add(path, f"the model {model.__name__} is an object, the CRD says type {schema.get('type')!r}")
        return
    if "additionalProperties" in schema:
        report.add(path, f"the model {model.__name__} has fixed fields, the CRD allows additionalProperties")
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    properties: dict[str, Any] = schema.get("properties") or {}
    for name in sorted(fields.keys() - properties.keys()):
        report.add(
            f"{path}.{name}", f"in the model ({model.__name__}) but not in the CRD (the apiserver would prune it)"
        )
    for name in sorted(properties.keys() - fields.keys()):
        report.add(f"{path}.{name}", f"in the CRD but not in the model ({model.__name__})")
    model_required = {name for name, field in fields.items() if field.is_required()}
    crd_required = set(schema.get("required") or ())
    if model_required != crd_required:
        report.add(
            path, f"required differs: model requires {sorted(model_required)}, CRD requires {sorted(crd_required)}"
        )
    for name in sorted(fields.keys() & properties.keys()):
        field, sub = fields[name], properties[name]
        at = f"{path}.{name}"
        _compare_type(field.annotation, sub, at, report)
        _compare_constraints(field, sub, at, report)
        _compare_default(field, sub, at, report)


def _unwrap_optional(annotation: Any) -> tuple[bool, Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(annotation)):
            return True, args[0]
    return False, annotation


def _compare_type(annotation: Any, schema: dict[str, Any], path: str, report: _Report) -> None:
    optional, inner = _unwrap_optional(annotation)
    nullable = bool(schema.get("nullable", False))
    is_enum = isinstance(inner, type) and issubclass(inner, enum.Enum)
    if is_enum and nullable:
        # kube-apiserver checks enum before nullable and rejects null even when the enum lists it; a field
        # without nullable has its nulls pruned instead, which the model reads as None just the same.
        report.add(
            path,
            "an enum must not be nullable: the apiserver would reject null (Unsupported value); "
            "without nullable it prunes null, which the model reads as None",
        )
    elif optional != nullable and not is_enum:
        said = "allows null (Optional)" if optional else "does not allow null"
        report.add(path, f"nullable differs: the model {said}, the CRD has nullable: {str(nullable).lower()}")
    crd_type = schema.get("type")
    crd_enum = schema.get("enum")
    origin = typing.get_origin(inner)

    def expect(json_type: str) -> bool:
        if crd_type != json_type:
            report.add(path, f"type differs: the model has {_describe(inner)} ({json_type}), the CRD type {crd_type!r}")
            return False
        return True

    if crd_enum is not None and not (isinstance(inner, type) and issubclass(inner, enum.Enum)):
        report.add(path, f"the CRD restricts it to enum {crd_enum}, the model ({_describe(inner)}) does not")
    if schema.get("format") == "date-time" and inner is not datetime.datetime:
        report.add(path, f"the CRD has format date-time, the model has {_describe(inner)}")

    if inner is bool:
        expect("boolean")
    elif inner is int:
        expect("integer")
    elif inner is float:
        expect("number")
    elif inner is str:
        expect("string")
    elif inner is datetime.datetime:
        if expect("string") and schema.get("format") != "date-time":
            report.add(path, f"a timestamp in the model, the CRD format is {schema.get('format')!r}, not 'date-time'")
    elif isinstance(inner, type) and issubclass(inner, enum.Enum):
        if expect("string"):
            model_values = sorted(str(member.value) for member in inner)
            crd_values = sorted(str(v) for v in crd_enum or ())
            if crd_enum is None:
                report.add(path, f"enum differs: the model allows only {model_values}, the CRD has no enum")
            elif model_values != crd_values:
                report.add(path, f"enum differs: model {model_values}, CRD {crd_values}")
    elif isinstance(inner, type) and issubclass(inner, BaseModel):
        _compare_object(inner, schema, path, report)
    elif origin in (tuple, list):
        args = typing.get_args(inner)
        item = args[0] if args else Any
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            report.add(path, f"unsupported tuple annotation {_describe(inner)} (use tuple[X, ...])")
            return
        if expect("array"):
            items = schema.get("items")
            if not isinstance(items, dict):
                report.add(path, "an array without an items schema")
            else:
                _compare_type(item, items, f"{path}[]", report)
    elif origin is dict:
        key_type, value_type = typing.get_args(inner)
        if key_type is not str:
            report.add(path, f"map keys must be strings in JSON, the model has {_describe(key_type)}")
        if expect("object"):
            if schema.get("properties"):
                report.add(path, "the model has a map, the CRD declares fixed properties")
            additional = schema.get("additionalProperties")
            if not isinstance(additional, dict):
                report.add(
                    path, f"the model has a map of {_describe(value_type)}, the CRD has no additionalProperties schema"
                )
            else:
                _compare_type(value_type, additional, f"{path}{{}}", report)
    else:
        report.add(path, f"the model's type {_describe(inner)} has no known JSON schema counterpart")


def _describe(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


def _compare_constraints(field: FieldInfo, schema: dict[str, Any], path: str, report: _Report) -> None:
    """The CRD must be at least as strict as the model, so every stored object parses (stricter is allowed)."""
    for constraint in field.metadata:
        if isinstance(constraint, annotated_types.Ge):
            _at_least(schema, "minimum", constraint.ge, path, report)
        elif isinstance(constraint, annotated_types.Le):
            _at_most(schema, "maximum", constraint.le, path, report)
        elif isinstance(constraint, annotated_types.MinLen):
            _at_least(schema, "minLength", constraint.min_length, path, report)
        elif isinstance(constraint, annotated_types.MaxLen):
            _at_most(schema, "maxLength", constraint.max_length, path, report)
        elif getattr(constraint, "pattern", None) is not None:
            if schema.get("pattern") != constraint.pattern:
                report.add(path, f"pattern differs: model {constraint.pattern!r}, CRD {schema.get('pattern')!r}")
        else:
            report.add(path, f"the model's constraint {constraint!r} has no check here; teach crdschema.py about it")


def _at_least(schema: dict[str, Any], keyword: str, bound: Any, path: str, report: _Report) -> None:
    if schema.get(keyword) is None or schema[keyword] < bound:
        report.add(
            path, f"{keyword} differs: the model requires >= {bound}, the CRD {keyword} is {schema.get(keyword)!r}"
        )


def _at_most(schema: dict[str, Any], keyword: str, bound: Any, path: str, report: _Report) -> None:
    if schema.get(keyword) is None or schema[keyword] > bound:
        report.add(
            path, f"{keyword} differs: the model requires <= {bound}, the CRD {keyword} is {schema.get(keyword)!r}"
        )


def _compare_default(field: FieldInfo, schema: dict[str, Any], path: str, report: _Report) -> None:
    if field.is_required():
        if "default" in schema:
            report.add(path, f"the model requires it, the CRD defaults it to {schema['default']!r}")
        return
    value = field.get_default(call_default_factory=True)
    if value is None:
        if "default" in schema:
            report.add(
                path, f"the model's default is null (omitted on the wire), the CRD default is {schema['default']!r}"
            )
        return
    wire = TypeAdapter(field.annotation).dump_python(value, mode="json", by_alias=True, exclude_none=True)
    if "default" not in schema:
        report.add(path, f"default differs: the model's default is {wire!r}, the CRD has none")
        return
    effective = apply_defaults(schema["default"], schema)
    if not json_equal(effective, wire):
        shown = (
            repr(schema["default"])
            if json_equal(effective, schema["default"])
            else (f"{schema['default']!r} (with nested defaults {effective!r})")
        )
        report.add(path, f"default differs: model {wire!r}, CRD {shown}")


# ---------------------------------------------------------------------------------------------- the CRD itself


def structural_problems(kind: str, crd: dict[str, Any]) -> list[Difference]:
    """Departures from a structural schema, undocumented fields, unknown keywords and list-map keys without values."""
    report = _Report(kind)
    root = root_schema(crd)
    _walk_structure(root, "", report, documented=False)
    for part in ("spec", "status"):
        if part in (root.get("properties") or {}):
            _walk_structure(root["properties"][part], part, report, documented=True)
    return report.differences


def _walk_structure(schema: dict[str, Any], path: str, report: _Report, documented: bool) -> None:
    where = path or "<root>"
    untyped_ok = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string")
    if not schema.get("type") and not untyped_ok:
        report.add(where, "no type (a structural schema needs one on every node)")
    for keyword in sorted(schema.keys() - SCHEMA_KEYWORDS):
        report.add(where, f"unknown schema keyword {keyword!r}")
    if documented and not str(schema.get("description", "")).strip():
        report.add(where, "no description (kubectl explain would show nothing)")
    if schema.get("properties") and "additionalProperties" in schema:
        report.add(where, "both properties and additionalProperties")
    if schema.get("type") == "array" and not isinstance(schema.get("items"), dict):
        report.add(where, "an array without an items schema")
    if schema.get("x-kubernetes-list-type") == "map":
        items = schema.get("items") or {}
        for key in schema.get("x-kubernetes-list-map-keys") or ():
            item_schema = (items.get("properties") or {}).get(key)
            if item_schema is None:
                report.add(where, f"list-map key {key!r} is not a property of the items")
            elif key not in (items.get("required") or ()) and "default" not in item_schema:
                report.add(where, f"list-map key {key!r} must be required or defaulted")
    if not documented:
        return  # at the root, only spec and status are walked in depth (by the caller)
    for name, sub in (schema.get("properties") or {}).items():
        _walk_structure(sub, f"{path}.{name}", report, documented)
    if isinstance(schema.get("items"), dict):
        _walk_structure(schema["items"], f"{path}[]", report, documented)
    if isinstance(schema.get("additionalProperties"), dict):
        _walk_structure(schema["additionalProperties"], f"{path}{{}}", report, documented)


def definition_problems(kind: str, crd: dict[str, Any]) -> list[Difference]:
    """Names, scope, version, status subresource and printer columns against what the project promises."""
    report = _Report(kind)
    plural = KINDS[kind][0]
    expected = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
    }
    for key, value in expected.items():
        if crd.get(key) != value:
            report.add(key, f"is {crd.get(key)!r}, expected {value!r}")
    if (crd.get("metadata") or {}).get("name") != f"{plural}.{GROUP}":
        report.add("metadata.name", f"is {(crd.get('metadata') or {}).get('name')!r}, expected {plural}.{GROUP!r}")
    spec = crd.get("spec") or {}
    if spec.get("group") != GROUP:
        report.add("spec.group", f"is {spec.get('group')!r}, expected {GROUP!r}")
    if spec.get("scope") != "Namespaced":
        report.add("spec.scope", f"is {spec.get('scope')!r}, expected 'Namespaced'")
    names = spec.get("names") or {}
    expected_names = {
        "kind": kind,
        "plural": plural,
        "singular": kind.lower(),
        "listKind": f"{kind}List",
        "shortNames": [SHORT_NAMES[kind]],
        "categories": CATEGORIES,
    }
    for key, value in expected_names.items():
        if names.get(key) != value:
            report.add(f"spec.names.{key}", f"is {names.get(key)!r}, expected {value!r}")
    versions = spec.get("versions") or []
    if [v.get("name") for v in versions] != [VERSION]:
        report.add("spec.versions", f"are {[v.get('name') for v in versions]}, expected only {VERSION!r}")
    for version in versions:
        at = f"spec.versions[{version.get('name')}]"
        if not (version.get("served") and version.get("storage")):
            report.add(at, "must be served and the storage version")
        if (version.get("subresources") or {}).get("status") != {}:
            report.add(f"{at}.subresources", "no status subresource (status: {})")
        conditions = (version["schema"]["openAPIV3Schema"]["properties"]["status"].get("properties") or {}).get(
            "conditions"
        ) or {}
        if (conditions.get("x-kubernetes-list-type"), conditions.get("x-kubernetes-list-map-keys")) != (
            "map",
            ["type"],
        ):
            report.add("status.conditions", "must be a list-map keyed by type (x-kubernetes-list-type: map)")
        _check_columns(kind, version, at, report)
    return report.differences


def _check_columns(kind: str, version: dict[str, Any], at: str, report: _Report) -> None:
    columns = version.get("additionalPrinterColumns") or []
    shown = [(c.get("name", "").upper(), c.get("jsonPath")) for c in columns if not c.get("priority")]
    wide = [(c.get("name", "").upper(), c.get("jsonPath")) for c in columns if c.get("priority")]
    if shown != PRINTER_COLUMNS[kind]:
        report.add(f"{at}.additionalPrinterColumns", f"kubectl get shows {shown}, expected {PRINTER_COLUMNS[kind]}")
    for column in WIDE_COLUMNS.get(kind, []):
        if column not in wide:
            report.add(f"{at}.additionalPrinterColumns", f"{column} is missing from the -o wide columns {wide}")
    schema = version["schema"]["openAPIV3Schema"]
    for column in columns:
        name, path, declared = column.get("name"), column.get("jsonPath", ""), column.get("type")
        if path == AGE:
            if declared != "date":
                report.add(f"{at}.additionalPrinterColumns[{name}]", f"type {declared!r}, expected 'date'")
            continue
        target = resolve_json_path(schema, path)
        if target is None:
            report.add(f"{at}.additionalPrinterColumns[{name}]", f"jsonPath {path} names no field of the schema")
            continue
        if declared != target.get("type"):
            report.add(
                f"{at}.additionalPrinterColumns[{name}]",
                f"type {declared!r}, but {path} is a {target.get('type')!r} in the schema",
            )


_SEGMENT = re.compile(r"\.([A-Za-z0-9_]+)|\[\?\(@\.[A-Za-z0-9_]+==\"[^\"]*\"\)\]|\[[0-9*]+\]")


def resolve_json_path(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema a simple printer-column JSONPath (`.a.b`, `[0]`, `[?(@.type=="Ready")]`) points at."""
    position, current = 0, schema
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            return None
        position = match.end()
        if match.group(1) is not None:
            current = (current.get("properties") or {}).get(match.group(1))
        else:
            current = current.get("items")
        if not isinstance(current, dict):
            return None
    return current


def all_problems(kind: str, crd: dict[str, Any]) -> list[Difference]:
    """Everything the tests assert about one CRD."""
    return definition_problems(kind, crd) + structural_problems(kind, crd) + compare_kind(kind, crd)
