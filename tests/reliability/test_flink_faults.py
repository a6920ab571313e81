"""Flink misbehaving: REST errors up to one call in two, latency spikes past the client's timeout, connections
refused for a while, savepoints that fail, a job that fails (and one Flink recovers itself), a cluster restart
that loses jars and jobs. Every execution converges; errors show in conditions with a reason; retries back off
(calls per second while Flink is down are counted); a failing savepoint never turns into a stateless restart."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from flink_manager.api.flinkjob import JobState
from tests.reliability.flows import FAILING_CONFIG, RUN, conditions, lost_savepoints, status
from tests.reliability.harness import Env, history_of
from tests.reliability.matrix import run_all
from tests.reliability.summary import SUMMARY, trials
from tests.waiting import wait_for

# How long Flink refuses connections: a minute when the tier runs several trials, a few seconds in CI.
OUTAGE_SECONDS = 60.0 if trials() > 1 else 4.0
READ_ATTEMPTS = 3  # the Flink client tries a read three times (two retries) before it reports Flink unavailable
FIRST_RETRY = 0.5  # the work queue's first backoff, doubling up to a minute


def actions(body: dict[str, Any] | None) -> list[str]:
    return [entry[0] for entry in history_of(body)]


class ConditionLog:
    """Samples the Execution's conditions while a scenario runs: what a user watching `kubectl get` would see."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()

    def reasons(self, type_: str, value: str = "True") -> set[str]:
        return {reason for t, v, reason in self.seen if t == type_ and v == value}

    @contextlib.asynccontextmanager
    async def watching(self, env: Env) -> AsyncIterator[None]:
        async def sample() -> None:
            while True:
                body = await env.get("Execution", RUN)
                for type_, (value, reason) in conditions(body).items():
                    self.seen.add((type_, value, reason))
                await asyncio.sleep(0.1)  # the sampling period, not a synchronisation

        task = asyncio.create_task(sample())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def converged_and_quiet(env: Env) -> list[str]:
    """Faults off, then: no write for two poll intervals, one live job per execution at any time, no savepoint
    lost, no unhandled error, no condition without a reason."""
    env.flink.clear_faults()
    await env.settle(timeout=30)
    quiet = await env.quiet()
    problems = [f"writes after convergence: {[c.label for c in quiet]}"] if quiet else []
    problems += env.sampler.duplicate_live_jobs()
    problems += [f"lost savepoint: {p}" for p in await lost_savepoints(env, deleted=False)]
    problems += [e for r in env.replicas for e in r.errors]
    body = await env.get("Execution", RUN)
    problems += [
        f"condition {c['type']} without a reason"
        for c in status(body).get("conditions", [])
        if not c.get("reason") or not c.get("message")
    ]
    return problems


async def story(env: Env) -> dict[str, Any]:
    """Create, stop with a savepoint, resume, restart: the everyday life of an execution."""
    await env.quickstart()
    await env.track(RUN)
    await env.wait_phase(RUN, "Running", timeout=60)
    await env.patch_spec("Execution", RUN, {"state": "Stopped"})
    await env.wait_phase(RUN, "Stopped", timeout=60)
    await env.patch_spec("Execution", RUN, {"state": "Running"})
    await env.wait(
        "Execution", RUN, lambda b: status(b).get("phase") == "Running" and status(b).get("attempt") == 2, timeout=60
    )
    await env.patch_spec("Execution", RUN, {"restartNonce": 1})
    return await env.wait(
        "Execution",
        RUN,
        lambda b: (
            status(b).get("phase") == "Running" and status(b).get("attempt") == 3 and not status(b).get("pending")
        ),
        timeout=60,
    )


STORY = ["START", "STOP", "START", "RESTART"]


async def with_error_rate(env: Env, rate: float) -> list[str]:
    env.flink.set_faults(error_rate=rate)
    log = ConditionLog()
    async with log.watching(env):
        body = await story(env)
    problems = [] if actions(body) == STORY else [f"history {actions(body)}"]
    print(
        f"error rate {rate:.0%}: Degraded reasons seen {sorted(log.reasons('Degraded'))}, "
        f"{sum(env.flink.calls.values())} REST calls"
    )
    return problems + await converged_and_quiet(env)


