"""The operator against simulated clusters of other Flink versions: the oldest it speaks, and one it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.component.conftest import Stack


def status(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status(body).get("conditions", []) if c["type"] == type_), {})


@pytest.mark.flink_version("1.17.2")
async def test_a_cluster_older_than_1_18_is_unsupported_and_its_executions_wait_naming_the_reason(
    running: Stack,
) -> None:
    await running.quickstart()
    cluster = await running.wait(
        "FlinkCluster", "default", lambda body: condition(body, "Degraded").get("reason") == "UnsupportedFlinkVersion"
    )
    assert status(cluster)["flinkVersion"] == "1.17.2"
    assert condition(cluster, "Degraded")["status"] == "True"
    assert condition(cluster, "Degraded")["message"] == "the cluster runs Flink 1.17.2; supported: Flink 1.18 to 2.3"
    assert (condition(cluster, "Ready")["status"], condition(cluster, "Ready")["reason"]) == (
        "False",
        "UnsupportedFlinkVersion",
    )

    execution = await running.wait(
        "Execution", "run-1", lambda body: condition(body, "Ready").get("reason") == "UnsupportedFlinkVersion"
    )
    ready = condition(execution, "Ready")
    assert ready["status"] == "False"
    assert ready["message"] == "FlinkCluster 'default': the cluster runs Flink 1.17.2; supported: Flink 1.18 to 2.3"
    assert status(execution)["phase"] == "Pending" and not status(execution).get("flinkJobId")
    job_spec = await running.wait(
        "JobSpec", "job", lambda body: condition(body, "Ready").get("reason") == "UnsupportedFlinkVersion"
    )
    assert condition(job_spec, "Ready")["status"] == "False"
    # Nothing reached Flink: no jar, no job.
    assert running.flink.call_count("run") == 0 and running.flink.call_count("upload") == 0
    assert running.flink.job_states() == {}


@pytest.mark.flink_version("1.18.1")
async def test_the_oldest_supported_version_runs_stops_and_resumes(running: Stack) -> None:
    await running.quickstart()
    first = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    cluster = await running.wait(
        "FlinkCluster", "default", lambda body: condition(body, "Ready").get("status") == "True"
    )
    assert status(cluster)["flinkVersion"] == "1.18.1"
    await running.patch_spec("Execution", "run-1", {"state": "Stopped"})
    savepoint = status(await running.wait_phase("run-1", "Stopped"))["lastSavepoint"]["path"]
    await running.patch_spec("Execution", "run-1", {"state": "Running"})
    resumed = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    assert resumed != first
    restored = running.job(resumed).restored
    assert restored is not None and restored.external_path == savepoint
