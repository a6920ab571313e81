"""Fuzzed input: spec mutations generated from the CRD schemas (crd_strategies.py), applied to running executions.

Valid ones are carried out and everything converges in the end; invalid ones are refused by the API (422) or
surface as a condition with a reason; none crashes the operator (tracebacks in its log, reconciles that raised);
and none touches a running job it has no business touching — only a change of the desired state, a restart
nonce bump, or a change of what the job runs (a JobSpec upgrade) may stop or replace it.

Lanes (a FlinkCluster, an Artifact, a JobSpec and an Execution each) run side by side on one operator; each
mutation is reverted after the operator has seen it, so a lane stays near its running base.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import strategies as st

from flink_manager.api.flinkjob import JobState
from flink_manager.kube.client import KubeError, KubeInvalid
from flink_manager_dev.simulator.jobs import Tasks
from flink_manager_dev.simulator.views import cluster_overview
from tests.component.conftest import KIND_RESOURCES
from tests.reliability.crd_strategies import Mutation, draw_examples, mutations
from tests.reliability.flows import conditions, status
from tests.reliability.harness import Env
from tests.reliability.matrix import run_all
from tests.reliability.summary import SUMMARY, trials
from tests.waiting import wait_for

LANES = 10
MUTATIONS = 500  # per CI run; more with RELIABILITY_TRIALS
KIND_WEIGHTS = {"Execution": 4, "JobSpec": 4, "Artifact": 1, "FlinkCluster": 1}
RUN_CONFIG_FIELDS = {
    "entryClass",
    "parallelism",
    "programArgs",
    "flinkConfig",
    "allowNonRestoredState",
    "artifactRef",
    "upgradeMode",
}


class Lane:
    """One FlinkCluster, Artifact, JobSpec and Execution, named after the lane's number."""

    def __init__(self, env: Env, index: int) -> None:
        self.env = env
        self.names = {
            "FlinkCluster": f"c{index}",
            "Artifact": f"a{index}",
            "JobSpec": f"j{index}",
            "Execution": f"e{index}",
        }
        self.base = {
            "FlinkCluster": env.cluster(self.names["FlinkCluster"]),
            "Artifact": env.artifact(self.names["Artifact"]),
            "JobSpec": env.job_spec(
                self.names["JobSpec"],
                artifactRef={"name": self.names["Artifact"]},
                clusterRef={"name": self.names["FlinkCluster"]},
            ),
            "Execution": env.execution(self.names["Execution"], job_spec=self.names["JobSpec"]),
        }
        self.outcomes: Counter[str] = Counter()
        self.problems: list[str] = []

    async def create(self) -> None:
        for kind in ("FlinkCluster", "Artifact", "JobSpec", "Execution"):
            await self.env.apply(self.base[kind])
        await self.env.track(self.names["Execution"])

    async def body(self, kind: str) -> dict[str, Any]:
        body = await self.env.get(kind, self.names[kind])
        assert body is not None, f"{kind} {self.names[kind]} is gone"
        return body

    async def job(self) -> tuple[str | None, Any]:
        st_ = status(await self.body("Execution"))
        job_id = st_.get("flinkJobId")
        return job_id, (self.env.job(job_id) if job_id else None)

    async def idle_running(self) -> bool:
        """Running, nothing in flight, its job's tasks deployed."""
        body = await self.body("Execution")
        _, job = await self.job()
        return (
            status(body).get("phase") == "Running"
            and not status(body).get("pending")
            and job is not None
            and job.state == JobState.RUNNING
            and job.tasks == Tasks.RUNNING
        )

    def touched(self, job_id: str | None, before_job: str | None, job: Any) -> bool:
        """The operator stopped, cancelled or replaced the job (a job failing by itself is not touched)."""
        if job_id != before_job or job is None:
            return True
        return (
            bool(self.env.stop_savepoints(job_id))
            or job.state in (JobState.CANCELLING, JobState.CANCELED)
            or (job.state == JobState.FINISHED)
        )

    async def observed(self, kind: str) -> dict[str, Any]:
        """Wait until the operator has seen the object's current generation, and the lane is calm again."""
        body = await self.env.wait(
            kind,
            self.names[kind],
            lambda b: status(b).get("observedGeneration") == b["metadata"]["generation"],
            timeout=20,
            what=f"{kind} {self.names[kind]} to be observed",
        )
        await self.calm()
        return body

    async def calm(self, seconds: float = 0.25) -> None:
        """No write about this lane's objects for a moment (the operator has done what the change asked)."""
        names = tuple(f"/{name}" for name in self.names.values())

        def calm() -> bool:
            mine = [c for c in self.env.trial.calls[-50:] if any(n in c.label for n in names)]
            return not mine or time.monotonic() - mine[-1].at >= seconds

        await wait_for(calm, timeout=20, interval=0.05, what="the lane to calm down")

    async def apply(self, mutation: Mutation) -> None:
        kind, name = mutation.kind, self.names[mutation.kind]
        was_idle = await self.idle_running()
        before_job, _ = await self.job()
        before = await self.body(kind)
        try:
            await self.env.kube.patch(KIND_RESOURCES[kind], self.env.namespace, name, mutation.patch())
        except KubeInvalid:
            self.outcomes["rejected by the API"] += 1
            after = await self.body(kind)
            if after["metadata"]["generation"] != before["metadata"]["generation"]:
                self.problems.append(f"{mutation}: refused (422) but the object changed")
            return
        except KubeError as exc:
            self.outcomes[f"refused {exc.status}"] += 1
            self.problems.append(f"{mutation}: answered {exc.status} {exc.reason}, not 422")
            return
        body = await self.observed(kind)
        lane_ready = [conditions(await self.body(k)).get("Ready", ("", ""))[0] for k in self.names]
        blocked = "False" in lane_ready[:3]  # the cluster, the artifact or the JobSpec cannot serve a run
        self.outcomes["refused by the operator" if blocked else "accepted"] += 1
        for other in self.names:
            for condition in status(await self.body(other)).get("conditions") or []:
                if not condition.get("reason") or not condition.get("message"):
                    self.problems.append(f"{mutation}: {other} condition {condition['type']} without a reason")
        if was_idle and not self.may_replace_the_job(mutation, blocked):
            job_id, job = await self.job()
            if self.touched(job_id, before_job, job):
                self.outcomes["touched the job wrongly"] += 1
                self.problems.append(
                    f"{mutation}: the running job {before_job} was touched: now {job_id} {job.state if job else None}"
                )
            else:
                self.outcomes["job left alone (checked)"] += 1
        await self.revert(mutation, body)

    def may_replace_the_job(self, mutation: Mutation, blocked: bool) -> bool:
        """Only these changes may stop, cancel or replace a running job."""
        if mutation.kind == "Execution":
            return mutation.path[0] in ("state", "restartNonce")
        if mutation.kind == "JobSpec":
            return mutation.path[0] in RUN_CONFIG_FIELDS and not blocked
        return False

    async def revert(self, mutation: Mutation, changed: dict[str, Any]) -> None:
        """Put the top-level field back as the base has it (a nested one alone could not always be: removing a
        required field of an optional object is refused); the nonces may only grow: those stay."""
        if mutation.kind == "Execution" and mutation.path[0] in ("restartNonce", "savepointNonce"):
            return
        field = mutation.path[0]
        revert = Mutation(mutation.kind, (field,), self.base[mutation.kind]["spec"].get(field), aimed_valid=True)
        try:
            await self.env.kube.patch(
                KIND_RESOURCES[mutation.kind], self.env.namespace, self.names[mutation.kind], revert.patch()
            )
        except KubeInvalid:
            return  # e.g. jobSpecRef is immutable and the change was refused anyway
        if (await self.body(mutation.kind))["metadata"]["generation"] != changed["metadata"]["generation"]:
            await self.observed(mutation.kind)

    def queue_state(self) -> str:
        """Where the live replica's work queue has this lane's Execution (to tell why it is not reconciled)."""
        queue = self.env.live.ctx.queue
        key = ("Execution", self.env.namespace, self.names["Execution"])
        due = queue._delayed_at.get(key)  # a diagnosis: the queue looked into
        return (
            f"processing={key in queue._processing} queued={key in queue._queued} "
            f"dirty={key in queue._dirty} due_in={None if due is None else round(due - time.monotonic(), 1)} "
            f"failures={queue._failures.get(key)} paused={queue.paused}"
        )

    async def converge(self) -> None:
        """Back to the base, running: the lane's execution ends Running, or Failed with a reason it gives."""
        for kind in ("FlinkCluster", "Artifact", "JobSpec"):
            current = (await self.body(kind)).get("spec") or {}
            base = self.base[kind]["spec"]
            await self.env.kube.patch(
                KIND_RESOURCES[kind],
                self.env.namespace,
                self.names[kind],
                {"spec": {**{field: None for field in current if field not in base}, **base}},
            )
        execution = await self.body("Execution")
        nonce = int((execution.get("spec") or {}).get("restartNonce") or 0)
        await self.env.kube.patch(
            KIND_RESOURCES["Execution"],
            self.env.namespace,
            self.names["Execution"],
            {"spec": {"state": "Running", "restartNonce": nonce + 1}},
        )
        job_spec = await self.observed("JobSpec")

        def settled(b: dict[str, Any]) -> bool:
            st_ = status(b)
            if st_.get("pending") or st_.get("observedRestartNonce") != nonce + 1:
                return False
            if st_.get("phase") == "Failed":
                return True
            job = self.env.job(st_["flinkJobId"]) if st_.get("flinkJobId") else None
            return (
                st_.get("phase") == "Running"
                and st_.get("jobSpecGeneration") == job_spec["metadata"]["generation"]
                and job is not None
                and job.tasks == Tasks.RUNNING
            )

        try:
            body = await self.env.wait(
                "Execution",
                self.names["Execution"],
                settled,
                timeout=60,
                what=f"lane {self.names['Execution']} to converge",
            )
        except AssertionError:
            body = await self.body("Execution")
            st_ = status(body)
            job = self.env.job(st_["flinkJobId"]) if st_.get("flinkJobId") else None
            self.problems.append(
                f"{self.names['Execution']} did not converge: phase {st_.get('phase')}, pending {st_.get('pending')}, "
                f"observedRestartNonce {st_.get('observedRestartNonce')} (spec {body['spec'].get('restartNonce')}), "
                f"jobSpecGeneration {st_.get('jobSpecGeneration')} (JobSpec {job_spec['metadata']['generation']}), "
                f"job {job.state if job else None}/{job.tasks if job else None}, conditions {conditions(body)}, "
                f"error {st_.get('errorMessage')}, history {[h['action'] for h in st_.get('history', [])][-6:]}, "
                f"Degraded says {[c.get('message') for c in st_.get('conditions', []) if c['type'] == 'Degraded']}, "
                f"work queue: {self.queue_state()}, FlinkCluster spec {(await self.body('FlinkCluster'))['spec']} "
                f"{conditions(await self.body('FlinkCluster'))}"
            )
            return
        if status(body).get("phase") == "Failed":
            ready = conditions(body).get("Ready", ("", ""))
            if ready[0] != "False" or not ready[1] or not status(body).get("errorMessage"):
                self.problems.append(f"{self.names['Execution']} ended Failed without saying why: {conditions(body)}")
            print(
                f"{self.names['Execution']} ended Failed: {ready[1]}: {status(body).get('errorMessage')}; "
                f"history {[h['action'] for h in status(body).get('history', [])][-6:]}"
            )
        self.outcomes[f"ended {status(body).get('phase')}"] += 1