async def with_latency_spikes(env: Env) -> list[str]:
    """Every second, 0.3 s during which Flink answers after 2.5 s: past the client's 2 s timeout."""

    async def spikes() -> None:
        while True:
            await asyncio.sleep(0.7)  # the fault's rhythm, not a synchronisation
            env.flink.set_faults(latency=2.5)
            await asyncio.sleep(0.3)
            env.flink.set_faults(latency=0.0)

    task = asyncio.create_task(spikes())
    try:
        body = await story(env)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    problems = [] if actions(body) == STORY else [f"history {actions(body)}"]
    return problems + await converged_and_quiet(env)


async def with_connections_refused(env: Env) -> list[str]:
    """Flink refuses connections while the user stops the job: the execution and the cluster say so with a
    reason, the operator backs off, and the stop completes with its savepoint once Flink is back."""
    await env.quickstart()
    await env.track(RUN)
    await env.wait_phase(RUN, "Running")
    await env.settle()
    replica = env.live
    retrying = replica.ctx.metrics.reconciles.labels("Execution", "retry")
    retries_before = retrying._value.get()
    began = time.monotonic()
    await env.flink.refuse_connections()
    await env.patch_spec("Execution", RUN, {"state": "Stopped"})
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: conditions(b).get("Degraded") == ("True", "FlinkClusterUnreachable"),
        timeout=OUTAGE_SECONDS + 10,
        what="Degraded=True FlinkClusterUnreachable during the outage",
    )
    cluster = await env.wait(
        "FlinkCluster",
        "default",
        lambda b: status(b).get("phase") == "Unreachable",
        timeout=OUTAGE_SECONDS + 10,
        what="the FlinkCluster Unreachable",
    )
    problems = []
    if not conditions(cluster).get("Ready", ("", ""))[1]:
        problems.append("the FlinkCluster's Ready condition has no reason")
    await wait_for(
        lambda: time.monotonic() - began >= OUTAGE_SECONDS,
        timeout=OUTAGE_SECONDS + 5,
        interval=0.2,
        what="the outage to last",
    )
    down = time.monotonic() - began
    calls = [name for at, name in replica.flink_log if began <= at <= began + down]
    retries = retrying._value.get() - retries_before
    await env.flink.accept_connections()
    body = await env.wait_phase(RUN, "Stopped", timeout=60)
    rate = len(calls) / down
    polls = calls.count("jobs_overview") / READ_ATTEMPTS
    fastest = replica.ctx.settings.transition_poll_seconds
    SUMMARY.maximum("flink_calls_per_second_while_down", round(rate, 2))
    SUMMARY.maximum("execution_retries_while_down", retries)
    SUMMARY.set("outage_seconds", OUTAGE_SECONDS)
    print(
        f"connections refused for {down:.1f}s: {len(calls)} Flink calls ({rate:.2f}/s; {polls / down:.2f} polls/s), "
        f"{retries:g} retrying reconciles of the Execution: { {name: calls.count(name) for name in set(calls)} }"
    )
    # No hot loop: the poller never polls faster than its transition interval, and the Execution's reconciles
    # back off exponentially (at most about log2(outage / first backoff) of them, not outage / first backoff).
    if polls / down > 1.0 / fastest:
        problems.append(f"{polls / down:.1f} polls per second while Flink was down (at most {1 / fastest:g})")
    if retries > math.log2(down / FIRST_RETRY) + 3:
        problems.append(f"{retries:g} retrying reconciles in {down:.0f}s: the retries do not back off")
    if actions(body) != ["START", "STOP"] or not status(body).get("lastSavepoint"):
        problems.append(f"history {actions(body)}, last savepoint {status(body).get('lastSavepoint')}")
    return problems + await converged_and_quiet(env)


