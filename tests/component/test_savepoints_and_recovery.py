"""Beyond the basic lifecycle: periodic savepoints, retention and disposal, restart from the latest state,
rollback of a failed upgrade, jar housekeeping, FINISHED stays FINISHED, deletion that cannot deadlock."""

from __future__ import annotations

from typing import Any

from tests.component.conftest import Stack
from tests.component.test_execution_lifecycle import actions, condition, restored_from, status
from tests.waiting import wait_for

RETAIN = {"execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"}


def savepoints(body: dict[str, Any], reason: str | None = None) -> list[dict[str, Any]]:
    return [s for s in status(body).get("savepoints", []) if reason is None or s["reason"] == reason]


async def test_periodic_savepoints_are_taken_on_schedule_and_never_doubled(running: Stack) -> None:
    await running.quickstart(execution=running.execution(savepointSchedule="1s"))
    job_id = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    body = await running.wait("Execution", "run-1", lambda b: len(savepoints(b, "PERIODIC")) >= 3, timeout=30)
    periodic = [h for h in status(body)["history"] if h["action"] == "SAVEPOINT"]
    assert periodic and all(h["details"]["reason"] == "PERIODIC" for h in periodic)
    # Every savepoint Flink was asked for completed and is recorded: none was triggered twice.
    triggered = running.flink.call_count("POST /jobs/:jobid/savepoints")
    assert triggered <= len(savepoints(await running.get("Execution", "run-1"))) + 1
    assert status(body)["flinkJobId"] == job_id


async def test_retention_disposes_the_oldest_savepoints_through_flink(running: Stack) -> None:
    await running.quickstart(execution=running.execution(savepointRetention={"maxCount": 2, "maxAge": "7d"}))
    await running.wait_phase("run-1", "Running")
    taken: list[str] = []
    for nonce in range(1, 5):
        await running.patch_spec("Execution", "run-1", {"savepointNonce": nonce})
        body = await running.wait(
            "Execution",
            "run-1",
            lambda b, n=nonce: (
                status(b).get("observedSavepointNonce") == n
                and not status(b).get("pending")
                and status(b).get("lastSavepoint")
            ),
        )
        taken.append(status(body)["lastSavepoint"]["path"])
    body = await running.wait("Execution", "run-1", lambda b: len(savepoints(b)) == 2 and not status(b).get("pending"))
    kept = [s["path"] for s in savepoints(body)]
    assert kept == taken[-2:]
    for disposed in taken[:2]:
        assert disposed not in running.flink.cluster.savepoints
    assert status(body)["lastSavepoint"]["path"] in running.flink.cluster.savepoints


async def test_a_failed_disposal_keeps_the_entry_and_does_not_loop(running: Stack) -> None:
    await running.quickstart(execution=running.execution(savepointRetention={"maxCount": 1, "maxAge": "7d"}))
    await running.wait_phase("run-1", "Running")
    await running.patch_spec("Execution", "run-1", {"savepointNonce": 1})
    await running.wait("Execution", "run-1", lambda b: len(savepoints(b)) == 1 and not status(b).get("pending"))
    running.flink.fail_next("POST /savepoint-disposal", times=-1, status=500)
    await running.patch_spec("Execution", "run-1", {"savepointNonce": 2})
    body = await running.wait(
        "Execution",
        "run-1",
        lambda b: (
            condition(b, "Degraded").get("reason") in ("SavepointDisposalFailed", "FlinkClusterUnreachable")
            and len(savepoints(b)) == 2
        ),
        timeout=30,
    )
    assert len(savepoints(body)) == 2


async def test_a_failed_job_restarts_from_its_latest_retained_checkpoint(running: Stack) -> None:
    await running.quickstart(
        flinkConfig={"simulator.fail-after": "1", **RETAIN},
        execution=running.execution(restartPolicy={"type": "OnFailure", "maxRestarts": 1, "backoffSeconds": 0}),
    )
    body = await running.wait("Execution", "run-1", lambda b: "RESTART" in actions(b), timeout=30)
    restart = next(h for h in status(body)["history"] if h["action"] == "RESTART")
    restored = restart["details"]["restoredFrom"]
    assert "chk-" in restored
    assert restored_from(running, restart["flinkJobId"]) == restored


async def test_without_usable_state_a_failed_job_stays_failed_with_the_reason(running: Stack) -> None:
    await running.quickstart(  # no savepoint, and checkpoints are not retained when the job fails
        flinkConfig={"simulator.fail-after": "1"},
        execution=running.execution(restartPolicy={"type": "OnFailure", "maxRestarts": 3, "backoffSeconds": 0}),
    )
    body = await running.wait(
        "Execution", "run-1", lambda b: condition(b, "Degraded").get("reason") == "NoRestorableState", timeout=30
    )
    assert status(body)["phase"] == "Failed"
    assert "allowStateless" in condition(body, "Degraded")["message"]
    assert running.flink.call_count("run_jar") == 1


