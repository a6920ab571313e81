"""The resource models: lossless round trips through the wire format, DESIGN §2 defaults, rejected bad values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flink_manager.api import (
    KINDS,
    Condition,
    ExecutionSpec,
    FlinkClusterSpec,
    HistoryEntry,
    JobSpecSpec,
    PendingOperation,
    RunConfig,
    WireModel,
)
from flink_manager.api.cluster import ClusterTLS
from tests.unit.api.strategies import models

SHA = "0123456789abcdef" * 4
ROUND_TRIP_MODELS = [
    *(model for _, spec, status in KINDS.values() for model in (spec, status)),
    Condition,
    HistoryEntry,
    PendingOperation,
    RunConfig,
]


@pytest.mark.parametrize("model", ROUND_TRIP_MODELS, ids=lambda m: m.__name__)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_wire_round_trip_is_lossless(model: type[WireModel], data: st.DataObject) -> None:
    value = data.draw(models(model))
    wire = value.to_wire()
    assert model.from_wire(wire) == value
    assert model.from_wire(wire).to_wire() == wire


@pytest.mark.parametrize("model", ROUND_TRIP_MODELS, ids=lambda m: m.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_wire_form_is_camel_case_without_nulls(model: type[WireModel], data: st.DataObject) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert item is not None, f"{key} is null on the wire"
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    wire = data.draw(models(model)).to_wire()
    walk(wire)
    assert all("_" not in key for key in wire)


# ---------------------------------------------------------------------------------------------- DESIGN §2 defaults

MINIMAL = {
    FlinkClusterSpec: {"restUrl": "http://flink-jobmanager:8081"},
    JobSpecSpec: {"artifactRef": {"name": "my-job"}, "entryClass": "com.example.MyJob"},
    ExecutionSpec: {"jobSpecRef": {"name": "my-job-spec"}},
}

# (model, minimal manifest, the defaulted wire form must contain exactly these values and lack these keys)
DESIGN_DEFAULTS = [
    pytest.param(
        FlinkClusterSpec,
        MINIMAL[FlinkClusterSpec],
        {"restUrl": "http://flink-jobmanager:8081", "pollIntervalSeconds": 5, "requestTimeoutSeconds": 10},
        ["auth", "tls", "savepointDirectory"],
        id="FlinkCluster",
    ),
    pytest.param(
        ClusterTLS,
        {"caSecretRef": {"name": "s"}},
        {"caSecretRef": {"name": "s", "key": "ca.crt"}, "insecureSkipVerify": False},
        [],
        id="FlinkCluster-tls",
    ),
    pytest.param(
        KINDS["Artifact"][1],
        {"url": "https://repo.example.com/my-job-1.0.0.jar", "sha256": SHA},
        {"url": "https://repo.example.com/my-job-1.0.0.jar", "sha256": SHA, "entryClasses": []},
        ["version"],
        id="Artifact",
    ),
    pytest.param(
        JobSpecSpec,
        MINIMAL[JobSpecSpec],
        {
            "artifactRef": {"name": "my-job"},
            "entryClass": "com.example.MyJob",
            "parallelism": 1,
            "programArgs": [],
            "allowNonRestoredState": False,
            "flinkConfig": {},
            "clusterRef": {"name": "default"},
            "upgradeMode": "savepoint",
            "rollback": {"enabled": False, "windowSeconds": 120},
            "lastState": {"savepointFallback": False},
            "rollout": {},
        },
        ["savepointPath", "savepointFormatType", "claimMode"],
        id="JobSpec",
    ),
    pytest.param(
        ExecutionSpec,
        MINIMAL[ExecutionSpec],
        {
            "jobSpecRef": {"name": "my-job-spec"},
            "state": "Running",
            "restartNonce": 0,
            "savepointNonce": 0,
            "restoreFrom": {},
            "restartPolicy": {"type": "Never", "maxRestarts": 3, "backoffSeconds": 10, "allowStateless": False},
            "deletionPolicy": "savepoint",
            "deletionTimeoutSeconds": 300,
            "savepointTimeoutSeconds": 600,
            "savepointRetries": 1,
            "savepointRetention": {"maxCount": 10, "maxAge": "7d"},
        },
        ["startedBy", "savepointSchedule"],
        id="Execution",
    ),
    pytest.param(
        KINDS["FlinkCluster"][2],
        None,
        {"phase": "Pending", "conditions": []},
        ["flinkVersion"],
        id="FlinkCluster-status",
    ),
    pytest.param(
        KINDS["Artifact"][2],
        None,
        {"phase": "Pending", "uploads": [], "conditions": []},
        ["sha256"],
        id="Artifact-status",
    ),
    pytest.param(
        KINDS["JobSpec"][2],
        None,
        {
            "executions": {"total": 0, "running": 0},
            "conditions": [],
            "rollout": {"total": 0, "updated": 0, "progress": "0/0", "admitted": [], "failed": []},
        },
        ["lastExecution"],
        id="JobSpec-status",
    ),
    pytest.param(
        KINDS["Execution"][2],
        None,
        {
            "phase": "Pending",
            "attempt": 0,
            "savepoints": [],
            "restarts": 0,
            "flinkRestarts": 0,
            "observedRestartNonce": 0,
            "observedSavepointNonce": 0,
            "history": [],
            "historyTotal": 0,
            "operationsTotal": 0,
            "conditions": [],
        },
        ["flinkJobId", "pending", "lastSavepoint"],
        id="Execution-status",
    ),
]


@pytest.mark.parametrize(("model", "manifest", "expected", "absent"), DESIGN_DEFAULTS)
def test_defaults_follow_the_design(
    model: type[WireModel],
    manifest: dict[str, Any] | None,
    expected: dict[str, Any],
    absent: list[str],
) -> None:
    wire = model.from_wire(manifest).to_wire()
    assert wire == expected
    assert not set(absent) & wire.keys()


def test_unknown_fields_are_ignored() -> None:
    """What the apiserver keeps but the model does not know (kopf's own status keys) does not break parsing."""
    spec = ExecutionSpec.from_wire({**MINIMAL[ExecutionSpec], "someFutureField": 1})
    assert "someFutureField" not in spec.to_wire()


def test_models_are_immutable() -> None:
    spec = JobSpecSpec.from_wire(MINIMAL[JobSpecSpec])
    with pytest.raises(ValidationError):
        spec.parallelism = 2  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------- rejected values


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


CONDITION = {"type": "Ready", "status": "True", "reason": "Running", "lastTransitionTime": "2024-01-01T00:00:00Z"}
ARTIFACT = {"url": "https://repo.example.com/my-job.jar", "sha256": SHA}

INVALID = [
    pytest.param(JobSpecSpec, _with(MINIMAL[JobSpecSpec], parallelism=0), ("parallelism",), id="parallelism-zero"),
    pytest.param(JobSpecSpec, _with(MINIMAL[JobSpecSpec], parallelism=-3), ("parallelism",), id="parallelism-negative"),
    pytest.param(JobSpecSpec, _with(MINIMAL[JobSpecSpec], entryClass=""), ("entryClass",), id="entry-class-empty"),
    pytest.param(JobSpecSpec, {"entryClass": "com.example.MyJob"}, ("artifactRef",), id="artifact-ref-missing"),
    pytest.param(
        JobSpecSpec,
        _with(MINIMAL[JobSpecSpec], artifactRef={"name": ""}),
        ("artifactRef", "name"),
        id="artifact-ref-name-empty",
    ),
    pytest.param(
        JobSpecSpec, _with(MINIMAL[JobSpecSpec], upgradeMode="rolling"), ("upgradeMode",), id="upgrade-mode-unknown"
    ),
    pytest.param(
        JobSpecSpec,
        _with(MINIMAL[JobSpecSpec], flinkConfig={"parallelism.default": 4}),
        ("flinkConfig", "parallelism.default"),
        id="flink-config-value-not-a-string",
    ),
    pytest.param(KINDS["Artifact"][1], _with(ARTIFACT, sha256=SHA.upper()), ("sha256",), id="sha256-uppercase"),
    pytest.param(KINDS["Artifact"][1], _with(ARTIFACT, sha256=SHA[:63]), ("sha256",), id="sha256-short"),
    pytest.param(KINDS["Artifact"][1], _with(ARTIFACT, sha256=f"sha256:{SHA}"), ("sha256",), id="sha256-prefixed"),
    pytest.param(
        KINDS["Artifact"][1], _with(ARTIFACT, url="ftp://repo.example.com/my-job.jar"), ("url",), id="url-scheme-ftp"
    ),
    pytest.param(FlinkClusterSpec, {"restUrl": "flink-jobmanager:8081"}, ("restUrl",), id="rest-url-without-scheme"),
    pytest.param(
        FlinkClusterSpec,
        _with(MINIMAL[FlinkClusterSpec], pollIntervalSeconds=0),
        ("pollIntervalSeconds",),
        id="poll-interval-zero",
    ),
    pytest.param(
        FlinkClusterSpec,
        _with(MINIMAL[FlinkClusterSpec], requestTimeoutSeconds=601),
        ("requestTimeoutSeconds",),
        id="request-timeout-too-long",
    ),
    pytest.param(
        FlinkClusterSpec,
        _with(MINIMAL[FlinkClusterSpec], auth={"type": "digest", "secretRef": {"name": "s"}}),
        ("auth", "type"),
        id="auth-type-unknown",
    ),
    pytest.param(
        FlinkClusterSpec,
        _with(MINIMAL[FlinkClusterSpec], auth={"type": "basic"}),
        ("auth", "secretRef"),
        id="auth-secret-missing",
    ),
    pytest.param(ExecutionSpec, {}, ("jobSpecRef",), id="job-spec-ref-missing"),
    pytest.param(ExecutionSpec, _with(MINIMAL[ExecutionSpec], state="Paused"), ("state",), id="state-unknown"),
    pytest.param(
        ExecutionSpec, _with(MINIMAL[ExecutionSpec], restartNonce=-1), ("restartNonce",), id="restart-nonce-negative"
    ),
    pytest.param(
        ExecutionSpec,
        _with(MINIMAL[ExecutionSpec], restartPolicy={"type": "Always"}),
        ("restartPolicy", "type"),
        id="restart-policy-unknown",
    ),
    pytest.param(
        ExecutionSpec,
        _with(MINIMAL[ExecutionSpec], deletionPolicy="orphan"),
        ("deletionPolicy",),
        id="deletion-policy-unknown",
    ),
    pytest.param(
        ExecutionSpec,
        _with(MINIMAL[ExecutionSpec], savepointRetention={"maxAge": "7 days"}),
        ("savepointRetention", "maxAge"),
        id="retention-age-malformed",
    ),
    pytest.param(KINDS["Execution"][2], {"phase": "Exploded"}, ("phase",), id="phase-unknown"),
    pytest.param(
        KINDS["Execution"][2],
        {"conditions": [_with(CONDITION, status="Maybe")]},
        ("conditions", 0, "status"),
        id="condition-status-unknown",
    ),
    pytest.param(
        KINDS["Execution"][2],
        {"conditions": [_with(CONDITION, reason="not a reason!")]},
        ("conditions", 0, "reason"),
        id="condition-reason-malformed",
    ),
]


@pytest.mark.parametrize(("model", "data", "loc"), INVALID)
def test_bad_values_are_rejected(model: type[BaseModel], data: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    locations = [tuple(error["loc"]) for error in raised.value.errors()]
    assert loc in locations, locations