async def with_failing_savepoints(env: Env) -> list[str]:
    """Savepoints fail: a stop, an upgrade and a restart are each given up with a reason — the job keeps running,
    and no job is ever started without its state."""
    await env.quickstart(flinkConfig={"simulator.savepoint-fails": "true"})
    await env.track(RUN)
    job_id = status(await env.wait_phase(RUN, "Running"))["flinkJobId"]
    problems = []
    reasons = []
    for change, spec in (
        ("stop", {"state": "Stopped"}),
        ("upgrade", {"parallelism": 2}),
        ("restart", {"restartNonce": 1}),
    ):
        if change == "upgrade":
            await env.patch_spec("Execution", RUN, {"state": "Running"})
            await env.patch_spec("JobSpec", "job", spec)
        else:
            await env.patch_spec("Execution", RUN, spec)
        body = await env.wait(
            "Execution",
            RUN,
            lambda b: (
                conditions(b).get("Degraded", ("", ""))[0] == "True"
                and conditions(b)["Degraded"][1] == "SavepointFailed"
                and not status(b).get("pending")
                and b["metadata"]["generation"] == status(b).get("observedGeneration")
            ),
            timeout=40,
            what=f"the {change} given up",
        )
        reasons.append(conditions(body)["Degraded"][1])
        job = env.job(job_id)
        if status(body).get("phase") != "Running" or job.state != JobState.RUNNING:
            problems.append(f"after the failed {change}: phase {status(body).get('phase')}, job {job.state}")
        if env.flink.call_count("run_jar") != 1 or status(body).get("flinkJobId") != job_id:
            problems.append(f"after the failed {change}: {env.flink.call_count('run_jar')} run calls")
    print(f"failing savepoints: reasons {reasons}, history {actions(await env.get('Execution', RUN))}")
    return problems + await converged_and_quiet(env)


async def with_a_job_failing_while_flink_is_down(env: Env) -> list[str]:
    """restartPolicy OnFailure; the job fails, Flink recovers it once itself (the operator does nothing), it fails
    again, and Flink is unreachable when the restart is due: the restart waits for Flink and restores the failed
    job's newest retained checkpoint — it is not given up for want of state."""
    await env.quickstart(
        flinkConfig={**FAILING_CONFIG, "simulator.restarts": "1"},
        execution=env.execution(restartPolicy={"type": "OnFailure", "maxRestarts": 1, "backoffSeconds": 2}),
    )
    uid = await env.track(RUN)
    first = status(await env.wait_phase(RUN, "Running"))["flinkJobId"]

    def recovered() -> bool:
        """Flink restarted the job and it ran again. It fails again 0.6 s later: a probe that looked for it RUNNING
        missed that window whenever the test's loop was held up longer (10 scenarios and their operators share it)."""
        job = env.job(first)
        return job.restarts_done == 1 and (
            job.timestamps.get(JobState.RUNNING, 0.0) > job.timestamps.get(JobState.RESTARTING, float("inf"))
        )

    await wait_for(recovered, timeout=20, what="Flink to recover the job itself")
    body = await env.get("Execution", RUN)
    failed_again = env.job(first).state in (JobState.FAILING, JobState.FAILED)
    expected = (["START"], ["START", "FAIL"]) if failed_again else (["START"],)
    problems = (
        []
        if actions(body) in expected and env.flink.call_count("run_jar") == 1
        else [f"the operator acted while Flink recovered the job: {actions(body)}"]
    )
    await env.wait_phase(RUN, "Failed", timeout=20)
    await env.flink.refuse_connections(3.0)
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: (
            status(b).get("attempt") == 2
            and not status(b).get("pending")
            and status(b).get("phase") in ("Running", "Failed")
            and len(history_of(b)) >= 3
        ),
        timeout=30,
        what="the restart after the outage",
    )
    jobs = env.simulator_jobs(uid)
    if len(jobs) < 2 or jobs[1].restored is None:
        problems.append(f"the restart did not restore state: {[(j.job_id, j.restored) for j in jobs]}")
    if actions(body)[:3] != ["START", "FAIL", "RESTART"]:
        problems.append(f"history {actions(body)}, Degraded {conditions(body).get('Degraded')}")
    await env.wait_phase(RUN, "Failed", timeout=20)
    return problems + await converged_and_quiet(env)


