"""The quickstart on a real kube-apiserver and real Flink of the oldest, the long-term support and the newest version
(the rows of tests/infra/flink/versions.py marked e2e), driven with kubectl only: run, stop with a savepoint, resume
from it, restart, and delete, checked against what Flink reports and what it wrote to disk; with the operator as a
subprocess, and (on the newest version) as its built image run the way deploy/deployment.yaml runs it (read-only,
user 10001, logged in through kopf's in-cluster login with a token of its ServiceAccount)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import EndToEnd, local_path
from tests.infra.flink.versions import DISTRIBUTIONS, NEWEST

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]

EXECUTION = "stateful-counter-1"
FEX = f"fex/{EXECUTION}"


def status(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def actions(body: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in status(body).get("history", [])]


def last_entry(body: dict[str, Any], action: str) -> dict[str, Any]:
    return [entry for entry in status(body)["history"] if entry["action"] == action][-1]


def assert_savepoint_on_disk(path: str) -> None:
    folder = local_path(path)
    assert folder.is_dir(), f"savepoint {path} is not on disk"
    assert (folder / "_metadata").is_file(), f"savepoint {path} has no _metadata"


E2E_VERSIONS = [row.version for row in DISTRIBUTIONS if row.e2e]
# Every e2e version with the operator as a process; the image on the newest.
RUNS = [("process", version) for version in E2E_VERSIONS] + [("image", NEWEST.version)]


@pytest.mark.parametrize(("flink_manager", "flink_version"), RUNS, indirect=["flink_manager"])
def test_the_quickstart_runs_stops_resumes_restarts_and_is_deleted_on_real_flink(
    e2e: EndToEnd, flink_version: str
) -> None:
    # Apply the quickstart; the Execution becomes Ready with a RUNNING job in Flink.
    e2e.apply(*e2e.quickstart())
    e2e.kubectl(
        "wait",
        "--for=condition=Ready",
        "fc/default",
        "fa/stateful-counter",
        "fjs/stateful-counter",
        FEX,
        "--timeout=180s",
    )
    assert e2e.jsonpath("fc/default", "{.status.flinkVersion}") == flink_version  # the VERSION of `kubectl get fc`
    first = e2e.jsonpath(FEX, "{.status.flinkJobId}")
    assert len(first) == 32
    assert e2e.flink_jobs()[first] == "RUNNING"
    body = e2e.get(FEX)
    assert body is not None
    assert status(body)["phase"] == "Running"
    assert actions(body) == ["START"]
    assert status(body)["history"][0]["performedBy"] == "kubectl-client-side-apply"

    # `kubectl get fex` shows the printer columns; `kubectl describe fex` shows the Events.
    header, row = e2e.kubectl("get", "fex").splitlines()
    assert header.split() == ["NAME", "JOBSPEC", "STATE", "PHASE", "FLINK", "JOB", "READY", "AGE"]
    assert row.split()[:6] == [EXECUTION, "stateful-counter", "Running", "Running", first, "True"]
    described = e2e.kubectl("describe", FEX)
    assert "Events:" in described
    assert "Start" in described.split("Events:", 1)[1]

    # Stop with a savepoint: Stopped, the job FINISHED in Flink, the savepoint on disk.
    e2e.kubectl("patch", FEX, "--type=merge", "-p", json.dumps({"spec": {"state": "Stopped"}}))
    stopped = e2e.wait_phase(EXECUTION, "Stopped")
    savepoint = status(stopped)["lastSavepoint"]["path"]
    assert status(stopped)["lastSavepoint"]["reason"] == "STOP"
    assert_savepoint_on_disk(savepoint)
    assert e2e.flink_jobs()[first] == "FINISHED"
    assert last_entry(stopped, "STOP")["details"]["savepointPath"] == savepoint

    # Resume: a new job id, restored from that savepoint according to Flink's checkpoint statistics.
    e2e.kubectl("patch", FEX, "--type=merge", "-p", json.dumps({"spec": {"state": "Running"}}))
    resumed = e2e.wait(
        FEX,
        lambda b: (
            b if status(b).get("phase") == "Running" and status(b).get("flinkJobId") not in (None, first) else None
        ),
        what="the resumed run",
    )
    second = status(resumed)["flinkJobId"]
    e2e.wait_flink_state(second, "RUNNING")
    assert e2e.restored_from(second) == savepoint
    assert actions(resumed) == ["START", "STOP", "START"]
    assert last_entry(resumed, "START")["details"]["restoredFrom"] == savepoint

    # restartNonce: a new attempt, restored from the savepoint the restart took.
    e2e.kubectl("patch", FEX, "--type=merge", "-p", json.dumps({"spec": {"restartNonce": 1}}))
    restarted = e2e.wait(
        FEX,
        lambda b: b if "RESTART" in actions(b) and status(b).get("phase") == "Running" else None,
        what="the restarted run",
    )
    third = status(restarted)["flinkJobId"]
    assert third not in (first, second)
    assert status(restarted)["attempt"] == status(resumed)["attempt"] + 1
    restart_savepoint = last_entry(restarted, "RESTART")["details"]["restoredFrom"]
    assert restart_savepoint != savepoint
    assert_savepoint_on_disk(restart_savepoint)
    assert e2e.flink_jobs()[second] == "FINISHED"
    e2e.wait_flink_state(third, "RUNNING")
    assert e2e.restored_from(third) == restart_savepoint

    # Deleting the JobSpec: the garbage collector deletes the Execution, whose finalizer stops the job first.
    e2e.kubectl("delete", "fjs/stateful-counter", "--wait=false")
    e2e.kubectl("wait", "--for=delete", FEX, "fjs/stateful-counter", "--timeout=120s")
    assert e2e.flink_jobs()[third] == "FINISHED"  # deletionPolicy: savepoint
    events = json.loads(
        e2e.kubectl("get", "events", "--field-selector", f"involvedObject.name={EXECUTION}", "-o", "json")
    )["items"]
    reasons = [event["reason"] for event in events]
    assert "Delete" in reasons and "Restart" in reasons and "Stop" in reasons
