"""The Flink client against both backends of each version: every test asserts what real Flink of that version does,
on the simulator answering as that version too."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager.controller.runtime import tasks_deploying
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.dialect import FlinkDialect
from flink_manager.flink.errors import (
    FlinkDuplicateJob,
    FlinkError,
    FlinkJarNotFound,
    FlinkJobNotFound,
    FlinkRequestRejected,
    FlinkTriggerNotFound,
)
from flink_manager.flink.models import OperationState
from tests.contract.conftest import FlinkBackend
from tests.contract.steps import (
    listed_state,
    run_example,
    running_with_a_checkpoint,
    wait_checkpoints,
    wait_listed,
    wait_operation,
)
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS
from tests.waiting import wait_for

TRIGGER = re.compile(r"^[0-9a-f]{32}$")


def savepoint_location(directory: str, job_id: str) -> re.Pattern[str]:
    """Flink's savepoint path: `<dir>/savepoint-<first 6 of the job id>-<12 hex>`, with `file:/` (one slash)."""
    return re.compile(re.escape(directory.rstrip("/")) + rf"/savepoint-{job_id[:6]}-[0-9a-f]{{12}}$")


async def test_cluster_config_and_overview(client: FlinkClient, flink_version: str, dialect: FlinkDialect) -> None:
    config = await client.config()
    overview = await client.overview()
    assert (config.flink_version, overview.flink_version) == (flink_version, flink_version)
    assert await client.dialect() == dialect
    assert config.flink_revision.startswith(overview.flink_commit)
    assert config.refresh_interval > 0
    assert overview.taskmanagers == 1
    assert 0 <= overview.slots_available <= overview.slots_total == 4


def file_uri(uri: str) -> str:
    """`file:///a/b` as Flink writes it back in paths: `file:/a/b`."""
    return "file:/" + uri.removeprefix("file:").lstrip("/") if uri.startswith("file:") else uri


async def test_the_jobmanager_reports_the_checkpoint_directory_its_jobs_checkpoint_to(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend, dialect: FlinkDialect
) -> None:
    storage_key, directory_key, _ = dialect.checkpoint_keys
    config = await client.jobmanager_config()
    directory = config[directory_key]
    assert config[storage_key] == "filesystem"
    job_id = flink_backend.new_job_id()
    latest = await running_with_a_checkpoint(client, jar_id, job_id)
    assert latest.external_path is not None
    assert re.fullmatch(re.escape(file_uri(directory).rstrip("/")) + rf"/{job_id}/chk-\d+", latest.external_path)


async def test_upload_list_and_delete_a_jar(client: FlinkClient, job_jar: Any) -> None:
    name = f"contract-{uuid.uuid4().hex[:8]}.jar"
    jar_id = await client.upload_jar(job_jar, name)
    assert re.fullmatch(
        rf"[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}_{re.escape(name)}", jar_id
    )
    listed = {jar.id: jar for jar in await client.list_jars()}
    assert listed[jar_id].name == name
    assert listed[jar_id].entry_classes == [EXAMPLE_ENTRY_CLASS]
    await client.delete_jar(jar_id)
    assert jar_id not in {jar.id for jar in await client.list_jars()}
    with pytest.raises(FlinkJarNotFound):
        await client.delete_jar(jar_id)
    with pytest.raises(FlinkJarNotFound):
        await client.run_jar(jar_id, entry_class=EXAMPLE_ENTRY_CLASS, job_id=uuid.uuid4().hex)


async def test_run_with_a_job_id_runs_once_and_cancels(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend, dialect: FlinkDialect
) -> None:
    job_id = flink_backend.new_job_id()
    assert await run_example(client, jar_id, job_id) == job_id
    assert await listed_state(client, job_id) is not None  # listed as soon as the run call answered
    await wait_listed(client, job_id, JobState.RUNNING)
    details = await wait_for(lambda: _details(client, job_id, JobState.RUNNING), timeout=30, what="details RUNNING")
    assert details.parallelism == 1 and details.entered(JobState.RUNNING)
    with pytest.raises(FlinkDuplicateJob, match=re.escape(f"{dialect.duplicate_job[0]}: {dialect.duplicate_job[1]}")):
        await run_example(client, jar_id, job_id)
    await client.cancel_job(job_id)
    await wait_listed(client, job_id, JobState.CANCELED)
    await client.cancel_job(job_id)  # cancelling an ended job is accepted
    with pytest.raises(FlinkDuplicateJob):
        await run_example(client, jar_id, job_id)  # the id stays taken after the job ended


async def _details(client: FlinkClient, job_id: str, state: JobState) -> Any:
    details = await client.job(job_id)
    return details if details.state == state else None


