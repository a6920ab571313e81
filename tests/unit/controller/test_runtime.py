"""The poller's snapshot: job states, and which RUNNING jobs still deploy their tasks (no savepoint possible yet)."""

from __future__ import annotations

import asyncio
from typing import Any

from flink_manager.controller.runtime import ClusterRuntime, tasks_deploying
from flink_manager.flink.errors import FlinkUnavailable
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
        self.down = False

    async def jobs_overview(self) -> list[JobOverview]:
        if self.down:
            raise FlinkUnavailable("cannot connect to http://flink:8081: Connection refused")
        return list(self.jobs)


def test_the_poll_wakes_a_job_whose_tasks_begin_to_run() -> None:
    client = ScriptedClient()
    runtime = ClusterRuntime(
        "ns",
        "default",
        client,
        poll_interval=5,
        transition_poll_interval=1,  # type: ignore[arg-type]
        on_jobs_changed=lambda *_: None,
    )

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


def test_jobs_that_vanished_while_the_cluster_was_down_are_news_when_it_answers_again() -> None:
    client = ScriptedClient()
    runtime = ClusterRuntime(
        "ns",
        "default",
        client,
        poll_interval=5,
        transition_poll_interval=1,  # type: ignore[arg-type]
        on_jobs_changed=lambda *_: None,
    )

    async def scenario() -> list[set[str]]:
        client.jobs = [overview("a", "RUNNING", running=1), overview("b", "RUNNING", running=1)]
        polls = [await runtime.poll_once()]
        client.down = True  # the JobManager is killed
        polls += [await runtime.poll_once(), await runtime.poll_once()]
        client.down, client.jobs = False, [overview("c", "RUNNING", running=1)]  # back, without a and b
        polls += [await runtime.poll_once(), await runtime.poll_once()]
        return polls

    up, down, still_down, back, quiet = asyncio.run(scenario())
    assert up == {"a", "b"} and down == {"a", "b"} and still_down == set()
    assert back == {"a", "b", "c"} and quiet == set()


def test_a_cluster_that_answers_again_is_probed_at_once() -> None:
    client = ScriptedClient()
    probes: list[bool] = []
    # Polls follow each other at once; probes are due only every hour, unless something calls for one.
    runtime = ClusterRuntime(
        "ns",
        "default",
        client,
        poll_interval=0.001,
        transition_poll_interval=0.001,  # type: ignore[arg-type]
        on_jobs_changed=lambda *_: None,
        probe_interval=3600,
    )

    async def probe(rt: ClusterRuntime) -> bool:
        probes.append(rt.snapshot.ok)
        return True

    async def scenario() -> None:
        polls = 0

        def stopped() -> bool:
            nonlocal polls
            polls += 1
            client.down = polls in (3, 4)  # polls 3 and 4 fail; 5 and 6 succeed
            return polls > 6

        await asyncio.wait_for(runtime.run(stopped, probe), timeout=30)

    asyncio.run(scenario())
    # The first probe, the failures (each says Unreachable), the return; none for the quiet polls in between.
    assert probes == [True, False, False, True]


def test_a_job_flink_restarts_on_its_own_is_recovering_until_its_tasks_all_run_again() -> None:
    client = ScriptedClient()
    runtime = ClusterRuntime(
        "ns",
        "default",
        client,
        poll_interval=5,
        transition_poll_interval=1,  # type: ignore[arg-type]
        on_jobs_changed=lambda *_: None,
    )

    async def poll(*jobs: JobOverview) -> tuple[set[str], frozenset[str]]:
        client.jobs = list(jobs)
        return await runtime.poll_once(), runtime.snapshot.recovering

    async def scenario() -> list[tuple[set[str], frozenset[str]]]:
        return [
            await poll(overview("a", "RUNNING", running=1, deploying=1)),  # starting: not recovering
            await poll(overview("a", "RUNNING", running=2)),
            await poll(overview("a", "RESTARTING", running=0, scheduled=2)),  # a TaskManager was lost
            await poll(overview("a", "RUNNING", scheduled=2)),  # waits for slots
            await poll(overview("a", "RUNNING", scheduled=2)),
            await poll(overview("a", "RUNNING", running=2)),
            # A failover the poll did not see: all tasks ran, now they do not.
            await poll(overview("a", "RUNNING", running=1, deploying=1)),
            await poll(overview("a", "RUNNING", running=2)),
        ]

    steps = asyncio.run(scenario())
    assert steps == [
        ({"a"}, frozenset()),
        ({"a"}, frozenset()),
        ({"a"}, frozenset({"a"})),
        ({"a"}, frozenset({"a"})),
        (set(), frozenset({"a"})),
        ({"a"}, frozenset()),
        ({"a"}, frozenset({"a"})),
        ({"a"}, frozenset()),
    ]
