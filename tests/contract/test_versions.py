"""Where Flink versions differ, each version against the dialect table (flink_manager.flink.dialect): the run request's
claim-mode field and its strictness about unknown fields, the run answer, the exceptions view, the job views' fields
and the applications endpoints. On real Flink these prove the table; on the simulator, that it answers from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.dialect import FlinkDialect
from tests.contract.conftest import FlinkBackend
from tests.contract.steps import (
    NO_RESTARTS,
    listed_state,
    run_example,
    running_with_a_checkpoint,
    wait_checkpoints,
    wait_listed,
    wait_operation,
)
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS
from tests.waiting import wait_for

OVERVIEW_ENTRY = {"jid", "name", "start-time", "end-time", "duration", "state", "last-modification", "tasks"}
DETAILS = {
    "jid",
    "name",
    "isStoppable",
    "state",
    "start-time",
    "end-time",
    "duration",
    "maxParallelism",
    "now",
    "timestamps",
    "vertices",
    "status-counts",
    "plan",
}
LEGACY_EXCEPTIONS = {"root-exception", "timestamp", "all-exceptions", "truncated"}


@pytest.fixture
async def http(flink_backend: FlinkBackend) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=flink_backend.rest_url, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        return response.status, await response.json(content_type=None)


def run_body(job_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "entryClass": EXAMPLE_ENTRY_CLASS,
        "parallelism": 1,
        "programArgsList": ["--rate", "20"],
        "jobId": job_id,
        "flinkConfiguration": NO_RESTARTS,
        **extra,
    }


async def test_the_client_sends_the_claim_mode_in_the_field_the_version_reads(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
    http: aiohttp.ClientSession,
    dialect: FlinkDialect,
) -> None:
    job_id = flink_backend.new_job_id()
    assert await run_example(client, jar_id, job_id) == job_id  # warm-up: learns the dialect
    await client.cancel_job(job_id)
    job_id = flink_backend.new_job_id()
    assert (
        await client.run_jar(
            jar_id,
            entry_class=EXAMPLE_ENTRY_CLASS,
            parallelism=1,
            program_args=["--rate", "20"],
            job_id=job_id,
            flink_config=NO_RESTARTS,
            claim_mode="NO_CLAIM",
        )
        == job_id
    )
    await client.cancel_job(job_id)
    # The other field name, sent by hand: known (deprecated) or ignored from 1.20, refused before.
    other = "restoreMode" if dialect.claim_mode_field == "claimMode" else "claimMode"
    status, answer = await call(
        http, "POST", f"/jars/{jar_id}/run", run_body(flink_backend.new_job_id(), **{other: "NO_CLAIM"})
    )
    if dialect.claim_mode_field == "restoreMode":
        assert status == 400 and 'Unrecognized field "claimMode"' in answer["errors"][0], answer
    else:
        assert status == 200, answer
        await client.cancel_job(answer["jobid"])


async def test_a_request_field_the_version_does_not_know(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
    http: aiohttp.ClientSession,
    dialect: FlinkDialect,
) -> None:
    job_id = flink_backend.new_job_id()
    status, answer = await call(http, "POST", f"/jars/{jar_id}/run", run_body(job_id, noSuchField=1))
    if dialect.rejects_unknown_fields:
        assert status == 400, answer
        assert 'UnrecognizedPropertyException: Unrecognized field "noSuchField"' in answer["errors"][0]
        assert await listed_state(client, job_id) is None
    else:
        assert status == 200, answer
        assert answer["jobid"] == job_id
        await client.cancel_job(job_id)
    # The savepoint disposal request has one field; a `triggerId` is refused or ignored like any unknown field.
    missing = f"{flink_backend.savepoint_dir}/savepoint-000000-000000000000"
    status, answer = await call(http, "POST", "/savepoint-disposal", {"savepoint-path": missing, "triggerId": "a" * 32})
    if dialect.rejects_unknown_fields:
        assert status == 400 and 'Unrecognized field "triggerId"' in answer["errors"][0], answer
    else:
        assert status == 200 and answer["request-id"] != "a" * 32, answer


async def test_the_run_answer_and_the_applications(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
    http: aiohttp.ClientSession,
    dialect: FlinkDialect,
) -> None:
    job_id = flink_backend.new_job_id()
    status, answer = await call(http, "POST", f"/jars/{jar_id}/run", run_body(job_id))
    assert status == 200
    assert answer == ({"jobid": job_id, "applicationId": job_id} if dialect.applications else {"jobid": job_id})
    status, applications = await call(http, "GET", "/applications/overview")
    if dialect.applications:
        assert status == 200 and job_id in {application["id"] for application in applications["applications"]}
    else:
        assert status == 404
    await wait_listed(client, job_id, JobState.RUNNING)
    entry = next(job for job in (await call(http, "GET", "/jobs/overview"))[1]["jobs"] if job["jid"] == job_id)
    assert set(entry) == OVERVIEW_ENTRY | set(dialect.job_overview_fields)

    async def details() -> Any:
        status, body = await call(http, "GET", f"/jobs/{job_id}")
        return body if status == 200 and body["state"] == "RUNNING" else None

    assert set(await wait_for(details, timeout=30, what="details RUNNING")) == DETAILS | set(dialect.job_details_fields)
    await client.cancel_job(job_id)


async def test_the_exceptions_of_a_failed_job(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
    http: aiohttp.ClientSession,
    dialect: FlinkDialect,
) -> None:
    job_id = flink_backend.new_job_id()
    await run_example(client, jar_id, job_id, "--fail-after", "20")
    await wait_listed(client, job_id, JobState.FAILED)

    async def failure() -> Any:
        status, body = await call(http, "GET", f"/jobs/{job_id}/exceptions?maxExceptions=1")
        return body if status == 200 and body["exceptionHistory"]["entries"] else None

    body = await wait_for(failure, timeout=30, what="the failure in /exceptions")
    task = body["exceptionHistory"]["entries"][0]["concurrentExceptions"][0]
    assert set(task) >= {"taskName", "taskManagerId", *dialect.task_location_fields}
    assert ({"location", "endpoint"} - set(dialect.task_location_fields)).isdisjoint(task)
    if dialect.legacy_exception_fields:
        assert set(body) == {"exceptionHistory"} | LEGACY_EXCEPTIONS
        assert body["root-exception"].startswith("org.apache.flink.runtime.JobException: Recovery is suppressed")
        assert [set(entry) for entry in body["all-exceptions"]] == [
            {"exception", "task", "timestamp", "taskManagerId", *dialect.task_location_fields}
        ]
        assert [entry["exception"].splitlines()[0] for entry in body["all-exceptions"]] == [
            "java.lang.IllegalStateException: StatefulCounterJob fails on purpose after 20 records (--fail-after 20)"
        ]
    else:
        assert set(body) == {"exceptionHistory"}
    # What the client reads is the same on every version.
    assert (await client.exceptions(job_id)).root_cause == (
        "IllegalStateException: StatefulCounterJob fails on purpose after 20 records (--fail-after 20)"
    )


async def test_a_job_id_stays_taken_with_the_versions_exception(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
    http: aiohttp.ClientSession,
    dialect: FlinkDialect,
) -> None:
    job_id = flink_backend.new_job_id()
    await run_example(client, jar_id, job_id)
    status, answer = await call(http, "POST", f"/jars/{jar_id}/run", run_body(job_id))
    assert status == 400
    exception, message = dialect.duplicate_job
    assert f"Caused by: org.apache.flink.runtime.client.{exception}: {message}" in answer["errors"][0], answer
    await client.cancel_job(job_id)


async def test_a_savepoints_format_type_shows_in_its_statistics_and_a_restore_takes_a_claim_mode(
    client: FlinkClient,
    jar_id: str,
    flink_backend: FlinkBackend,
    http: aiohttp.ClientSession,
    dialect: FlinkDialect,
) -> None:
    job_id = flink_backend.new_job_id()
    await running_with_a_checkpoint(client, jar_id, job_id)
    status, _ = await wait_operation(client, job_id, await client.trigger_savepoint(job_id, format_type="NATIVE"))
    path = status.location
    assert path is not None
    stats = await wait_checkpoints(client, job_id, savepoint=path)
    assert [entry.savepoint_format for entry in stats.history if entry.external_path == path] == ["NATIVE"]
    await client.cancel_job(job_id)
    # A claim mode Flink does not know is refused by its JSON mapper, naming the value; nothing runs.
    refused = flink_backend.new_job_id()
    code, answer = await call(
        http,
        "POST",
        f"/jars/{jar_id}/run",
        run_body(refused, savepointPath=path, **{dialect.claim_mode_field: "BOGUS"}),
    )
    assert code == 400 and '"BOGUS"' in answer["errors"][0], answer
    assert await listed_state(client, refused) is None
    restored = flink_backend.new_job_id()
    assert (
        await client.run_jar(
            jar_id,
            entry_class=EXAMPLE_ENTRY_CLASS,
            parallelism=1,
            program_args=["--rate", "20"],
            job_id=restored,
            flink_config=NO_RESTARTS,
            savepoint_path=path,
            claim_mode="CLAIM",
        )
        == restored
    )
    await wait_listed(client, restored, JobState.RUNNING)

    async def restored_from() -> str | None:
        stats = await client.checkpoints(restored)
        return stats.restored.external_path if stats.restored is not None else None

    assert await wait_for(restored_from, timeout=60, interval=0.1, what="the restored savepoint") == path
    if flink_backend.simulator is not None:
        assert flink_backend.simulator.cluster.jobs[restored].claim_mode == "CLAIM"