async def test_stop_with_savepoint_then_restore_from_it(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend
) -> None:
    job_id = flink_backend.new_job_id()
    await running_with_a_checkpoint(client, jar_id, job_id)
    target = f"{flink_backend.savepoint_dir}/stopped-{job_id[:8]}"
    trigger_id = uuid.uuid4().hex
    assert (
        await client.stop_with_savepoint(
            job_id, target_directory=target.replace("file:", "file://"), trigger_id=trigger_id
        )
        == trigger_id
    )
    assert await client.stop_with_savepoint(job_id, target_directory=target, trigger_id=trigger_id) == trigger_id
    status, seen = await wait_operation(client, job_id, trigger_id)
    assert set(seen) <= {OperationState.IN_PROGRESS, OperationState.COMPLETED}
    assert status.succeeded and status.location is not None
    assert savepoint_location(target, job_id).match(status.location), status.location
    await wait_listed(client, job_id, JobState.FINISHED)
    stats = await wait_checkpoints(client, job_id, savepoint=status.location)
    assert stats.latest_savepoint is not None and stats.latest_savepoint.is_savepoint
    assert stats.latest_savepoint.checkpoint_type == "SYNC_SAVEPOINT"
    assert len([c for c in stats.history if c.is_savepoint]) == 1  # the trigger id was sent twice, one savepoint

    restored_id = flink_backend.new_job_id()
    await running_with_a_checkpoint(client, jar_id, restored_id, savepoint=status.location)
    restored = (await client.checkpoints(restored_id)).restored
    assert restored is not None
    assert (restored.external_path, restored.is_savepoint, restored.id) == (
        status.location,
        True,
        stats.latest_savepoint.id,
    )
    assert (await client.checkpoints(restored_id)).latest_completed.id > restored.id  # type: ignore[union-attr]


async def test_a_failing_job_reports_its_root_cause(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend
) -> None:
    job_id = flink_backend.new_job_id()
    await run_example(client, jar_id, job_id, "--fail-after", "20")
    await wait_listed(client, job_id, JobState.FAILED)

    async def root_cause() -> str | None:
        return (await client.exceptions(job_id)).root_cause

    cause = await wait_for(root_cause, timeout=30, what="the failure in /exceptions")
    assert cause == "IllegalStateException: StatefulCounterJob fails on purpose after 20 records (--fail-after 20)"
    details = await wait_for(lambda: _details(client, job_id, JobState.FAILED), timeout=30, what="details FAILED")
    assert details.entered(JobState.FAILING) and details.end_time


async def test_a_savepoint_without_stopping(client: FlinkClient, jar_id: str, flink_backend: FlinkBackend) -> None:
    job_id = flink_backend.new_job_id()
    await running_with_a_checkpoint(client, jar_id, job_id)
    trigger_id = uuid.uuid4().hex
    assert await client.trigger_savepoint(job_id, trigger_id=trigger_id) == trigger_id
    status, _ = await wait_operation(client, job_id, trigger_id)
    assert status.location is not None and savepoint_location(flink_backend.savepoint_dir, job_id).match(
        status.location
    )
    assert (
        await client.trigger_savepoint(job_id, trigger_id=trigger_id) == trigger_id
    )  # again after COMPLETED: no new one
    stats = await wait_checkpoints(client, job_id, savepoint=status.location)
    assert stats.latest_savepoint is not None and stats.latest_savepoint.checkpoint_type == "SAVEPOINT"
    assert [c.external_path for c in stats.history if c.is_savepoint] == [status.location]
    assert await listed_state(client, job_id) == JobState.RUNNING


async def test_a_job_waiting_for_slots_is_running_with_its_tasks_not_and_refuses_savepoints(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
) -> None:
    """What the operator's poller reads as "tasks deploying" (no savepoint yet): a RUNNING job whose tasks wait."""
    job_id = flink_backend.new_job_id()
    await client.run_jar(
        jar_id,
        entry_class=EXAMPLE_ENTRY_CLASS,
        parallelism=16,
        job_id=job_id,
        program_args=["--rate", "20"],
        flink_config={"restart-strategy.type": "none"},
    )
    await wait_listed(client, job_id, JobState.RUNNING)
    entry = next(job for job in await client.jobs_overview() if job.job_id == job_id)
    assert entry.tasks["total"] == 32 and entry.tasks["running"] == 0  # two vertices of 16 on 4 slots
    assert tasks_deploying(entry)
    trigger_id = uuid.uuid4().hex
    assert await client.trigger_savepoint(job_id, trigger_id=trigger_id) == trigger_id
    status, _ = await wait_operation(client, job_id, trigger_id)
    assert not status.succeeded and status.location is None
    assert "Not all required tasks are currently running" in (status.failure or ""), status.failure
    await client.cancel_job(job_id)
    await wait_listed(client, job_id, JobState.CANCELED)


