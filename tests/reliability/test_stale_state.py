"""Unobserved and stale state: changes the operator never sees one by one, a restarted operator whose view lags
behind the API, and an Execution deleted and created again under the same name."""

from __future__ import annotations

from typing import Any

from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.ids import derive_job_id
from tests.reliability.flows import RUN, history_events, lost_savepoints, status
from tests.reliability.harness import Env, Replica, history_of
from tests.reliability.matrix import run_all
from tests.reliability.summary import SUMMARY
from tests.waiting import wait_for


def actions(body: dict[str, Any] | None) -> list[str]:
    return [entry[0] for entry in history_of(body)]


async def common_oracles(env: Env, *, deleted: bool = False) -> list[str]:
    """What every scenario must show once converged: one live job per execution at any time, no savepoint lost,
    no write while nothing changes, no unhandled error."""
    quiet = await env.quiet()
    problems = [f"writes after convergence: {[c.label for c in quiet]}"] if quiet else []
    problems += env.sampler.duplicate_live_jobs()
    problems += [f"lost savepoint: {p}" for p in await lost_savepoints(env, deleted=deleted)]
    problems += [e for r in env.replicas for e in r.errors]
    return problems


async def running(env: Env, **job_spec: Any) -> str:
    """The quickstart Running and settled; returns the job id."""
    await env.quickstart(**job_spec)
    await env.track(RUN)
    job_id = status(await env.wait_phase(RUN, "Running"))["flinkJobId"]
    await env.settle()
    return job_id


def upgraded_to(generation: int) -> Any:
    return lambda b: (
        status(b).get("jobSpecGeneration") == generation
        and status(b).get("phase") == "Running"
        and not status(b).get("pending")
    )


# -- unobserved: the watch is paused while the JobSpec changes twice ----------------------------------------


async def paused_while_the_spec_goes_v1_v2_v3(env: Env) -> list[str]:
    """The operator sees parallelism 1, then (after the watch resumes) 3: no job with parallelism 2 ever starts."""
    await running(env)
    env.api.pause_watches()
    await env.patch_spec("JobSpec", "job", {"parallelism": 2})
    await env.patch_spec("JobSpec", "job", {"parallelism": 3})
    env.api.resume_watches()
    body = await env.wait("Execution", RUN, upgraded_to(3), timeout=30)
    await env.settle()
    parallelisms = [job.parallelism for job in env.simulator_jobs(await env.track(RUN))]
    problems = [] if parallelisms == [1, 3] else [f"jobs ran with parallelism {parallelisms}, expected [1, 3]"]
    if actions(body) != ["START", "UPGRADE"]:
        problems.append(f"history {actions(body)}")
    return problems + await common_oracles(env)


async def v3_unseen_while_the_v2_upgrade_runs(env: Env) -> list[str]:
    """The upgrade to parallelism 2 is under way when the user sets 3 and the watch stalls: the operator finishes
    the upgrade it knows of, then applies 3 once it sees it — each upgrade from the previous one's savepoint."""
    await running(env)

    def stall_and_edit(replica: Replica) -> None:
        env.api.pause_watches()
        env.from_replica(env.patch_spec("JobSpec", "job", {"parallelism": 3}))

    env.trial.at_call("flink stop_with_savepoint", 1, stall_and_edit)
    await env.patch_spec("JobSpec", "job", {"parallelism": 2})
    uid = await env.track(RUN)
    await env.wait("Execution", RUN, upgraded_to(2), timeout=30)
    env.api.resume_watches()
    body = await env.wait("Execution", RUN, upgraded_to(3), timeout=30)
    await env.settle()
    parallelisms = [job.parallelism for job in env.simulator_jobs(uid)]
    problems = [] if parallelisms == [1, 2, 3] else [f"jobs ran with parallelism {parallelisms}"]
    if actions(await env.get("Execution", RUN) or body) != ["START", "UPGRADE", "UPGRADE"]:
        problems.append(f"history {actions(body)}")
    return problems + await common_oracles(env)


# -- stale: a restarted operator whose view lags behind the API ----------------------------------------------


async def restarted_with_a_view_from_before_the_stop(env: Env) -> list[str]:
    """Snapshot taken while Stopping; the execution then stops; a new operator starts and sees the snapshot for a
    while: its writes conflict, it makes no second stop, and it settles on what really happened."""
    await running(env)
    snapshot: dict[str, Any] = {}

    def take_snapshot(replica: Replica) -> None:
        snapshot.update(env.from_replica(env.get("Execution", RUN)))

    env.trial.at_call("flink stop_with_savepoint", 1, take_snapshot)
    await env.patch_spec("Execution", RUN, {"state": "Stopped"})
    await env.wait_phase(RUN, "Stopped")
    await env.settle()
    await env.kill(env.live)
    stops = env.flink.call_count("stop_with_savepoint")
    replica = await env.start_replica(stale={("executions", RUN): snapshot})
    await wait_for(
        lambda: replica.ctx.cache.get("Execution", "default", RUN) is not None,
        timeout=10,
        what="the stale view in the new operator's cache",
    )
    lagging = (replica.ctx.cache.get("Execution", "default", RUN).get("status") or {}).get("phase")
    await env.settle(seconds=1.0)
    env.catch_up(replica)
    body = await env.wait_phase(RUN, "Stopped")
    await env.settle()
    problems = [] if lagging == "Stopping" else [f"the new operator did not see the stale view (it saw {lagging})"]
    if env.flink.call_count("stop_with_savepoint") != stops:
        problems.append(f"{env.flink.call_count('stop_with_savepoint') - stops} more stop calls from the stale view")
    if actions(await env.get("Execution", RUN) or body) != ["START", "STOP"]:
        problems.append(f"history {actions(body)}")
    if await history_events(env) != [(1, "Start"), (2, "Stop")]:
        problems.append(f"history Events {await history_events(env)}")
    return problems + await common_oracles(env)


