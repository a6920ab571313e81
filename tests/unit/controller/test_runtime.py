"""The poller's snapshot: job states, and which RUNNING jobs still deploy their tasks (no savepoint possible yet)."""

from __future__ import annotations

import asyncio
from typing import Any

from flink_manager.controller.runtime import ClusterRuntime, tasks_deploying
from flink_manager.flink.models import JobOverview


def overview(job_id: str, state: str, **tasks: int) -> JobOverview:
    counts = {"running": 0, "finished": 0, "scheduled": 0, "deploying": 0, "initializing": 0, **tasks}
    counts["total"] = sum(counts.values())
    return JobOverview.model_validate({"jid": job_id, "name": "job", "state": state, "tasks": counts})


def test_a_running_job_deploys_until_every_task_runs_or_finished() -> None:
    assert tasks_deploying(overview("a", "RUNNING", running=2, scheduled=2))
    assert tasks_deploying(overview("a", "RUNNING", running=3, initializing=1))
    assert not tasks_deploying(overview("a", "RUNNING", running=4))
    assert not tasks_deploying(overview("a", "RUNNING", running=2, finished=2))
    assert not tasks_deploying(overview("a", "RUNNING"))  # no task counts: nothing to wait for
    assert not tasks_deploying(overview("a", "CANCELLING", running=1, deploying=1))


class ScriptedClient:
    def __init__(self) -> None:
        self.jobs: list[JobOverview] = []

    async def jobs_overview(self) -> list[JobOverview]:
        return list(self.jobs)


def test_the_poll_wakes_a_job_whose_tasks_begin_to_run() -> None:
    client = ScriptedClient()
    runtime = ClusterRuntime("ns", "default", client, poll_interval=5, transition_poll_interval=1,  # type: ignore[arg-type]
                             on_jobs_changed=lambda *_: None)

    async def poll(*jobs: JobOverview) -> set[str]:
        client.jobs = list(jobs)
        return await runtime.poll_once()

    async def scenario() -> list[Any]:
        first = await poll(overview("a", "RUNNING", running=1, deploying=1))
        assert runtime.snapshot.deploying == frozenset({"a"})
        return [
            first,
            await poll(overview("a", "RUNNING", running=1, deploying=1)),
            await poll(overview("a", "RUNNING", running=2)),
            await poll(overview("a", "RUNNING", running=2)),
        ]

    first, unchanged, running, quiet = asyncio.run(scenario())
    assert first == {"a"} and unchanged == set() and running == {"a"} and quiet == set()
    assert runtime.snapshot.deploying == frozenset()
