"""Periodic savepoints and their retention on real Flink: the operator takes them on schedule, and a savepoint
trimmed by `savepointRetention` is disposed through Flink's `/savepoint-disposal`, which deletes its directory."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import EndToEnd, local_path

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]


def status(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def periodic_savepoints(body: dict[str, Any]) -> list[str]:
    """The paths of the PERIODIC savepoints the history records, oldest first."""
    return [
        entry["details"]["savepointPath"]
        for entry in status(body).get("history", [])
        if entry["action"] == "SAVEPOINT" and entry["details"].get("reason") == "PERIODIC"
    ]


def test_periodic_savepoints_are_taken_and_trimmed_ones_removed_from_disk(e2e: EndToEnd) -> None:
    cluster, artifact, job_spec, execution = e2e.quickstart()
    execution["metadata"]["name"] = "periodic"
    execution["spec"].update(savepointSchedule="2s", savepointRetention={"maxCount": 1})
    e2e.apply(cluster, artifact, job_spec, execution)
    running = e2e.wait_phase("periodic", "Running", timeout=180)
    job_id = status(running)["flinkJobId"]

    body = e2e.wait(
        "fex/periodic",
        lambda b: (
            b
            if len(periodic_savepoints(b)) >= 2
            and len(status(b).get("savepoints", [])) == 1
            and not status(b).get("pending")
            else None
        ),
        what="two periodic savepoints, all but the newest disposed",
    )
    taken = periodic_savepoints(body)
    kept = [s["path"] for s in status(body)["savepoints"]]
    assert status(body)["flinkJobId"] == job_id  # savepoints do not restart the job
    assert kept == [status(body)["lastSavepoint"]["path"]]
    assert status(body)["lastSavepoint"]["reason"] == "PERIODIC"
    assert len(set(taken)) == len(taken)  # none recorded twice
    assert (local_path(kept[0]) / "_metadata").is_file()
    trimmed = [path for path in taken if path not in kept]
    assert trimmed
    for path in trimmed:
        assert not local_path(path).exists(), f"the disposed savepoint {path} is still on disk"

    e2e.kubectl("delete", "fex/periodic", "--timeout=120s")
    assert e2e.flink_jobs()[job_id] == "FINISHED"
