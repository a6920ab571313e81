"""Upgrades on the component stack: a last-state upgrade, and rollouts of a JobSpec change to 50 Executions with rollout.maxConcurrent 5: the operator in-process, the
simulated Flink. How many jobs are stopped at once is computed from the simulator's own record of every stop and
every start, so each transition counts, not only the moments a test happens to look."""

from __future__ import annotations

from typing import Any

from flink_manager.api.flinkjob import JobState
from flink_manager.kube.client import EXECUTIONS
from tests.component.conftest import Stack
from tests.waiting import wait_for

SIZE = 50
MAX = 5
TIMEOUT = 120


def status(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def progressing(body: dict[str, Any]) -> str | None:
    return next((c["reason"] for c in status(body).get("conditions", []) if c["type"] == "Progressing"), None)


async def executions(stack: Stack) -> list[dict[str, Any]]:
    return await stack.kube.list(EXECUTIONS, stack.namespace)


def most_stopped_at_once(stack: Stack) -> int:
    """The most Executions between the trigger of a stop and the RUNNING of their next job, over every transition."""
    cluster = stack.flink.cluster
    cluster.advance()
    stops = sorted((op.started, op.job_id) for op in cluster.operations.values() if op.stop)
    starts = sorted(
        job.timestamps[JobState.RUNNING] for job in cluster.jobs.values() if JobState.RUNNING in job.timestamps
    )
    edges: list[tuple[float, int]] = []
    first_runs = starts[:SIZE]  # the first start of each Execution ends no stop
    for time in starts[SIZE:]:
        edges.append((time, -1))
    edges += [(time, +1) for time, _ in stops]
    assert len(first_runs) == SIZE
    stopped = most = 0
    for _, change in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        stopped += change
        most = max(most, stopped)
    return most


async def test_a_change_reaches_50_executions_at_most_5_at_a_time_and_a_failed_upgrade_pauses_the_rollout(
    running: Stack,
) -> None:
    await running.apply(running.cluster())
    await running.apply(running.artifact())
    await running.apply(
        running.job_spec(rollout={"maxConcurrent": MAX}, rollback={"enabled": True, "windowSeconds": 2})
    )
    for index in range(SIZE):
        await running.apply(running.execution(f"run-{index:02d}"))
    await running.wait(
        "JobSpec",
        "job",
        lambda b: status(b).get("rollout", {}).get("progress") == f"{SIZE}/{SIZE}",
        timeout=TIMEOUT,
        what="all 50 Executions running",
    )

    await running.patch_spec("JobSpec", "job", {"programArgs": ["--rate", "20"]})
    # Done when every job runs it and none is admitted any more: each keeps its place through the rollback window.
    done = await running.wait(
        "JobSpec",
        "job",
        lambda b: (
            status(b).get("rollout", {}).get("progress") == f"{SIZE}/{SIZE}"
            and status(b)["rollout"].get("generation") == b["metadata"]["generation"]
            and not status(b)["rollout"].get("admitted")
        ),
        timeout=TIMEOUT,
        what="the rollout of generation 2",
    )
    assert status(done)["rollout"].get("paused") is None and status(done)["rollout"]["failed"] == []
    assert most_stopped_at_once(running) == MAX  # the bound is reached and never passed
    assert len(running.live_jobs()) == SIZE

    # Every job must have run its window before the next change, so that the failing one is rolled back to it.
    async def all_stable() -> bool:
        return all(
            (status(e).get("stableRunConfig") or {}).get("programArgs") == ["--rate", "20"]
            for e in await executions(running)
        )

    await wait_for(all_stable, timeout=TIMEOUT, what="every job stable on generation 2")

    await running.patch_spec("JobSpec", "job", {"flinkConfig": {"simulator.fail-after": "0.2s"}})
    paused = await running.wait(
        "JobSpec",
        "job",
        lambda b: (status(b).get("rollout") or {}).get("paused") is not None,
        timeout=TIMEOUT,
        what="the rollout to pause",
    )
    assert status(paused)["rollout"]["paused"]["reason"] == "UpgradeFailed"

    def upgraded_to_3(execution: dict[str, Any]) -> bool:
        return any(
            h["action"] == "UPGRADE" and (h.get("details") or {}).get("jobSpecGeneration") == 3
            for h in status(execution).get("history", [])
        )

    async def settled() -> list[dict[str, Any]] | None:
        """The others see the pause; the upgraded ones were rolled back and run again; nothing is in flight."""
        items = await executions(running)
        waiting = [e for e in items if progressing(e) == "RolloutPaused"]
        busy = [e for e in items if status(e).get("pending") is not None]
        rolled_back = all(
            status(e).get("rollback") and status(e).get("phase") == "Running" for e in items if upgraded_to_3(e)
        )
        return items if len(waiting) >= SIZE - MAX and not busy and rolled_back else None

    items = await wait_for(settled, timeout=TIMEOUT, what="the other Executions to see the pause")
    upgraded = [e for e in items if upgraded_to_3(e)]
    assert 1 <= len(upgraded) <= MAX
    assert all(
        actions[-2:] == ["FAIL", "ROLLBACK"]
        for actions in ([h["action"] for h in status(e)["history"]] for e in upgraded)
    )
    job_spec = await running.get("JobSpec", "job")
    assert job_spec is not None and status(job_spec)["rollout"]["updated"] < SIZE
    assert status(job_spec)["rollout"]["paused"] is not None
    assert most_stopped_at_once(running) == MAX


async def test_a_last_state_upgrade_restores_the_newest_retained_checkpoint_without_a_savepoint(
    running: Stack,
) -> None:
    retain = {"execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"}
    await running.quickstart(upgradeMode="last-state", flinkConfig=retain)
    first = status(await running.wait_phase("run-1", "Running"))["flinkJobId"]

    def checkpointed() -> bool:
        return running.job(first).checkpoints.view(running.flink.cluster.advance())[1] is not None

    await wait_for(checkpointed, timeout=20, what="a completed checkpoint")
    await running.patch_spec("JobSpec", "job", {"parallelism": 2})
    body = await running.wait(
        "Execution",
        "run-1",
        lambda b: status(b).get("attempt") == 2 and status(b).get("phase") == "Running",
        timeout=60,
        what="the last-state upgrade",
    )
    upgrade = status(body)["history"][-1]
    assert upgrade["action"] == "UPGRADE" and upgrade["details"]["restoreKind"] == "checkpoint"
    job = running.job(status(body)["flinkJobId"])
    # Restored from the old job's retained checkpoint (Flink reports any run given a savepointPath as restored
    # from a savepoint, is_savepoint true: tests/contract/test_checkpoint_retention.py).
    assert job.parallelism == 2 and job.restored is not None
    assert job.restored.external_path == upgrade["details"]["restoredFrom"] == status(body)["restoredFrom"]
    assert job.restored.external_path.startswith(f"file:{running.tmp}/checkpoints/{first}/chk-")
    assert job.claim_mode == "CLAIM"
    assert running.job(first).state == JobState.CANCELED
    assert not [op for op in running.flink.cluster.operations.values() if op.job_id == first]  # no savepoint
    assert status(body).get("lastSavepoint") is None
