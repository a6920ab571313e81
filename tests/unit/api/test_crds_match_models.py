"""The CRDs in crds/ and the pydantic models in flink_manager.api describe the same resources, field by field.

The models are what the operator reads and writes; the CRDs are what the apiserver validates, defaults and
prunes. If the two drift, a manifest is defaulted differently from what the operator assumes, or a status
field the operator writes is silently pruned. Every difference is reported with the kind and the path.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flink_manager.api import KINDS
from tests.unit.api import crdschema
from tests.unit.api.crdschema import Difference, apply_defaults, json_equal, load_crd, part_schema, prune
from tests.unit.api.strategies import models

ALL_KINDS = list(KINDS)
PARTS = ["spec", "status"]

# The least a user writes: required fields only (what `kubectl apply` of a minimal manifest sends).
MINIMAL_SPECS: dict[str, dict[str, Any]] = {
    "FlinkCluster": {"restUrl": "http://flink-jobmanager:8081"},
    "Artifact": {"url": "https://repo.example.com/my-job-1.0.0.jar", "sha256": "a" * 64},
    "JobSpec": {"artifactRef": {"name": "my-job"}, "entryClass": "com.example.MyJob"},
    "Execution": {"jobSpecRef": {"name": "my-job-spec"}},
}


def _problems(differences: list[Difference]) -> str:
    return "\n".join(str(d) for d in differences)


# ---------------------------------------------------------------------------------------------- the real CRDs


def test_crds_folder_holds_one_file_per_kind() -> None:
    files = sorted(p.name for p in crdschema.CRD_DIR.glob("*.yaml"))
    assert files == sorted(f"{plural}.yaml" for plural, _, _ in KINDS.values())


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_crd_is_one_yaml_document(kind: str) -> None:
    text = crdschema.crd_path(kind).read_text(encoding="utf-8")
    documents = list(yaml.safe_load_all(text))
    assert len(documents) == 1
    assert isinstance(documents[0], dict)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("part", PARTS)
def test_schema_matches_model(kind: str, part: str) -> None:
    _, spec_model, status_model = KINDS[kind]
    model = spec_model if part == "spec" else status_model
    differences = crdschema.compare_model(kind, model, part_schema(load_crd(kind), part), part)
    assert not differences, f"crds/ and {model.__name__} differ:\n{_problems(differences)}"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_schema_is_structural_and_documented(kind: str) -> None:
    differences = crdschema.structural_problems(kind, load_crd(kind))
    assert not differences, _problems(differences)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_names_status_subresource_and_printer_columns(kind: str) -> None:
    differences = crdschema.definition_problems(kind, load_crd(kind))
    assert not differences, _problems(differences)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_minimal_manifest_is_defaulted_as_the_model_defaults_it(kind: str) -> None:
    """`kubectl apply` of a manifest without optional fields stores what the operator's model assumes."""
    _, spec_model, _ = KINDS[kind]
    minimal = MINIMAL_SPECS[kind]
    stored = apply_defaults(minimal, part_schema(load_crd(kind), "spec"))
    assert json_equal(stored, spec_model.from_wire(minimal).to_wire()), stored


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_empty_status_is_defaulted_as_the_model_defaults_it(kind: str) -> None:
    _, _, status_model = KINDS[kind]
    stored = apply_defaults({}, part_schema(load_crd(kind), "status"))
    assert json_equal(stored, status_model().to_wire()), stored  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("part", PARTS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_everything_the_operator_writes_survives_pruning(kind: str, part: str, data: st.DataObject) -> None:
    _, spec_model, status_model = KINDS[kind]
    model = spec_model if part == "spec" else status_model
    wire = data.draw(models(model)).to_wire()
    stored = copy.deepcopy(wire)
    dropped = prune(stored, part_schema(load_crd(kind), part), part)
    assert dropped == []
    assert json_equal(stored, wire)


# ---------------------------------------------------------------------------------------------- the checks can fail


def _schema(crd: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema node at a path like `spec.restartPolicy.type` or `status.history[].details`."""
    node = crdschema.root_schema(crd)
    for part in path.replace("[]", ".[]").split("."):
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    version: dict[str, Any] = crd["spec"]["versions"][0]
    return version


def _column(crd: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in _version(crd)["additionalPrinterColumns"] if c["name"] == name)


def _set(path: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda crd: _schema(crd, path).__setitem__(key, value)


def _drop(path: str, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda crd: _schema(crd, path).pop(key)


def _drop_property(path: str) -> Callable[[dict[str, Any]], None]:
    parent, _, name = path.rpartition(".")
    return lambda crd: _schema(crd, parent)["properties"].pop(name)


def _drop_enum_value(path: str, value: str) -> Callable[[dict[str, Any]], None]:
    return lambda crd: _schema(crd, path)["enum"].remove(value)


MUTATIONS = [
    pytest.param(
        "JobSpec", _drop_property("spec.parallelism"), "JobSpec spec.parallelism: in the model", id="spec-field-removed"
    ),
    pytest.param(
        "Execution",
        _drop_property("status.history[].details.savepointPath"),
        "Execution status.history[].details.savepointPath: in the model",
        id="nested-status-field-removed",
    ),
    pytest.param(
        "Execution",
        _set(
            "status",
            "properties",
            {**_schema(load_crd("Execution"), "status")["properties"], "bogus": {"type": "string", "description": "x"}},
        ),
        "Execution status.bogus: in the CRD but not in the model",
        id="status-field-added",
    ),
    pytest.param(
        "Execution",
        _set("spec.restartPolicy.maxRestarts", "default", 5),
        "Execution spec.restartPolicy.maxRestarts: default differs: model 3, CRD 5",
        id="default-changed",
    ),
    pytest.param(
        "JobSpec",
        _set("spec.allowNonRestoredState", "default", 0),
        "JobSpec spec.allowNonRestoredState: default differs: model False, CRD 0",
        id="bool-default-as-int",
    ),
    pytest.param(
        "JobSpec",
        _set("spec.clusterRef", "default", {"name": "main"}),
        "JobSpec spec.clusterRef: default differs",
        id="object-default-changed",
    ),
    pytest.param(
        "Execution",
        _drop("spec.restartPolicy", "default"),
        "Execution spec.restartPolicy: default differs: the model's default is",
        id="parent-default-missing",
    ),
    pytest.param(
        "Execution",
        _drop("spec.savepointRetention.maxAge", "default"),
        "Execution spec.savepointRetention: default differs",
        id="nested-default-missing",
    ),
    pytest.param(
        "FlinkCluster",
        _set("spec.savepointDirectory", "default", "s3://x"),
        "FlinkCluster spec.savepointDirectory: the model's default is null",
        id="default-for-optional",
    ),
    pytest.param(
        "Execution",
        _drop_enum_value("spec.state", "Cancelled"),
        "Execution spec.state: enum differs",
        id="enum-value-dropped",
    ),
    pytest.param(
        "FlinkCluster",
        _drop_enum_value("status.conditions[].status", "Unknown"),
        "FlinkCluster status.conditions[].status: enum differs",
        id="condition-enum-value-dropped",
    ),
    pytest.param(
        "Execution",
        _set("status.pending.savepointReason", "nullable", True),
        "Execution status.pending.savepointReason: an enum must not be nullable",
        id="nullable-enum",
    ),
    pytest.param(
        "Execution",
        _drop("spec.deletionPolicy", "enum"),
        "Execution spec.deletionPolicy: enum differs",
        id="enum-removed",
    ),
    pytest.param(
        "Execution",
        _drop("status.flinkJobId", "nullable"),
        "Execution status.flinkJobId: nullable differs",
        id="optional-not-nullable",
    ),
    pytest.param(
        "Execution",
        _set("spec.state", "nullable", True),
        "Execution spec.state: an enum must not be nullable",
        id="required-enum-nullable",
    ),
    pytest.param(
        "JobSpec",
        _set("spec.programArgs", "nullable", True),
        "JobSpec spec.programArgs: nullable differs",
        id="list-nullable",
    ),
    pytest.param(
        "FlinkCluster", _set("spec", "required", []), "FlinkCluster spec: required differs", id="required-dropped"
    ),
    pytest.param(
        "Artifact",
        _set("status.uploads[]", "required", ["cluster", "jarId", "sha256"]),
        "Artifact status.uploads[]: required differs",
        id="item-required-dropped",
    ),
    pytest.param(
        "FlinkCluster",
        _set("spec.pollIntervalSeconds", "type", "string"),
        "FlinkCluster spec.pollIntervalSeconds: type differs",
        id="type-changed",
    ),
    pytest.param(
        "JobSpec",
        _set("spec.programArgs", "type", "string"),
        "JobSpec spec.programArgs: type differs",
        id="array-as-string",
    ),
    pytest.param(
        "JobSpec",
        _drop("spec.flinkConfig", "additionalProperties"),
        "JobSpec spec.flinkConfig: the model has a map",
        id="map-without-additional-properties",
    ),
    pytest.param(
        "Execution",
        _drop("status.startedAt", "format"),
        "Execution status.startedAt: a timestamp in the model",
        id="timestamp-without-format",
    ),
    pytest.param(
        "JobSpec",
        _set("spec.parallelism", "minimum", 0),
        "JobSpec spec.parallelism: minimum differs",
        id="minimum-looser",
    ),
    pytest.param(
        "FlinkCluster",
        _drop("spec.pollIntervalSeconds", "maximum"),
        "FlinkCluster spec.pollIntervalSeconds: maximum differs",
        id="maximum-missing",
    ),
    pytest.param(
        "Artifact",
        _set("spec.sha256", "pattern", "^[a-fA-F0-9]{64}$"),
        "Artifact spec.sha256: pattern differs",
        id="pattern-changed",
    ),
    pytest.param(
        "FlinkCluster",
        _drop("status.conditions[].reason", "maxLength"),
        "FlinkCluster status.conditions[].reason: maxLength differs",
        id="max-length-missing",
    ),
    pytest.param("Execution", _drop("spec.startedBy", "type"), "Execution spec.startedBy: no type", id="untyped-field"),
    pytest.param(
        "JobSpec",
        _drop("spec.entryClass", "description"),
        "JobSpec spec.entryClass: no description",
        id="undocumented-field",
    ),
    pytest.param(
        "FlinkCluster",
        _set("spec.requestTimeoutSeconds", "defualt", 10),
        "FlinkCluster spec.requestTimeoutSeconds: unknown schema keyword 'defualt'",
        id="keyword-typo",
    ),
    pytest.param(
        "JobSpec",
        _set("status.conditions[]", "required", ["status", "reason", "lastTransitionTime"]),
        "list-map key 'type' must be required or defaulted",
        id="list-map-key-optional",
    ),
    pytest.param(
        "Execution",
        _drop("status.conditions", "x-kubernetes-list-type"),
        "Execution status.conditions: must be a list-map keyed by type",
        id="conditions-not-a-list-map",
    ),
    pytest.param(
        "Artifact",
        lambda crd: _version(crd).pop("subresources"),
        "Artifact spec.versions[v1alpha1].subresources: no status subresource",
        id="no-status-subresource",
    ),
    pytest.param(
        "JobSpec",
        lambda crd: crd["spec"]["names"].__setitem__("shortNames", ["js"]),
        "JobSpec spec.names.shortNames: is ['js'], expected ['fjs']",
        id="short-name-changed",
    ),
    pytest.param(
        "Execution",
        lambda crd: crd["spec"]["names"]["categories"].remove("flink"),
        "Execution spec.names.categories",
        id="category-dropped",
    ),
    pytest.param(
        "Execution",
        lambda crd: _version(crd)["additionalPrinterColumns"].remove(_column(crd, "Flink Job")),
        "Execution spec.versions[v1alpha1].additionalPrinterColumns: kubectl get shows",
        id="column-removed",
    ),
    pytest.param(
        "FlinkCluster",
        lambda crd: _column(crd, "TaskManagers").__setitem__("jsonPath", ".status.taskManager"),
        "jsonPath .status.taskManager names no field",
        id="column-path-typo",
    ),
    pytest.param(
        "JobSpec",
        lambda crd: _column(crd, "Parallelism").__setitem__("type", "string"),
        "additionalPrinterColumns[Parallelism]: type 'string', but .spec.parallelism is a 'integer'",
        id="column-type-wrong",
    ),
    pytest.param(
        "Artifact",
        lambda crd: _column(crd, "SHA256").pop("priority"),
        "Artifact spec.versions[v1alpha1].additionalPrinterColumns",
        id="wide-column-shown-by-default",
    ),
]


@pytest.mark.parametrize(("kind", "mutate", "expected"), MUTATIONS)
def test_a_broken_crd_is_reported(kind: str, mutate: Callable[[dict[str, Any]], None], expected: str) -> None:
    crd = copy.deepcopy(load_crd(kind))
    assert crdschema.all_problems(kind, crd) == []
    mutate(crd)
    reported = [str(d) for d in crdschema.all_problems(kind, crd)]
    assert any(expected in line for line in reported), "\n".join(reported) or "nothing reported"


def test_json_equal_tells_booleans_from_numbers() -> None:
    assert not json_equal(False, 0)
    assert not json_equal({"a": [True]}, {"a": [1]})
    assert json_equal({"a": [True, "x", 1]}, {"a": [True, "x", 1]})
