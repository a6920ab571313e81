"""`execution.checkpointing.externalized-checkpoint-retention` on both backends: which latest checkpoint outlives a
job that FAILED or was CANCELED, as `/jobs/{id}/checkpoints` reports it and as a new run can restore from it.

Flink keeps the latest checkpoint of a failed job under RETAIN_ON_CANCELLATION and DELETE_ON_CANCELLATION, and of a
cancelled one under RETAIN_ON_CANCELLATION only; NO_EXTERNALIZED_CHECKPOINTS (the default) discards it."""

from __future__ import annotations

import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.errors import FlinkRequestRejected
from flink_manager.flink.models import CheckpointStats
from tests.contract.conftest import FlinkBackend
from tests.contract.steps import NO_RESTARTS, run_example, running_with_a_checkpoint, wait_checkpoint, wait_listed
from tests.waiting import wait_for

RETENTION = "execution.checkpointing.externalized-checkpoint-retention"
# 40 records at --rate 20 (run_example): the job fails after about 2 s, with checkpoints every 300 ms before that.
FAILING = ("--fail-after", "40", "--checkpoint-interval-ms", "300")


async def final_checkpoint(client: FlinkClient, job_id: str, *, discarded: bool) -> CheckpointStats:
    """`latest.completed` of the ended job once it shows `discarded` as expected (the view is cached for up to 3 s)."""

    async def probe() -> CheckpointStats | None:
        latest = (await client.checkpoints(job_id)).latest_completed
        return latest if latest is not None and latest.external_path and latest.discarded == discarded else None

    return await wait_for(
        probe, timeout=60, interval=0.2, what=f"the latest checkpoint of {job_id} with discarded={discarded}"
    )


async def assert_restorable(client: FlinkClient, jar_id: str, backend: FlinkBackend, path: str) -> None:
    restored_id = backend.new_job_id()
    await running_with_a_checkpoint(client, jar_id, restored_id, savepoint=path)
    restored = (await client.checkpoints(restored_id)).restored
    assert restored is not None
    # A run given the checkpoint as its savepointPath restores it through the savepoint settings: Flink then
    # reports the restore as a savepoint's (is_savepoint true), though the statistics listed it as a checkpoint.
    assert (restored.external_path, restored.is_savepoint) == (path, True)


async def assert_not_restorable(client: FlinkClient, jar_id: str, backend: FlinkBackend, path: str) -> None:
    with pytest.raises(FlinkRequestRejected, match="Cannot find checkpoint or savepoint"):
        await run_example(client, jar_id, backend.new_job_id(), savepoint=path)


@pytest.mark.parametrize(
    ("retention", "retained"),
    [
        pytest.param("RETAIN_ON_CANCELLATION", True, id="retain-on-cancellation"),
        pytest.param("DELETE_ON_CANCELLATION", True, id="delete-on-cancellation"),
        pytest.param(None, False, id="default-no-externalized-checkpoints"),
    ],
)
async def test_the_latest_checkpoint_of_a_failed_job(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend, retention: str | None, retained: bool
) -> None:
    job_id = flink_backend.new_job_id()
    config = dict(NO_RESTARTS) if retention is None else {**NO_RESTARTS, RETENTION: retention}
    await run_example(client, jar_id, job_id, *FAILING, config=config)
    await wait_listed(client, job_id, JobState.RUNNING)
    await wait_checkpoint(client, job_id)
    await wait_listed(client, job_id, JobState.FAILED)

    latest = await final_checkpoint(client, job_id, discarded=not retained)
    assert not latest.is_savepoint
    assert latest.external_path is not None and "/chk-" in latest.external_path
    if retained:
        await assert_restorable(client, jar_id, flink_backend, latest.external_path)
    else:
        await assert_not_restorable(client, jar_id, flink_backend, latest.external_path)


@pytest.mark.parametrize(
    ("retention", "retained"),
    [
        pytest.param("RETAIN_ON_CANCELLATION", True, id="retain-on-cancellation"),
        pytest.param("DELETE_ON_CANCELLATION", False, id="delete-on-cancellation"),
    ],
)
async def test_the_latest_checkpoint_of_a_cancelled_job(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend, retention: str, retained: bool
) -> None:
    job_id = flink_backend.new_job_id()
    assert (
        await run_example(
            client, jar_id, job_id, "--checkpoint-interval-ms", "300", config={**NO_RESTARTS, RETENTION: retention}
        )
        == job_id
    )
    await wait_listed(client, job_id, JobState.RUNNING)
    await wait_checkpoint(client, job_id)
    await client.cancel_job(job_id)
    await wait_listed(client, job_id, JobState.CANCELED)

    latest = await final_checkpoint(client, job_id, discarded=not retained)
    assert latest.external_path is not None
    if retained:
        await assert_restorable(client, jar_id, flink_backend, latest.external_path)
    else:
        await assert_not_restorable(client, jar_id, flink_backend, latest.external_path)
