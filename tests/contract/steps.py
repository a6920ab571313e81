"""Steps the contract tests share: start the example job, wait for states, checkpoints and savepoints."""

from __future__ import annotations

from collections.abc import Sequence

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.models import CheckpointingStatistics, CheckpointStats, OperationState, SavepointStatus
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS
from tests.waiting import wait_for

NO_RESTARTS = {"restart-strategy.type": "none"}
TIMEOUT = 60.0


async def listed_state(client: FlinkClient, job_id: str) -> JobState | None:
    """The job's state in `/jobs/overview` (the uncached view), None while it is not listed."""
    return next((job.state for job in await client.jobs_overview() if job.job_id == job_id), None)


async def wait_listed(client: FlinkClient, job_id: str, *states: JobState, timeout: float = TIMEOUT) -> JobState:
    """Wait until `/jobs/overview` lists the job in one of `states`."""

    async def probe() -> JobState | None:
        state = await listed_state(client, job_id)
        return state if state in states else None

    return await wait_for(probe, timeout=timeout, interval=0.05, what=f"job {job_id} in {[s.value for s in states]}")


async def run_example(
    client: FlinkClient,
    jar_id: str,
    job_id: str,
    *args: str,
    savepoint: str | None = None,
    config: dict[str, str] | None = None,
) -> str:
    """Run the example job (parallelism 1, no restarts unless `config` says otherwise)."""
    return await client.run_jar(
        jar_id,
        entry_class=EXAMPLE_ENTRY_CLASS,
        parallelism=1,
        program_args=["--rate", "20", *args],
        job_id=job_id,
        savepoint_path=savepoint,
        flink_config=NO_RESTARTS if config is None else config,
    )


async def running_with_a_checkpoint(
    client: FlinkClient, jar_id: str, job_id: str, *args: str, savepoint: str | None = None
) -> CheckpointStats:
    """Run the example job and wait for its first completed checkpoint (its tasks then surely run)."""
    assert await run_example(client, jar_id, job_id, *args, savepoint=savepoint) == job_id
    await wait_listed(client, job_id, JobState.RUNNING)
    return await wait_checkpoint(client, job_id)


async def wait_checkpoint(client: FlinkClient, job_id: str) -> CheckpointStats:
    """Wait for a completed checkpoint with an external path in `/jobs/{id}/checkpoints`."""

    async def probe() -> CheckpointStats | None:
        latest = (await client.checkpoints(job_id)).latest_completed
        return latest if latest is not None and latest.external_path else None

    return await wait_for(probe, timeout=TIMEOUT, interval=0.1, what=f"a completed checkpoint of {job_id}")


async def wait_checkpoints(client: FlinkClient, job_id: str, *, savepoint: str) -> CheckpointingStatistics:
    """Wait until `/jobs/{id}/checkpoints` (cached by Flink) shows this savepoint as the latest one."""

    async def probe() -> CheckpointingStatistics | None:
        stats = await client.checkpoints(job_id)
        return (
            stats if stats.latest_savepoint is not None and stats.latest_savepoint.external_path == savepoint else None
        )

    return await wait_for(
        probe, timeout=TIMEOUT, interval=0.1, what=f"savepoint {savepoint} in the checkpoints of {job_id}"
    )


async def wait_operation(
    client: FlinkClient, job_id: str, trigger_id: str
) -> tuple[SavepointStatus, Sequence[OperationState]]:
    """Poll a savepoint or stop until it is COMPLETED; returns the last status and every state seen."""
    seen: list[OperationState] = []

    async def probe() -> SavepointStatus | None:
        status = await client.savepoint_status(job_id, trigger_id)
        seen.append(status.state)
        if status.state == OperationState.IN_PROGRESS:
            assert status.location is None and status.failure is None
            return None
        return status

    return await wait_for(probe, timeout=TIMEOUT, interval=0.02, what=f"savepoint {trigger_id}"), seen