async def with_a_restart_asked_while_the_cluster_is_misconfigured(env: Env) -> list[str]:
    """A failed job's restart is asked for while its FlinkCluster names a CA Secret that does not exist: the
    execution says why it waits (Degraded with a reason), nothing runs, and the restart happens — from the failed
    job's checkpoint — once the cluster is fixed."""
    await env.quickstart(flinkConfig=FAILING_CONFIG)
    uid = await env.track(RUN)
    await env.wait_phase(RUN, "Failed", timeout=20)
    await env.patch_spec("FlinkCluster", "default", {"tls": {"caSecretRef": {"name": "missing-ca"}}})
    await env.wait("FlinkCluster", "default", lambda b: conditions(b).get("Ready", ("", ""))[1] == "InvalidCredentials")
    await env.patch_spec("Execution", RUN, {"restartNonce": 1})
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: conditions(b).get("Degraded", ("", ""))[0] == "True",
        timeout=20,
        what="the waiting restart to be reported",
    )
    problems = []
    reason = conditions(body)["Degraded"][1]
    if (
        reason != "FlinkClusterUnreachable"
        or env.flink.call_count("run_jar") != 1
        or status(body).get("phase") != "Failed"
    ):
        problems.append(
            f"while the cluster is misconfigured: Degraded {reason}, phase {status(body).get('phase')}, "
            f"{env.flink.call_count('run_jar')} run calls"
        )
    await env.patch_spec("FlinkCluster", "default", {"tls": None})
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: status(b).get("attempt") == 2 and not status(b).get("pending"),
        timeout=30,
        what="the restart once the cluster is fixed",
    )
    jobs = env.simulator_jobs(uid)
    if len(jobs) != 2 or env.restored_at_submission.get(jobs[1].job_id) is None:
        problems.append(f"the restart did not restore the failed job's state: {len(jobs)} jobs")
    if actions(body)[:3] != ["START", "FAIL", "RESTART"]:
        problems.append(f"history {actions(body)}")
    await env.wait_phase(RUN, "Failed", timeout=20)
    return problems + await converged_and_quiet(env)


def newest_retained_state(env: Env, job_id: str, savepoint: str | None) -> str | None:
    """What the resubmission of a job lost in a cluster restart must restore from: the newer (by checkpoint id) of
    the job's checkpoint that stayed on storage and its last savepoint."""
    stored = [
        (s.checkpoint_id, s.location)
        for s in env.flink.cluster.savepoints.values()
        if (s.job_id == job_id and "/chk-" in s.location) or s.location == savepoint
    ]
    return max(stored)[1] if stored else None


