"""The baseline: the same N jobs started by a plain script with the Flink client, no operator.

Upload the jar once, N `run_jar` calls with job ids (as many at once as the operator has workers), then poll
`/jobs/overview` every `poll_seconds` (the operator's poll interval while jobs change state) until all N are RUNNING.
"""

from __future__ import annotations

import asyncio
import pathlib
import time
import uuid
from dataclasses import dataclass

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient


@dataclass
class DirectRun:
    seconds: float
    submit_seconds: float
    polls: int


async def run_direct(
    url: str,
    jar: pathlib.Path,
    entry_class: str,
    n: int,
    *,
    concurrency: int,
    poll_seconds: float,
    timeout: float = 600.0,
    savepoint_paths: list[str] | None = None,
) -> DirectRun:
    """Start N jobs directly (job i from savepoint_paths[i] when given); the time is from before the upload until a
    poll shows all N RUNNING."""
    job_ids = [uuid.uuid4().hex for _ in range(n)]
    async with FlinkClient(url, timeout=30.0) as client:
        started = time.perf_counter()
        jar_id = await client.upload_jar(jar, jar.name)
        semaphore = asyncio.Semaphore(concurrency)

        async def run(job_id: str, savepoint: str | None) -> None:
            async with semaphore:
                await client.run_jar(
                    jar_id, entry_class=entry_class, parallelism=1, job_id=job_id, savepoint_path=savepoint
                )

        savepoints: list[str | None] = list(savepoint_paths) if savepoint_paths else [None] * n
        await asyncio.gather(*(run(job_id, savepoint) for job_id, savepoint in zip(job_ids, savepoints, strict=True)))
        submitted = time.perf_counter() - started
        wanted = set(job_ids)
        polls = 0
        while True:
            polls += 1
            jobs = await client.jobs_overview()
            running = {job.job_id for job in jobs if job.state == JobState.RUNNING}
            if wanted <= running:
                return DirectRun(time.perf_counter() - started, submitted, polls)
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{len(wanted - running)} of {n} jobs not RUNNING after {timeout:.0f} s")
            await asyncio.sleep(poll_seconds)
