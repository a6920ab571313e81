"""A pure, in-memory Flink and one Execution, for driving `reconcile.execution.decide` step by step.

The fake follows the Flink semantics the decisions rely on (and that the contract suite checks on real
Flink): a job id can be submitted once, a trigger id names one operation, stop-with-savepoint ends in
FINISHED with the savepoint location, cancel ends in CANCELED, a cluster restart forgets jobs and jars.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from flink_manager.api import (
    ArtifactSpec,
    ArtifactStatus,
    ClusterPhase,
    ExecutionSpec,
    ExecutionStatus,
    FlinkClusterSpec,
    FlinkClusterStatus,
    JobSpecSpec,
    JobSpecStatus,
)
from flink_manager.api.artifact import ArtifactPhase
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile import execution
from flink_manager.reconcile.observations import (
    ActionError,
    ActionErrorKind,
    ActionOutcome,
    CheckpointRef,
    JobObservation,
    Observation,
    TriggerObservation,
    TriggerState,
)
from flink_manager.reconcile.plans import (
    CancelJob,
    DisposeSavepoint,
    Plan,
    ReleaseFinalizer,
    RunJob,
    StopJob,
    TriggerSavepoint,
    UploadJar,
)
from flink_manager.reconcile.targets import View, resolve_target

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
SHA_A = "a" * 64
SHA_B = "b" * 64


@dataclass
class FakeJob:
    job_id: str
    state: JobState
    restored_from: str | None
    config: dict[str, Any]
    failure: str | None = None
    checkpoints: list[CheckpointRef] = field(default_factory=list)
    savepoint: CheckpointRef | None = None
    tasks_running: bool = True  # False: RUNNING with tasks still deploying (Flink refuses savepoints then)
    flink_restarts: int = 0  # restarts Flink made on its own (its exception history)
    recovering: bool = False  # Flink restarts it (the poller's snapshot says so)


@dataclass
class FakeTrigger:
    kind: str  # stop | savepoint | dispose
    job_id: str | None
    state: TriggerState
    location: str | None = None
    failure: str | None = None


@dataclass
class FakeFlink:
    """Flink as the decisions see it; `advance()` moves every transition one step."""

    jobs: dict[str, FakeJob] = field(default_factory=dict)
    jars: dict[str, str] = field(default_factory=dict)  # jar id -> sha256
    triggers: dict[str, FakeTrigger] = field(default_factory=dict)
    disposed: list[str] = field(default_factory=list)
    savepoint_fails: bool = False
    savepoints_hang: bool = False
    disposal_fails: bool = False
    reject_runs: bool = False
    unavailable: bool = False
    checkpointing: bool = True  # running jobs complete a checkpoint at every advance
    runs: int = 0
    counter: int = 0
    # The checkpoint storage: the newest retained checkpoint of each job, which outlives a cluster restart.
    storage: dict[str, CheckpointRef] = field(default_factory=dict)

    def live_jobs(self) -> list[FakeJob]:
        return [j for j in self.jobs.values() if not j.state.is_globally_terminal]

    def advance(self, now: datetime.datetime) -> None:
        for job in self.jobs.values():
            if job.state == JobState.INITIALIZING:
                job.state = JobState.CREATED
            elif job.state == JobState.CREATED:
                job.state = JobState.RUNNING
            elif job.state == JobState.RUNNING and self.checkpointing:
                self.counter += 1
                job.checkpoints.append(CheckpointRef(f"file:/chk/{job.job_id}/chk-{self.counter}", now))
            elif job.state == JobState.CANCELLING:
                job.state = JobState.CANCELED
        for trigger in self.triggers.values():
            if trigger.state != TriggerState.IN_PROGRESS or (self.savepoints_hang and trigger.kind != "dispose"):
                continue
            if trigger.kind == "dispose":
                if self.disposal_fails:
                    trigger.state, trigger.failure = TriggerState.FAILED, "disposal failed"
                else:
                    trigger.state = TriggerState.COMPLETED
                    self.disposed.append(trigger.location or "")
                continue
            job = self.jobs.get(trigger.job_id or "")
            if job is None or job.state != JobState.RUNNING:
                trigger.state, trigger.failure = TriggerState.FAILED, "job is not running"
            elif self.savepoint_fails:
                trigger.state, trigger.failure = TriggerState.FAILED, "Checkpoint expired before completing."
            else:
                self.counter += 1
                location = f"file:/sp/savepoint-{job.job_id[:6]}-{self.counter:012x}"
                trigger.state, trigger.location = TriggerState.COMPLETED, location
                job.savepoint = CheckpointRef(location, now, is_savepoint=True)
                if trigger.kind == "stop":
                    job.state = JobState.FINISHED

    def restart_cluster(self) -> None:
        for job in self.jobs.values():
            if job.checkpoints and not job.state.is_globally_terminal:
                self.storage[job.job_id] = job.checkpoints[-1]  # a killed JobManager cleans nothing up
        self.jobs.clear()
        self.jars.clear()
        self.triggers.clear()

    # -- the Flink calls the controller makes for each action; they raise ActionError like the client's errors

    def perform(self, action: Any, sha_of_artifact: dict[str, str]) -> str | None:
        if self.unavailable and not isinstance(action, ReleaseFinalizer):
            raise _error(ActionErrorKind.UNAVAILABLE, "connection refused")
        if isinstance(action, UploadJar):
            jar_id = f"jar-{len(self.jars) + 1}_{action.artifact}.jar"
            self.jars[jar_id] = action.sha256
            return jar_id
        if isinstance(action, RunJob):
            if action.jar_id not in self.jars:
                raise _error(ActionErrorKind.JAR_NOT_FOUND, f"jar {action.jar_id} not found")
            if action.job_id in self.jobs:
                raise _error(ActionErrorKind.DUPLICATE_JOB, "job already exists")
            if self.reject_runs:
                raise _error(ActionErrorKind.REJECTED, "ClassNotFoundException: com.example.Missing")
            self.runs += 1
            self.jobs[action.job_id] = FakeJob(
                action.job_id,
                JobState.INITIALIZING,
                action.savepoint_path,
                {"parallelism": action.parallelism, "args": action.program_args},
            )
            return None
        if isinstance(action, StopJob | TriggerSavepoint):
            kind = "stop" if isinstance(action, StopJob) else "savepoint"
            if action.trigger_id in self.triggers:
                return None  # the same trigger id is the same operation
            job = self.jobs.get(action.job_id)
            if job is None:
                raise _error(ActionErrorKind.JOB_NOT_FOUND, "job not found")
            self.triggers[action.trigger_id] = (
                FakeTrigger(kind, action.job_id, TriggerState.IN_PROGRESS)
                if job.tasks_running
                else FakeTrigger(
                    kind, action.job_id, TriggerState.FAILED, failure="Not all required tasks are currently running."
                )
            )
            return None
        if isinstance(action, CancelJob):
            job = self.jobs.get(action.job_id)
            if job is None:
                raise _error(ActionErrorKind.JOB_NOT_FOUND, "job not found")
            if not job.state.is_globally_terminal:
                job.state = JobState.CANCELLING
            return None
        if isinstance(action, DisposeSavepoint):
            self.counter += 1
            trigger_id = f"dispose-{self.counter}"  # Flink picks the trigger id of a disposal
            self.triggers[trigger_id] = FakeTrigger("dispose", None, TriggerState.IN_PROGRESS, location=action.path)
            return trigger_id
        return None

    def observe(self, status: ExecutionStatus) -> Observation:
        if self.unavailable:
            return Observation(unavailable="connection refused")
        needs = execution.observation_needs(status)
        job_obs = None
        if needs.job_id is not None:
            job = self.jobs.get(needs.job_id)
            if job is None:
                stored = self.storage.get(needs.job_id) if execution.needs_stored_checkpoints(status, None) else None
                job_obs = JobObservation(needs.job_id, None, latest_checkpoint=stored)
            else:
                details = execution.needs_job_details(status, job.state)
                counted = job.recovering and execution.counts_flink_restarts(status)
                job_obs = JobObservation(
                    job.job_id,
                    job.state,
                    failure=job.failure if details or counted else None,
                    flink_restarts=job.flink_restarts if counted else None,
                    latest_checkpoint=job.checkpoints[-1] if details and job.checkpoints else None,
                    latest_savepoint=job.savepoint if details else None,
                    tasks_deploying=job.state == JobState.RUNNING and not job.tasks_running,
                )
        trigger_obs = None
        if needs.trigger_id is not None:
            trigger = self.triggers.get(needs.trigger_id)
            trigger_obs = (
                TriggerObservation(needs.trigger_id, TriggerState.UNKNOWN)
                if trigger is None
                else TriggerObservation(needs.trigger_id, trigger.state, trigger.location, trigger.failure)
            )
        return Observation(job=job_obs, trigger=trigger_obs)


class _ActionFailed(Exception):
    def __init__(self, error: ActionError) -> None:
        self.error = error


def _error(kind: ActionErrorKind, message: str) -> _ActionFailed:
    return _ActionFailed(ActionError(kind, message))


@dataclass
class World:
    """One Execution, its JobSpec/Artifact/FlinkCluster, a fake Flink and a clock."""

    spec: ExecutionSpec = field(default_factory=lambda: ExecutionSpec.from_wire({"jobSpecRef": {"name": "job"}}))
    status: ExecutionStatus = field(default_factory=ExecutionStatus)
    job_spec: JobSpecSpec = field(
        default_factory=lambda: JobSpecSpec.from_wire(
            {"artifactRef": {"name": "art"}, "entryClass": "com.example.Job", "parallelism": 2}
        )
    )
    job_spec_generation: int = 1
    job_spec_status: JobSpecStatus = field(default_factory=JobSpecStatus)
    name: str = "exec-1"
    artifact_sha: str = SHA_A
    generation: int = 1
    uid: str = "uid-1"
    now: datetime.datetime = T0
    flink: FakeFlink = field(default_factory=FakeFlink)
    requested_by: str = "kubectl-client-side-apply"
    deletion_requested_at: datetime.datetime | None = None
    released: bool = False
    last_action: ActionOutcome | None = None  # what the last step's Flink call returned, for the next decision
    plans: list[Plan[ExecutionStatus]] = field(default_factory=list)
    writes: int = 0

    def edit(self, **changes: Any) -> None:
        """Change the Execution spec (a new generation), as `kubectl apply` would."""
        self.spec = self.spec.model_copy(update=changes)
        self.generation += 1

    def edit_job_spec(self, **changes: Any) -> None:
        self.job_spec = self.job_spec.model_copy(update=changes)
        self.job_spec_generation += 1

    def inputs(self, observation: Observation | None = None) -> execution.ExecutionInputs:
        artifact_spec = ArtifactSpec(url="https://example.com/a.jar", sha256=self.artifact_sha, entry_classes=())
        artifact = View(
            "art",
            1,
            artifact_spec,
            ArtifactStatus(phase=ArtifactPhase.READY, sha256=self.artifact_sha, observed_generation=1),
        )
        cluster = View(
            "default",
            1,
            FlinkClusterSpec(rest_url="http://flink:8081"),
            FlinkClusterStatus(phase=ClusterPhase.READY, flink_version="2.3.0"),
        )
        job_spec = View("job", self.job_spec_generation, self.job_spec, self.job_spec_status)
        target = resolve_target("job", job_spec, artifact, cluster)
        observation = observation if observation is not None else self.flink.observe(self.status)
        jar_ids = {sha: jar_id for jar_id, sha in self.flink.jars.items()}
        return execution.ExecutionInputs(
            uid=self.uid,
            generation=self.generation,
            spec=self.spec,
            status=self.status,
            requested_by=self.requested_by,
            target=target,
            jar_ids=jar_ids,
            observation=observation,
            now=self.now,
            deletion_requested_at=self.deletion_requested_at,
            deleted_by="kubectl",
            last_action=self.last_action,
            name=self.name,
        )

    def decide(self) -> Plan[ExecutionStatus]:
        plan = execution.decide(self.inputs())
        self.plans.append(plan)
        return plan

    def step(self, *, lose_response: bool = False, crash_before_action: bool = False) -> Plan[ExecutionStatus]:
        """One reconcile: decide, write the status, perform the action (feeding its error to the next step)."""
        plan = self.decide()
        if plan.status != self.status:
            self.writes += 1
        self.status = plan.status
        self.last_action = None
        if crash_before_action or plan.action is None:
            return plan
        if isinstance(plan.action, ReleaseFinalizer):
            self.released = True
            return plan
        try:
            result = self.flink.perform(plan.action, {"art": self.artifact_sha})
            if lose_response:
                self.last_action = ActionOutcome(error=ActionError(ActionErrorKind.UNAVAILABLE, "response lost"))
            elif result is not None and not isinstance(plan.action, UploadJar):
                self.last_action = ActionOutcome(disposal_trigger_id=result)
        except _ActionFailed as failed:
            self.last_action = ActionOutcome(error=failed.error)
        return plan

    def tick(self, seconds: float = 1.0) -> None:
        self.now += datetime.timedelta(seconds=seconds)
        self.flink.advance(self.now)

    def settle(self, max_steps: int = 60) -> int:
        """Step and advance time until a decision changes nothing and asks for nothing. Returns the steps taken."""
        for count in range(1, max_steps + 1):
            if self.released:
                return count
            before = self.status
            plan = self.step()
            if plan.action is None and plan.status == before and not plan.retry and not self._waiting(plan):
                return count
            soon = plan.requeue_after is not None and plan.requeue_after < 30
            self.tick(max(plan.requeue_after or 1.0, 0.001) if soon else 1.0)
        raise AssertionError(
            f"did not settle in {max_steps} steps; status: {self.status.phase}, pending: {self.status.pending}"
        )

    def _waiting(self, plan: Plan[ExecutionStatus]) -> bool:
        """Still in flight: a pending operation, or a short requeue for something due soon."""
        return plan.status.pending is not None or (plan.requeue_after is not None and plan.requeue_after <= 15)

    def actions(self) -> list[str]:
        return [h.action.value for h in self.status.history]