def lane_mutations(env: Env, count: int, random_seed: int) -> list[Mutation]:
    """Mutations of every kind, weighted, from the CRD schemas; URLs only ever point at local things."""
    jar, missing = env.jar_url, f"file://{env.tmp}/missing.jar"
    overrides = {
        "restUrl": st.sampled_from([env.flink_url, "http://127.0.0.1:9"]),
        "url": st.sampled_from([jar, missing, "http://127.0.0.1:9/job.jar"]),
        # Nonces only grow, and each lane bumps its restartNonce to converge: leave it a successor below int64's
        # largest (an Execution at the largest can no longer be restarted by nonce, which the CRD allows).
        "restartNonce": st.integers(0, 2**63 - 1_000_000),
        "savepointNonce": st.integers(0, 2**63 - 1_000_000),
    }
    kinds = [kind for kind, weight in KIND_WEIGHTS.items() for _ in range(weight)]
    strategy = st.sampled_from(kinds).flatmap(lambda kind: mutations(kind, overrides))
    return draw_examples(strategy, count, random_seed)


@pytest.mark.timeout(300 * trials())
async def test_fuzzed_specs_are_refused_or_carried_out_and_never_crash_the_operator(make_env: Any) -> None:
    env = await make_env()
    await env.start_replica()
    lanes = [Lane(env, index) for index in range(LANES)]
    for lane in lanes:
        await lane.create()
    for lane in lanes:
        await env.wait_phase(lane.names["Execution"], "Running", timeout=30)
    await env.settle()
    total = MUTATIONS * trials()
    drawn = lane_mutations(env, total, random_seed=20261129 + trials())
    began = time.monotonic()

    async def fuzz(lane: Lane, plan: list[Mutation]) -> None:
        for mutation in plan:
            await lane.apply(mutation)

    await run_all([lambda lane=lane, index=index: fuzz(lane, drawn[index::LANES]) for index, lane in enumerate(lanes)])
    fuzzing = time.monotonic() - began
    await run_all([lambda lane=lane: lane.converge() for lane in lanes])

    def flink_still() -> bool:  # every job ended, or runs with its tasks deployed: nothing will change by itself
        env.flink.cluster.advance()
        return all(
            job.terminal or (job.state == JobState.RUNNING and job.tasks == Tasks.RUNNING)
            for job in env.flink.cluster.jobs.values()
        )

    await wait_for(flink_still, timeout=30, what="every Flink job to end or run")

    async def clusters_current() -> bool:  # each FlinkCluster's probe has seen that: its status writes are done
        overview = cluster_overview(env.flink.cluster)
        now = (overview["jobs-running"], overview["slots-available"])
        reported = [status(await lane.body("FlinkCluster")) for lane in lanes]
        return all((st_.get("jobsRunning"), st_.get("slotsAvailable")) == now for st_ in reported)

    await wait_for(clusters_current, timeout=30, what="every FlinkCluster to report what Flink runs now")
    await env.settle(timeout=30)
    states = env.flink.job_states()
    clusters = {lane.names["FlinkCluster"]: status(await lane.body("FlinkCluster")) for lane in lanes}
    quiet = await env.quiet()
    if quiet:  # what changed meanwhile, to tell the operator's doing from the world's
        changed = {j: (states.get(j), s) for j, s in env.flink.job_states().items() if states.get(j) != s}
        after = {lane.names["FlinkCluster"]: status(await lane.body("FlinkCluster")) for lane in lanes}
        print(f"jobs that changed state during the quiet window: {changed}")
        for name, before in clusters.items():
            diff = {
                k: (before.get(k), after[name].get(k))
                for k in set(before) | set(after[name])
                if before.get(k) != after[name].get(k) and k != "conditions"
            }
            if diff:
                print(f"FlinkCluster {name} status changed: {diff}")

    outcomes: Counter[str] = sum((lane.outcomes for lane in lanes), Counter())
    problems = [p for lane in lanes for p in lane.problems]
    problems += [f"writes after convergence: {[c.label for c in quiet]}"] if quiet else []
    problems += env.sampler.duplicate_live_jobs()
    crashes = [e for r in env.replicas for e in r.errors]
    raised = sum(
        r.ctx.metrics.reconciles.labels(kind, "error")._value.get()
        for r in env.replicas
        if r.ctx is not None
        for kind in KIND_RESOURCES
    )
    problems += crashes + ([f"{raised:g} reconciles raised"] if raised else [])
    SUMMARY.add("fuzz_mutations", len(drawn))
    SUMMARY.add("fuzz_valid", outcomes["accepted"])
    SUMMARY.add("fuzz_rejected_by_api", outcomes["rejected by the API"])
    SUMMARY.add("fuzz_rejected_by_operator", outcomes["refused by the operator"])
    SUMMARY.add("fuzz_jobs_checked_untouched", outcomes["job left alone (checked)"])
    SUMMARY.add("wrongly_touched_jobs", outcomes["touched the job wrongly"])
    SUMMARY.add("operator_crashes", len(crashes) + int(raised))
    SUMMARY.set("fuzz_seconds", round(fuzzing, 1))
    print(f"{len(drawn)} mutations in {fuzzing:.1f}s over {LANES} lanes: {dict(outcomes)}")
    assert not problems, "\n".join(problems[:40])