async def test_savepoint_disposal(client: FlinkClient, jar_id: str, flink_backend: FlinkBackend) -> None:
    job_id = flink_backend.new_job_id()
    await running_with_a_checkpoint(client, jar_id, job_id)
    status, _ = await wait_operation(client, job_id, await client.trigger_savepoint(job_id, cancel_job=True))
    assert status.location is not None
    await wait_listed(client, job_id, JobState.CANCELED)
    trigger_id = await client.dispose_savepoint(status.location)
    assert TRIGGER.match(trigger_id)  # Flink makes up the disposal's trigger id

    async def disposed(trigger: str) -> Any:
        result = await client.savepoint_disposal_status(trigger)
        return result if result.state == OperationState.COMPLETED else None

    assert (await wait_for(lambda: disposed(trigger_id), timeout=30, what="disposal")).succeeded
    second = await client.dispose_savepoint(status.location)
    assert TRIGGER.match(second) and second != trigger_id
    again = await wait_for(lambda: disposed(second), timeout=30, what="second disposal")
    assert again.failure is not None and again.failure.startswith(
        "FileNotFoundException: Cannot find checkpoint or savepoint"
    )
    with pytest.raises(FlinkRequestRejected, match="Cannot find checkpoint or savepoint"):
        await run_example(client, jar_id, flink_backend.new_job_id(), savepoint=status.location)


UNKNOWN = "0" * 31 + "1"
NOT_FOUND = [
    ("job details", lambda c: c.job(UNKNOWN), FlinkJobNotFound),
    ("cancel", lambda c: c.cancel_job(UNKNOWN), FlinkJobNotFound),
    ("checkpoints", lambda c: c.checkpoints(UNKNOWN), FlinkJobNotFound),
    ("exceptions", lambda c: c.exceptions(UNKNOWN), FlinkJobNotFound),
    ("savepoint status", lambda c: c.savepoint_status(UNKNOWN, uuid.uuid4().hex), FlinkTriggerNotFound),
    ("disposal status", lambda c: c.savepoint_disposal_status(uuid.uuid4().hex), FlinkTriggerNotFound),
    ("delete jar", lambda c: c.delete_jar(f"{uuid.uuid4()}_job.jar"), FlinkJarNotFound),
    ("run jar", lambda c: c.run_jar(f"{uuid.uuid4()}_job.jar", entry_class=EXAMPLE_ENTRY_CLASS), FlinkJarNotFound),
    ("malformed job id", lambda c: c.job("not-a-job-id"), FlinkRequestRejected),
    ("malformed trigger id", lambda c: c.savepoint_status(UNKNOWN, "not-a-trigger"), FlinkRequestRejected),
]


@pytest.mark.parametrize(("call", "error"), [row[1:] for row in NOT_FOUND], ids=[row[0] for row in NOT_FOUND])
async def test_unknown_ids_raise_typed_errors(
    client: FlinkClient, call: Callable[[FlinkClient], Awaitable[Any]], error: type[FlinkError]
) -> None:
    with pytest.raises(error) as raised:
        await call(client)
    assert raised.value.message and "\n" not in raised.value.message


async def test_a_stop_of_an_unknown_job_is_accepted_then_fails_as_job_not_found(client: FlinkClient) -> None:
    trigger_id = await client.stop_with_savepoint(UNKNOWN, trigger_id=uuid.uuid4().hex)
    status, _ = await wait_operation(client, UNKNOWN, trigger_id)
    assert not status.succeeded and status.location is None
    assert status.failure == f"FlinkJobNotFoundException: Could not find Flink job ({UNKNOWN})"


async def test_a_wrong_entry_class_is_rejected_with_one_line(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend
) -> None:
    job_id = flink_backend.new_job_id()
    with pytest.raises(FlinkRequestRejected) as rejected:
        await client.run_jar(jar_id, entry_class="io.flinkmanager.examples.NoSuchJob", job_id=job_id)
    assert rejected.value.message == (
        "ProgramInvocationException: The program's entry point class "
        "'io.flinkmanager.examples.NoSuchJob' was not found in the jar file."
    )
    assert rejected.value.status == 500
    assert await listed_state(client, job_id) is None


async def test_a_missing_savepoint_is_rejected_and_leaves_a_failed_job(
    client: FlinkClient, jar_id: str, flink_backend: FlinkBackend
) -> None:
    job_id = flink_backend.new_job_id()
    missing = f"{flink_backend.savepoint_dir}/savepoint-000000-000000000000"
    with pytest.raises(FlinkRequestRejected) as rejected:
        await run_example(client, jar_id, job_id, savepoint=missing)
    assert rejected.value.message.startswith(
        "FileNotFoundException: Cannot find checkpoint or savepoint file/directory"
    )
    assert await wait_listed(client, job_id, JobState.FAILED, timeout=10) == JobState.FAILED
    with pytest.raises(FlinkDuplicateJob):
        await run_example(client, jar_id, job_id)