async def test_a_failed_upgrade_is_rolled_back_to_the_stable_generation(running: Stack) -> None:
    await running.quickstart(rollback={"enabled": True, "windowSeconds": 2})
    await running.wait("Execution", "run-1", lambda b: status(b).get("stableRunConfig") is not None, timeout=30)
    await running.patch_spec("JobSpec", "job", {"parallelism": 2, "flinkConfig": {"simulator.fail-after": "0.5"}})
    body = await running.wait(
        "Execution", "run-1", lambda b: "ROLLBACK" in actions(b) and status(b).get("phase") == "Running", timeout=30
    )
    assert actions(body)[-3:] == ["UPGRADE", "FAIL", "ROLLBACK"]
    assert running.job(status(body)["flinkJobId"]).parallelism == 1
    assert condition(body, "Degraded")["reason"] == "RolledBack"
    upgrade = next(h for h in status(body)["history"] if h["action"] == "UPGRADE")
    assert restored_from(running, status(body)["flinkJobId"]) == upgrade["details"]["restoredFrom"]
    runs = running.flink.call_count("run_jar")
    # No loop back to the failed generation while the JobSpec stays as it is.
    await running.patch_spec("Execution", "run-1", {"savepointNonce": 1})
    await running.wait(
        "Execution", "run-1", lambda b: status(b).get("observedSavepointNonce") == 1 and not status(b).get("pending")
    )
    assert running.flink.call_count("run_jar") == runs
    await running.patch_spec("JobSpec", "job", {"parallelism": 3, "flinkConfig": {}})
    body = await running.wait(
        "Execution",
        "run-1",
        lambda b: (
            condition(b, "Degraded").get("status") == "False"
            and status(b).get("phase") == "Running"
            and status(b).get("runConfig", {}).get("parallelism") == 3
        ),
        timeout=30,
    )


async def test_a_failed_upgrade_without_a_stable_generation_is_degraded_and_does_not_loop(running: Stack) -> None:
    await running.quickstart(rollback={"enabled": True, "windowSeconds": 600})
    await running.wait_phase("run-1", "Running")
    await running.patch_spec("JobSpec", "job", {"parallelism": 2, "flinkConfig": {"simulator.fail-after": "0.5"}})
    body = await running.wait(
        "Execution",
        "run-1",
        lambda b: (status(b).get("rollback") or {}).get("reason") == "NoStableConfiguration",
        timeout=30,
    )
    assert status(body)["phase"] == "Failed"
    assert condition(body, "Degraded")["reason"] == "RolledBack"
    runs = running.flink.call_count("run_jar")
    await running.patch_spec("Execution", "run-1", {"savepointNonce": 1})  # any reconcile
    await running.wait(
        "Execution", "run-1", lambda b: status(b).get("observedGeneration") == b["metadata"]["generation"]
    )
    assert running.flink.call_count("run_jar") == runs


async def test_unused_jars_are_deleted_after_the_grace_period_and_uploaded_again_on_demand(stack: Stack) -> None:
    await stack.start_operator(jar_grace_seconds=1, jar_housekeeping_seconds=1)
    await stack.quickstart()
    await stack.wait_phase("run-1", "Running")
    first_jar = status(await stack.get("Artifact", "job-jar"))["uploads"][0]["jarId"]
    await stack.delete("JobSpec", "job")  # nothing refers to the artifact any more
    await stack.wait_gone("Execution", "run-1")
    await wait_for(lambda: first_jar not in stack.flink.cluster.jars, timeout=30, what="the unused jar to be deleted")
    artifact = await stack.wait("Artifact", "job-jar", lambda b: not status(b).get("uploads"))
    assert status(artifact)["phase"] == "Ready"
    await stack.apply(stack.job_spec())
    await stack.apply(stack.execution(name="run-2"))
    await stack.wait_phase("run-2", "Running")
    uploads = status(await stack.get("Artifact", "job-jar"))["uploads"]
    assert len(uploads) == 1 and uploads[0]["jarId"] != first_jar and uploads[0]["jarId"] in stack.flink.cluster.jars


async def test_upload_records_follow_a_cluster_that_lost_its_jars(stack: Stack) -> None:
    await stack.start_operator(jar_housekeeping_seconds=1)
    await stack.quickstart()
    await stack.wait_phase("run-1", "Running")
    await stack.flink.restart_cluster()
    await stack.wait("Artifact", "job-jar", lambda b: not status(b).get("uploads"), timeout=30)


async def test_a_finished_job_is_not_resubmitted(running: Stack) -> None:
    await running.quickstart(flinkConfig={"simulator.finish-after": "0.5"})
    body = await running.wait_phase("run-1", "Finished")
    assert actions(body) == ["START", "FINISH"]
    await running.patch_spec("Execution", "run-1", {"savepointNonce": 1})  # a reconcile with state Running
    await running.wait(
        "Execution", "run-1", lambda b: status(b).get("observedGeneration") == b["metadata"]["generation"]
    )
    assert running.flink.call_count("run_jar") == 1
    assert condition(await running.get("Execution", "run-1"), "Ready")["reason"] == "JobFinished"


async def test_deleting_an_execution_whose_cluster_is_unreachable_completes_after_the_timeout(running: Stack) -> None:
    await running.quickstart(execution=running.execution(deletionTimeoutSeconds=2))
    await running.wait_phase("run-1", "Running")
    await running.flink.refuse_connections(60)
    await running.delete("Execution", "run-1")
    await running.wait_gone("Execution", "run-1", timeout=30)
    events = await running.events("run-1")
    assert any(e["reason"] == "DeletionTimeout" and e["type"] == "Warning" for e in events)