async def with_a_cluster_restart(
    env: Env, *, savepoint: bool, checkpoints: bool = True, policy: str = "OnFailure"
) -> list[str]:
    """The JobManager restarts without HA: jars and jobs are gone, checkpoints and savepoints stay on storage.
    Under restartPolicy OnFailure the job is resubmitted (the jar uploaded again) from its newest retained state —
    a checkpoint read from the checkpoint directory, or the last savepoint — as a RESTART for JobLost; with no
    state at all the execution fails with a reason, never restarted without state. Under Never it fails (JobLost)."""
    job_spec = {} if checkpoints else {"programArgs": ["--checkpoint-interval-ms", "0"]}
    await env.quickstart(execution=env.execution(restartPolicy={"type": policy, "maxRestarts": 1}), **job_spec)
    await env.track(RUN)
    body = await env.wait_phase(RUN, "Running")
    lost_job = status(body)["flinkJobId"]
    last_savepoint = None
    if savepoint:
        await env.patch_spec("Execution", RUN, {"savepointNonce": 1})
        body = await env.wait(
            "Execution", RUN, lambda b: status(b).get("lastSavepoint") and not status(b).get("pending")
        )
        last_savepoint = status(body)["lastSavepoint"]["path"]
    await env.settle()
    uploads = env.flink.call_count("upload_jar")
    await env.flink.restart_cluster()
    expected = newest_retained_state(env, lost_job, last_savepoint)
    problems = []
    if expected is not None and policy == "OnFailure":
        body = await env.wait(
            "Execution",
            RUN,
            lambda b: (
                status(b).get("phase") == "Running" and status(b).get("attempt") == 2 and not status(b).get("pending")
            ),
            timeout=30,
        )
        job = env.job(status(body)["flinkJobId"])
        if job.restored is None or job.restored.external_path != expected:
            problems.append(
                f"the resubmitted job restored {job.restored and job.restored.external_path}, not the "
                f"newest retained state {expected}"
            )
        last = (status(body).get("history") or [{}])[-1]
        if (
            actions(body)[-1:] != ["RESTART"]
            or (last.get("details") or {}).get("reason") != "JobLost"
            or env.flink.call_count("upload_jar") != uploads + 1
        ):
            problems.append(f"history {actions(body)}, {last}, {env.flink.call_count('upload_jar') - uploads} uploads")
    elif policy == "OnFailure":
        body = await env.wait("Execution", RUN, lambda b: status(b).get("phase") == "Failed", timeout=30)
        if conditions(body).get("Degraded") != ("True", "NoRestorableState") or env.flink.call_count("run_jar") != 1:
            problems.append(f"Degraded {conditions(body).get('Degraded')}, {env.flink.call_count('run_jar')} runs")
    else:
        body = await env.wait("Execution", RUN, lambda b: status(b).get("phase") == "Failed", timeout=30)
        last = (status(body).get("history") or [{}])[-1]
        if (
            actions(body)[-1:] != ["FAIL"]
            or (last.get("details") or {}).get("reason") != "JobLost"
            or env.flink.call_count("run_jar") != 1
        ):
            problems.append(f"history {actions(body)}, {last}, {env.flink.call_count('run_jar')} runs")
    return problems + await converged_and_quiet(env)


SCENARIOS = {
    "REST errors 10%": lambda env: with_error_rate(env, 0.1),
    "REST errors 30%": lambda env: with_error_rate(env, 0.3),
    "REST errors 50%": lambda env: with_error_rate(env, 0.5),
    "latency spikes past the timeout": with_latency_spikes,
    "connections refused": with_connections_refused,
    "savepoints fail": with_failing_savepoints,
    "a job fails, then Flink is down when its restart is due": with_a_job_failing_while_flink_is_down,
    "a restart asked while the cluster is misconfigured": with_a_restart_asked_while_the_cluster_is_misconfigured,
    "cluster restart with a savepoint": lambda env: with_a_cluster_restart(env, savepoint=True),
    "cluster restart without a savepoint": lambda env: with_a_cluster_restart(env, savepoint=False),
    "cluster restart without checkpoints, with a savepoint": lambda env: with_a_cluster_restart(
        env, savepoint=True, checkpoints=False
    ),
    "cluster restart without any state": lambda env: with_a_cluster_restart(env, savepoint=False, checkpoints=False),
    "cluster restart under restartPolicy Never": lambda env: with_a_cluster_restart(
        env, savepoint=True, policy="Never"
    ),
}


async def test_every_execution_converges_through_flink_faults(make_env: Any) -> None:
    async def run(name: str) -> list[str]:
        env = await make_env()
        await env.start_replica()
        try:
            problems = await SCENARIOS[name](env)
        except AssertionError as exc:
            problems = [f"did not converge: {exc}"]
        return [f"{name}: {p}" for p in problems]

    results = await run_all([lambda name=name: run(name) for name in SCENARIOS])
    SUMMARY.add("flink_fault_scenarios", len(SCENARIOS))
    failures = [line for lines in results for line in lines]
    SUMMARY.add("flink_fault_failures", len(failures))
    assert not failures, "\n".join(failures)
