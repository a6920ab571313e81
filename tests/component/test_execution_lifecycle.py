"""The operator, in-process, against the embedded Kubernetes API and the simulated Flink: one test per flow."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.component.conftest import Stack
from tests.waiting import wait_for


def status(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status(body).get("conditions", []) if c["type"] == type_), {})


def actions(body: dict[str, Any]) -> list[str]:
    return [h["action"] for h in status(body).get("history", [])]


def flink_job(stack: Stack, job_id: str) -> Any:
    return stack.job(job_id)


def restored_from(stack: Stack, job_id: str) -> str | None:
    restored = stack.job(job_id).restored
    return restored.external_path if restored else None


async def test_start_brings_the_execution_to_running_with_a_flink_job(running: Stack) -> None:
    await running.quickstart()
    body = await running.wait_phase("run-1", "Running")
    job_id = status(body)["flinkJobId"]
    assert len(job_id) == 32
    assert flink_job(running, job_id).state.value == "RUNNING"
    assert actions(body) == ["START"]
    assert condition(body, "Ready")["status"] == "True"
    assert status(body)["observedGeneration"] == body["metadata"]["generation"]
    assert body["metadata"]["labels"]["flinkmanager.io/job-spec"] == "job"
    assert body["metadata"]["ownerReferences"][0]["kind"] == "JobSpec"
    artifact = await running.get("Artifact", "job-jar")
    assert status(artifact)["phase"] == "Ready"
    assert status(artifact)["uploads"][0]["cluster"] == "default"
    job_spec = await running.wait("JobSpec", "job", lambda b: status(b).get("executions", {}).get("running") == 1)
    assert condition(job_spec, "Ready")["status"] == "True"
    cluster = await running.wait("FlinkCluster", "default", lambda b: status(b).get("phase") == "Ready")
    assert status(cluster)["taskManagers"] >= 1


async def test_stop_savepoints_and_resume_restores_with_a_new_job_id(running: Stack) -> None:
    await running.quickstart()
    first = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    await running.patch_spec("Execution", "run-1", {"state": "Stopped"})
    stopped = await running.wait_phase("run-1", "Stopped")
    savepoint = status(stopped)["lastSavepoint"]["path"]
    assert flink_job(running, first).state.value == "FINISHED"
    await running.patch_spec("Execution", "run-1", {"state": "Running"})
    resumed = await running.wait_phase("run-1", "Running")
    second = status(resumed)["flinkJobId"]
    assert second != first
    assert restored_from(running, second) == savepoint
    assert actions(resumed) == ["START", "STOP", "START"]


async def test_restart_nonce_restarts_once(running: Stack) -> None:
    await running.quickstart()
    first = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    await running.patch_spec("Execution", "run-1", {"restartNonce": 1})
    body = await running.wait(
        "Execution", "run-1", lambda b: status(b).get("attempt") == 2 and status(b).get("phase") == "Running"
    )
    assert status(body)["flinkJobId"] != first
    assert actions(body) == ["START", "RESTART"]
    assert running.live_jobs() == [status(body)["flinkJobId"]]


async def test_a_job_spec_change_upgrades_through_a_savepoint(running: Stack) -> None:
    await running.quickstart()
    await running.wait_phase("run-1", "Running")
    await running.patch_spec("JobSpec", "job", {"parallelism": 2})
    body = await running.wait(
        "Execution", "run-1", lambda b: "UPGRADE" in actions(b) and status(b).get("phase") == "Running"
    )
    job = flink_job(running, status(body)["flinkJobId"])
    assert job.parallelism == 2
    assert restored_from(running, job.job_id) == status(body)["lastSavepoint"]["path"]


async def test_cancel(running: Stack) -> None:
    await running.quickstart()
    job_id = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    await running.patch_spec("Execution", "run-1", {"state": "Cancelled"})
    body = await running.wait_phase("run-1", "Cancelled")
    assert flink_job(running, job_id).state.value == "CANCELED"
    assert "lastSavepoint" not in status(body)


async def test_a_failed_job_reports_flinks_root_cause_and_restarts_on_failure(running: Stack) -> None:
    await running.quickstart(
        flinkConfig={
            "simulator.fail-after": "1",
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        },
        execution=running.execution(restartPolicy={"type": "OnFailure", "maxRestarts": 1, "backoffSeconds": 0}),
    )
    body = await running.wait("Execution", "run-1", lambda b: "RESTART" in actions(b), timeout=30)
    assert actions(body)[:3] == ["START", "FAIL", "RESTART"]
    fail = status(body)["history"][1]
    assert fail["details"]["error"]
    assert fail["performedBy"] == "flink-manager"
    final = await running.wait_phase("run-1", "Failed", timeout=30)
    assert status(final)["restarts"] == 1


async def test_deleting_the_job_spec_stops_the_job_and_removes_both(running: Stack) -> None:
    await running.quickstart()
    job_id = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]
    await running.delete("JobSpec", "job")
    await running.wait_gone("Execution", "run-1")
    await running.wait_gone("JobSpec", "job")
    assert flink_job(running, job_id).state.value == "FINISHED"  # deletionPolicy: savepoint
    events = await running.events("run-1")
    assert any(e["reason"] == "Delete" for e in events)


async def test_history_lists_each_action_once_in_order_and_posts_events(running: Stack) -> None:
    await running.quickstart()
    await running.wait_phase("run-1", "Running")
    await running.patch_spec("Execution", "run-1", {"state": "Stopped"})
    await running.wait_phase("run-1", "Stopped")
    await running.patch_spec("Execution", "run-1", {"state": "Running"})
    body = await running.wait_phase("run-1", "Running")
    history = status(body)["history"]
    assert [h["action"] for h in history] == ["START", "STOP", "START"]
    assert [h["seq"] for h in history] == [1, 2, 3]
    assert status(body)["historyTotal"] == 3

    async def reasons() -> list[str] | None:  # a step's Events are posted after its status write
        posted = sorted(e["reason"] for e in await running.events("run-1"))
        return posted if posted.count("Start") == 2 else None

    posted = await wait_for(reasons, timeout=10, what="two Start Events")
    assert posted.count("Stop") == 1


async def test_a_job_spec_pointing_at_a_missing_artifact_is_not_ready_and_flink_is_not_called(running: Stack) -> None:
    await running.apply(running.cluster())
    await running.apply(running.job_spec(artifactRef={"name": "missing"}))
    await running.apply(running.execution())
    body = await running.wait("JobSpec", "job", lambda b: condition(b, "Ready").get("status") == "False")
    assert condition(body, "Ready")["reason"] == "ArtifactNotFound"
    execution = await running.wait(
        "Execution", "run-1", lambda b: condition(b, "Ready").get("reason") == "ArtifactNotFound"
    )
    assert status(execution)["phase"] == "Pending"
    assert running.flink.call_count("run_jar") == 0
    assert running.flink.call_count("upload_jar") == 0


async def test_a_digest_mismatch_fails_the_artifact_without_an_upload(running: Stack) -> None:
    await running.apply(running.cluster())
    await running.apply(running.artifact(sha256="0" * 64))
    await running.apply(running.job_spec())
    await running.apply(running.execution())
    artifact = await running.wait("Artifact", "job-jar", lambda b: status(b).get("phase") == "Failed")
    assert condition(artifact, "Ready")["reason"] == "DigestMismatch"
    assert condition(artifact, "Degraded")["reason"] == "DigestMismatch"
    await running.wait("Execution", "run-1", lambda b: condition(b, "Ready").get("reason") == "ArtifactFailed")
    assert running.flink.call_count("upload_jar") == 0


async def test_an_insecure_artifact_url_is_refused_unless_allowed(stack: Stack) -> None:
    await stack.start_operator(allow_insecure_artifacts=False)
    await stack.apply(stack.artifact())
    artifact = await stack.wait("Artifact", "job-jar", lambda b: status(b).get("phase") == "Failed")
    assert condition(artifact, "Ready")["reason"] == "InsecureURL"
    assert "--allow-insecure-artifacts" in condition(artifact, "Ready")["message"]


async def test_the_schema_rejects_a_bad_manifest_with_the_field_named(running: Stack) -> None:
    from flink_manager.kube.client import KubeInvalid

    bad = running.job_spec(parallelism=0)
    try:
        await running.apply(bad)
    except KubeInvalid as exc:
        assert "spec.parallelism" in exc.message
    else:
        raise AssertionError("a JobSpec with parallelism 0 was accepted")


async def test_a_quiet_cluster_causes_no_writes(running: Stack) -> None:
    await running.quickstart()
    await running.wait_phase("run-1", "Running")
    await running.wait("FlinkCluster", "default", lambda b: status(b).get("phase") == "Ready")
    metrics = running.ctx.metrics

    async def quiet() -> bool:
        before = metrics.write_count
        polls = sum(rt.polls for rt in running.ctx.runtimes.values())
        await wait_for(
            lambda: sum(rt.polls for rt in running.ctx.runtimes.values()) >= polls + 3,
            timeout=10,
            what="three more polls",
        )
        return metrics.write_count == before

    assert await wait_for(quiet, timeout=30, what="three polls without a write")


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)  # the refusals are injected into the embedded API
async def test_writes_the_api_server_refuses_for_a_while_are_retried_without_a_crash(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A restarted kube-apiserver answers 403 until its authorizer has read the roles: the status writes it refuses
    are retried with backoff and said in a warning, not a traceback, and the Execution gets where it was going."""
    assert stack.api is not None
    await stack.start_operator()
    for resource in ("executions", "jobspecs", "artifacts"):
        stack.api.faults.fail(
            403,
            times=3,
            verb="patch",
            resource=resource,
            subresource="status",
            message=f'User "flink-manager" cannot patch resource "{resource}/status"',
        )
    with caplog.at_level(logging.WARNING, logger="flink_manager"):
        await stack.quickstart()
        body = await stack.wait_phase("run-1", "Running")
    assert actions(body) == ["START"]
    assert any("refused a write to Execution" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
