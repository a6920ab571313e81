"""The user flows of the crash matrix, what a user can observe at their end, and the oracles that compare runs.

A flow brings an Execution to its starting point (`prepare`, no kill armed), then makes one user change
(`trigger`); the crash matrix kills the operator at each mutating call the operator makes after the trigger.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from flink_manager.api.flinkjob import JobState
from tests.reliability.harness import Env, history_of

RUN = "run-1"
FAILING_CONFIG = {
    "simulator.fail-after": "0.6",
    "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
}


def status(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("status") or {}


def conditions(body: dict[str, Any] | None) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status(body).get("conditions") or []}


@dataclasses.dataclass(frozen=True)
class Flow:
    """Bring the execution to the flow's start (`prepare`), make one change (`trigger`); `done` says, from the
    end state, that the operator has carried the change out."""

    name: str
    prepare: Callable[[Env], Awaitable[None]]
    trigger: Callable[[Env], Awaitable[None]]
    done: Callable[[dict[str, Any]], bool]
    deletes: bool = False
    in_matrix: bool = True  # part of the crash matrix (the others serve the fault tests)


async def _running(env: Env, **job_spec: Any) -> None:
    await env.quickstart(**job_spec)
    await env.track(RUN)
    await env.wait_phase(RUN, "Running")


async def _running_last_state(env: Env) -> None:
    await _running(
        env,
        upgradeMode="last-state",
        flinkConfig={"execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"},
    )


async def _stopped(env: Env) -> None:
    await _running(env)
    await env.patch_spec("Execution", RUN, {"state": "Stopped"})
    await env.wait_phase(RUN, "Stopped")


async def _nothing(env: Env) -> None:
    await env.apply(env.cluster())
    await env.apply(env.artifact())
    await env.wait("Artifact", "job-jar", lambda b: status(b).get("phase") == "Ready")
    await env.wait("FlinkCluster", "default", lambda b: status(b).get("phase") == "Ready")


async def _failing_spec(env: Env) -> None:
    await _nothing(env)
    await env.apply(env.job_spec(flinkConfig=FAILING_CONFIG))


async def _create(env: Env) -> None:
    await env.apply(env.job_spec())
    await env.apply(env.execution())
    await env.track(RUN)


async def _create_failing(env: Env) -> None:
    await env.apply(env.execution(restartPolicy={"type": "OnFailure", "maxRestarts": 1, "backoffSeconds": 0}))
    await env.track(RUN)


async def _set(env: Env, **spec: Any) -> None:
    await env.patch_spec("Execution", RUN, spec)


async def _upgrade(env: Env) -> None:
    await env.patch_spec("JobSpec", "job", {"parallelism": 2})


def _settled(phase: str, *, running: int, **expected: Any) -> Callable[[dict[str, Any]], bool]:
    def done(end: dict[str, Any]) -> bool:
        return (
            end["phase"] == phase
            and end["pending"] is None
            and end["cluster"][1] == running
            and end["cluster_slots_current"]
            and (end["job_spec_executions"] or {}).get("running") == running
            and all(end.get(key) == value for key, value in expected.items())
        )

    return done


FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        Flow("create", _nothing, _create, _settled("Running", running=1)),
        Flow("stop", _running, lambda env: _set(env, state="Stopped"), _settled("Stopped", running=0)),
        Flow("resume", _stopped, lambda env: _set(env, state="Running"), _settled("Running", running=1, attempt=2)),
        Flow("restart", _running, lambda env: _set(env, restartNonce=1), _settled("Running", running=1, attempt=2)),
        Flow("upgrade", _running, _upgrade, _settled("Running", running=1, attempt=2, job_spec_generation=2)),
        Flow(
            "last-state-upgrade",
            _running_last_state,
            _upgrade,
            _settled("Running", running=1, attempt=2, job_spec_generation=2),
        ),
        Flow("failure", _failing_spec, _create_failing, _settled("Failed", running=0, restarts=1)),
        Flow(
            "delete",
            _running,
            lambda env: env.delete("Execution", RUN),
            lambda end: not end["exists"] and end["cluster"][1] == 0 and end["cluster_slots_current"],
            deletes=True,
        ),
        Flow(
            "cancel",
            _running,
            lambda env: _set(env, state="Cancelled"),
            _settled("Cancelled", running=0),
            in_matrix=False,
        ),
        Flow(
            "savepoint",
            _running,
            lambda env: _set(env, savepointNonce=1),
            _settled("Running", running=1, savepoints=1),
            in_matrix=False,
        ),
    )
}
MATRIX = [name for name, flow in FLOWS.items() if flow.in_matrix]


# -- what a user sees at the end ---------------------------------------------------------------------------


async def history_events(env: Env, name: str = RUN) -> list[tuple[int, str]]:
    """(seq, reason) of the Events posted for history entries, by seq."""
    found = []
    for event in await env.events(name):
        match = re.search(r"\.h(\d+)$", event["metadata"]["name"])
        if match:
            found.append((int(match.group(1)), event["reason"]))
    return sorted(found)


async def end_state(env: Env) -> dict[str, Any]:
    """Everything a user can compare between two runs of a flow: no times, ids or paths."""
    body = await env.get("Execution", RUN)
    st = status(body)
    job_spec = await env.get("JobSpec", "job")
    cluster = await env.get("FlinkCluster", "default")
    artifact = await env.get("Artifact", "job-jar")
    uid = next(iter(env.sampler.uids), None)
    jobs = env.simulator_jobs(uid) if uid else []
    return {
        "exists": body is not None,
        "phase": st.get("phase"),
        "attempt": st.get("attempt"),
        "restarts": st.get("restarts"),
        "pending": st.get("pending"),
        "history": history_of(body),
        "history_total": st.get("historyTotal"),
        "history_seqs_contiguous": [h.get("seq") for h in st.get("history") or []]
        == list(range(1, len(st.get("history") or []) + 1)),
        "history_events": await history_events(env),
        "savepoints": len(st.get("savepoints") or []),
        "last_savepoint": st.get("lastSavepoint") is not None,
        "conditions": conditions(body),
        "error": bool(st.get("errorMessage")),
        "observed_generation_current": body is None or st.get("observedGeneration") == body["metadata"]["generation"],
        "job_spec_generation": st.get("jobSpecGeneration"),
        "job_spec_executions": status(job_spec).get("executions"),
        "job_spec_ready": conditions(job_spec).get("Ready"),
        "cluster": (status(cluster).get("phase"), status(cluster).get("jobsRunning")),
        "cluster_slots_current": status(cluster).get("slotsAvailable") == env.flink.cluster.free_slots(),
        "artifact": (status(artifact).get("phase"), len(status(artifact).get("uploads") or [])),
        "flink_jobs": [
            (job.state.value, job.parallelism, env.restored_at_submission.get(job.job_id) is not None) for job in jobs
        ],
    }


def differences(reference: dict[str, Any], observed: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {key: (reference[key], observed.get(key)) for key in reference if observed.get(key) != reference[key]}


# -- oracles that need no reference ------------------------------------------------------------------------


async def lost_savepoints(env: Env, *, deleted: bool) -> list[str]:
    """Every savepoint Flink completed for a stop is recorded (in status.savepoints, or for a deleted execution in
    its DELETE entry), and the next attempt restores from it; a failed job, or a job cancelled for a last-state
    upgrade, is followed by an attempt from its newest retained checkpoint."""
    problems: list[str] = []
    body = await env.get("Execution", RUN)
    events = await env.events(RUN)
    for uid in env.sampler.uids:
        current = body is not None and body["metadata"]["uid"] == uid
        recorded = {s["path"] for s in status(body).get("savepoints") or []} if current else set()
        delete_messages = " ".join(
            e.get("message", "") for e in events if e["reason"] == "Delete" and e["involvedObject"].get("uid") == uid
        )
        jobs = env.simulator_jobs(uid)
        for index, job in enumerate(jobs):
            stops = env.stop_savepoints(job.job_id)
            if len(stops) > 1:
                problems.append(f"job {job.job_id} was stopped with {len(stops)} savepoints: {stops}")
            following = jobs[index + 1] if index + 1 < len(jobs) else None
            restored = env.restored_at_submission.get(following.job_id) if following is not None else None
            if stops and job.state == JobState.FINISHED:
                location = stops[-1]
                if following is not None and restored != location:
                    problems.append(
                        f"attempt after job {job.job_id} restored from {restored}, not from its stop "
                        f"savepoint {location}"
                    )
                if (deleted or not current) and following is None:
                    if location not in delete_messages:
                        problems.append(f"the DELETE entry does not name the savepoint {location}")
                elif location not in recorded:
                    problems.append(f"stop savepoint {location} of job {job.job_id} is not in status.savepoints")
            elif (
                job.state in (JobState.FAILED, JobState.CANCELED)
                and following is not None
                and (job.state == JobState.FAILED or restored is not None)
            ):
                latest = job.checkpoints.latest_any(job.end_time or 0.0)
                expected = latest.external_path if latest else None
                if restored != expected:
                    problems.append(
                        f"the attempt after {job.state.value} job {job.job_id} restored from {restored}, "
                        f"not from its newest retained checkpoint {expected}"
                    )
    return problems
