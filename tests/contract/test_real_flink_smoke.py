"""The real Flink test infrastructure works: the cluster starts, the example job runs on it and is cancelled."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from tests.infra.flink.cluster import RealFlinkCluster
from tests.infra.flink.fixtures import RealFlinkClusters
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS, example_job_jar
from tests.waiting import wait_for

pytestmark = pytest.mark.real_flink

TIMEOUT = aiohttp.ClientTimeout(total=30)


async def _job_state(session: aiohttp.ClientSession, base: str, job_id: str) -> str | None:
    """The job's state as /jobs/overview reports it (None while it is not listed)."""
    async with session.get(f"{base}/jobs/overview") as response:
        jobs: list[dict[str, Any]] = (await response.json())["jobs"]
    return next((job["state"] for job in jobs if job["jid"] == job_id), None)


@pytest.fixture
def real_flink(real_flink_clusters: RealFlinkClusters, flink_version: str) -> RealFlinkCluster:
    return real_flink_clusters.get(flink_version)


def test_overview_shows_one_task_manager_with_all_slots(real_flink: RealFlinkCluster, flink_version: str) -> None:
    overview = real_flink.overview()
    assert overview["flink-version"] == flink_version
    assert overview["taskmanagers"] == 1
    assert overview["slots-total"] == real_flink.slots


async def test_example_job_uploads_runs_and_is_cancelled(real_flink: RealFlinkCluster, flink_version: str) -> None:
    base = real_flink.rest_url
    job_id = uuid.uuid4().hex
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        form = aiohttp.FormData()
        form.add_field(
            "jarfile",
            example_job_jar(flink_version).read_bytes(),
            filename="job.jar",
            content_type="application/java-archive",
        )
        async with session.post(f"{base}/jars/upload", data=form) as response:
            assert response.status == 200
            jar_id = (await response.json())["filename"].rsplit("/", 1)[-1]
        async with session.get(f"{base}/jars") as response:
            listed = {jar["id"]: jar for jar in (await response.json())["files"]}
        assert [entry["name"] for entry in listed[jar_id]["entry"]] == [EXAMPLE_ENTRY_CLASS]

        run = {
            "entryClass": EXAMPLE_ENTRY_CLASS,
            "parallelism": 1,
            "programArgsList": ["--rate", "20"],
            "jobId": job_id,
        }
        async with session.post(f"{base}/jars/{jar_id}/run", json=run) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["jobid"] == job_id
        await wait_for(lambda: _is(session, base, job_id, "RUNNING"), timeout=60, what="job RUNNING")

        async with session.patch(f"{base}/jobs/{job_id}", params={"mode": "cancel"}) as response:
            assert response.status == 202
        await wait_for(lambda: _is(session, base, job_id, "CANCELED"), timeout=60, what="job CANCELED")

        async with session.delete(f"{base}/jars/{jar_id}") as response:
            assert response.status == 200


async def _is(session: aiohttp.ClientSession, base: str, job_id: str, state: str) -> bool:
    return await _job_state(session, base, job_id) == state
