"""Writes whose outcome the operator cannot know, or that fail: a Flink call that took effect but whose answer was
lost (an error, a dropped connection, a timeout), a status write answered 500 or 409, and another writer
changing the spec between the operator's read and its write. Each converges to what an undisturbed run shows."""

from __future__ import annotations

from typing import Any

import pytest

from flink_manager.api.flinkjob import JobState
from tests.reliability.flows import FLOWS, MATRIX, RUN, end_state, status
from tests.reliability.harness import Env, Replica
from tests.reliability.matrix import RunResult, record, reference_run, run_all, run_flow
from tests.reliability.summary import SUMMARY
from tests.waiting import wait_for

# The Flink calls whose effect must survive a lost answer, and the flow whose trigger makes each.
APPLIED_CALLS = {
    "run_jar": "create",
    "upload_jar": "create",
    "stop_with_savepoint": "stop",
    "cancel_job": "cancel",
    "trigger_savepoint": "savepoint",
}
LOST_ANSWERS = ("error", "drop", "hang")  # a 500, a closed connection, an answer after the client's timeout


def lose_answer(endpoint: str, respond: str) -> Any:
    def disturb(env: Env) -> None:
        env.flink.fail_next(endpoint, apply=True, respond=respond, status=500, delay=5.0)  # type: ignore[arg-type]

    return disturb