async def restarted_with_a_view_from_before_the_restart(env: Env) -> list[str]:
    """Snapshot of attempt 1 running; the execution restarts to attempt 2; a new operator sees attempt 1 for a
    while (its job now finished): it must not record that job's end, nor touch attempt 2's job."""
    await running(env)
    snapshot = await env.get("Execution", RUN)
    assert snapshot is not None
    await env.patch_spec("Execution", RUN, {"restartNonce": 1})
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: (
            status(b).get("attempt") == 2 and status(b).get("phase") == "Running" and not status(b).get("pending")
        ),
    )
    await env.settle()
    job_id = status(body)["flinkJobId"]
    await env.kill(env.live)
    runs, stops, cancels = (env.flink.call_count(c) for c in ("run_jar", "stop_with_savepoint", "cancel_job"))
    replica = await env.start_replica(stale={("executions", RUN): snapshot})
    await env.settle(seconds=1.0)
    env.catch_up(replica)
    await env.wait(
        "Execution", RUN, lambda b: b["metadata"]["resourceVersion"] != snapshot["metadata"]["resourceVersion"]
    )
    await env.settle()
    body = await env.get("Execution", RUN) or body
    problems = []
    if (
        env.flink.call_count("run_jar"),
        env.flink.call_count("stop_with_savepoint"),
        env.flink.call_count("cancel_job"),
    ) != (runs, stops, cancels):
        problems.append("the stale view made Flink calls")
    if actions(body) != ["START", "RESTART"] or status(body).get("flinkJobId") != job_id:
        problems.append(f"history {actions(body)}, job {status(body).get('flinkJobId')} (expected {job_id})")
    if env.job(job_id).state != JobState.RUNNING:
        problems.append(f"attempt 2's job is {env.job(job_id).state}")
    return problems + await common_oracles(env)


# -- deleted and created again with the same name -------------------------------------------------------------


async def deleted_and_recreated_under_the_same_name(env: Env) -> list[str]:
    """Job ids are per uid: the old job is stopped with a savepoint, the new Execution starts its own job from
    nothing and has a history of its own."""
    old_job = await running(env)
    old_uid = await env.track(RUN)
    await env.delete("Execution", RUN)
    await env.wait_gone("Execution", RUN)
    await env.apply(env.execution())
    new_uid = await env.track(RUN)
    body = await env.wait_phase(RUN, "Running")
    await env.settle()
    problems = []
    if env.job(old_job).state != JobState.FINISHED or not env.stop_savepoints(old_job):
        problems.append(f"the old job is {env.job(old_job).state}, stopped with {env.stop_savepoints(old_job)}")
    new_job = status(body).get("flinkJobId")
    if new_job != derive_job_id(new_uid, 1) or new_job == old_job:
        problems.append(f"the new Execution runs {new_job}, not its own first job")
    if env.job(new_job).restored is not None:
        problems.append("the new Execution's job restored the old one's state")
    if history_of(body) != [("START", "Pending", "Running", "kubectl-client-side-apply")]:
        problems.append(f"the new Execution's history is {history_of(body)}")
    events = {e["metadata"]["name"]: e["reason"] for e in await env.events(RUN)}
    old = sorted(r for n, r in events.items() if f".{old_uid[:8]}.h" in n)
    new = sorted(r for n, r in events.items() if f".{new_uid[:8]}.h" in n)
    if old != ["Delete", "Start"] or new != ["Start"]:
        problems.append(f"history Events: old {old}, new {new}")
    return problems + await common_oracles(env)


SCENARIOS = {
    "paused watch while the spec goes v1 → v2 → v3": paused_while_the_spec_goes_v1_v2_v3,
    "v3 unseen while the v2 upgrade runs": v3_unseen_while_the_v2_upgrade_runs,
    "restarted with a view from before the stop": restarted_with_a_view_from_before_the_stop,
    "restarted with a view from before the restart": restarted_with_a_view_from_before_the_restart,
    "deleted and recreated under the same name": deleted_and_recreated_under_the_same_name,
}


async def test_unobserved_and_stale_state_converge_to_the_latest_spec(make_env: Any) -> None:
    async def run(name: str) -> list[str]:
        env = await make_env()
        await env.start_replica()
        try:
            problems = await SCENARIOS[name](env)
        except AssertionError as exc:
            problems = [f"did not converge: {exc}"]
        problems += [f"the hook at {label} #{n} never ran" for label, n in env.trial.hooks]
        return [f"{name}: {p}" for p in problems]

    results = await run_all([lambda name=name: run(name) for name in SCENARIOS])
    SUMMARY.add("stale_state_scenarios", len(SCENARIOS))
    failures = [line for lines in results for line in lines]
    SUMMARY.add("stale_state_failures", len(failures))
    assert not failures, "\n".join(failures)