async def test_a_flink_call_applied_with_its_answer_lost_is_resumed_not_repeated(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cases = [(endpoint, respond) for endpoint in APPLIED_CALLS for respond in LOST_ANSWERS]
    names = sorted(set(APPLIED_CALLS.values()))
    references = dict(
        zip(
            names,
            await run_all(
                [
                    lambda name=name: reference_run(tmp_path_factory.mktemp(f"{name}-ref"), FLOWS[name], 0)
                    for name in names
                ]
            ),
            strict=True,
        )
    )
    results: list[RunResult] = await run_all(
        [
            lambda endpoint=endpoint, respond=respond: run_flow(
                tmp_path_factory.mktemp("lost"),
                FLOWS[APPLIED_CALLS[endpoint]],
                0,
                None,
                references[APPLIED_CALLS[endpoint]],
                lose_answer(endpoint, respond),
            )
            for endpoint, respond in cases
        ]
    )
    failures = []
    for (endpoint, respond), result in zip(cases, results, strict=True):
        result.label = f"{endpoint} applied, answer {respond}"
        failures += record(references[APPLIED_CALLS[endpoint]], [result])
        SUMMARY.add("lost_answer_runs")
        SUMMARY.add("orphan_jars_after_lost_upload", max(0, result.flink_jars - 1))
        print(
            f"{result.label}: {result.flink_calls.get('POST /jars/:jarid/run', 0)} run calls, "
            f"{result.flink_jars} jar(s) on Flink, converged in {result.seconds:.1f}s"
        )
    assert not failures, "\n".join(failures)


def fail_execution_write(label: str, occurrence: int, status_code: int) -> Any:
    """At that Execution write, the API answers `status_code` (the write does not happen)."""

    def disturb(env: Env) -> None:
        subresource = "status" if "/status" in label else ""

        def hook(replica: Replica) -> None:
            env.api.faults.fail(
                status_code, times=1, verb="patch", resource="executions", subresource=subresource, name=RUN
            )

        env.trial.at_call(label, occurrence, hook)

    return disturb


async def test_an_execution_write_answered_500_or_409_is_retried_and_converges(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    plan = []
    references = dict(
        zip(
            MATRIX,
            await run_all(
                [
                    lambda name=name: reference_run(tmp_path_factory.mktemp(f"{name}-ref"), FLOWS[name], 0)
                    for name in MATRIX
                ]
            ),
            strict=True,
        )
    )
    for name, reference in references.items():
        seen: dict[str, int] = {}
        for call in reference.calls:
            seen[call.label] = seen.get(call.label, 0) + 1
            if call.label.startswith(f"PATCH executions/{RUN}"):
                plan += [(name, call.label, seen[call.label], code) for code in (500, 409)]
    results = await run_all(
        [
            lambda name=name, label=label, n=n, code=code: run_flow(
                tmp_path_factory.mktemp("write-fault"),
                FLOWS[name],
                0,
                None,
                references[name],
                fail_execution_write(label, n, code),
            )
            for name, label, n, code in plan
        ]
    )
    failures, not_reached = [], []
    for (name, label, n, code), result in zip(plan, results, strict=True):
        result.label = f"{name}: {code} at {label} #{n}"
        if result.faults_left:
            # As a crash matrix kill point that is not reached: the run wrote its status in other steps than the
            # reference (poll timing), so that write never came. Every other oracle still holds for the run.
            not_reached.append(result.label)
            result.faults_left = []
        failures += record(references[name], [result])
    SUMMARY.add("failed_status_write_runs", len(results))
    SUMMARY.add("write_faults_not_reached", len(not_reached))
    print(f"{len(results)} runs with an Execution write answered 500 or 409 ({len(not_reached)} writes not reached)")
    assert not failures, "\n".join(failures)
    assert len(not_reached) * 10 <= len(results), f"most disturbances never happened: {not_reached}"


# -- another writer between the operator's read and its write ---------------------------------------------


async def _concurrent_edit(env: Env, label: str, spec: dict[str, Any]) -> None:
    """Change the Execution's spec just before the operator's first write labelled `label` reaches the API."""

    def hook(replica: Replica) -> None:
        env.from_replica(env.patch_spec("Execution", RUN, spec))

    env.trial.at_call(label, 1, hook)


async def _scenario_start_then_stop(env: Env) -> list[str]:
    """The operator decided to submit; before its write lands, the user stops the execution: nothing may run."""
    await env.apply(env.cluster())
    await env.apply(env.artifact())
    await env.apply(env.job_spec())
    await env.wait("FlinkCluster", "default", lambda b: status(b).get("phase") == "Ready")
    await env.wait("JobSpec", "job", lambda b: status(b).get("observedGeneration") == 1)
    await env.settle()
    # The first attempt's intent rides on the write that adds the finalizer (controller/metadata.py).
    await _concurrent_edit(env, f"PATCH executions/{RUN} finalizers", {"state": "Stopped"})
    await env.apply(env.execution())
    await env.track(RUN)
    body = await env.wait_phase(RUN, "Stopped")
    problems = []
    if env.flink.call_count("run_jar"):
        problems.append(f"{env.flink.call_count('run_jar')} run calls for an execution stopped before it started")
    if [h["action"] for h in status(body).get("history", [])] != ["STOP"]:
        problems.append(f"history {status(body).get('history')}")
    return problems


async def _scenario_stop_then_run(env: Env) -> list[str]:
    """The operator decided to stop; before its write lands, the user wants the job running again."""
    await env.quickstart()
    await env.track(RUN)
    job_id = status(await env.wait_phase(RUN, "Running"))["flinkJobId"]
    await env.settle()
    await _concurrent_edit(env, f"PATCH executions/{RUN}/status →Stopping", {"state": "Running"})
    await env.patch_spec("Execution", RUN, {"state": "Stopped"})
    await wait_for(lambda: not env.trial.hooks, timeout=20, what="the operator's write")
    await env.settle()
    body = await env.get("Execution", RUN)
    problems = []
    if env.flink.call_count("stop_with_savepoint") or status(body).get("phase") != "Running":
        problems.append(f"phase {status(body).get('phase')}, {env.flink.call_count('stop_with_savepoint')} stop calls")
    if status(body).get("flinkJobId") != job_id or env.job(job_id).state != JobState.RUNNING:
        problems.append("the job was replaced")
    return problems


async def _scenario_restart_twice(env: Env) -> list[str]:
    """The operator decided to restart; before its write lands, the user bumps the nonce again: one restart."""
    await env.quickstart()
    await env.track(RUN)
    await env.wait_phase(RUN, "Running")
    await env.settle()
    await _concurrent_edit(env, f"PATCH executions/{RUN}/status →Restarting", {"restartNonce": 2})
    await env.patch_spec("Execution", RUN, {"restartNonce": 1})
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: (
            status(b).get("observedRestartNonce") == 2
            and status(b).get("phase") == "Running"
            and not status(b).get("pending")
        ),
        timeout=30,
    )
    await env.settle()
    body = await env.get("Execution", RUN) or body
    actions = [h["action"] for h in status(body).get("history", [])]
    problems = []
    if actions != ["START", "RESTART"] or status(body).get("attempt") != 2:
        problems.append(f"history {actions}, attempt {status(body).get('attempt')}")
    return problems


SCENARIOS = {
    "start, then stopped before the write": _scenario_start_then_stop,
    "stop, then running again before the write": _scenario_stop_then_run,
    "restart, then restarted again before the write": _scenario_restart_twice,
}


async def test_a_spec_changed_between_the_operators_read_and_write_wins(make_env: Any) -> None:
    async def run(name: str) -> list[str]:
        env = await make_env()
        await env.start_replica()
        problems = await SCENARIOS[name](env)
        quiet = await env.quiet()
        end = await end_state(env)
        problems += [f"writes after convergence: {[c.label for c in quiet]}"] if quiet else []
        problems += env.sampler.duplicate_live_jobs()
        problems += [e for r in env.replicas for e in r.errors]
        problems += [f"the concurrent edit never happened at {label}" for label, _ in env.trial.hooks]
        print(f"{name}: {end['history']}")
        return [f"{name}: {p}" for p in problems]

    results = await run_all([lambda name=name: run(name) for name in SCENARIOS])
    SUMMARY.add("concurrent_writer_runs", len(SCENARIOS))
    failures = [line for lines in results for line in lines]
    assert not failures, "\n".join(failures)
