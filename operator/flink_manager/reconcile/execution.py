"""The Execution state machine as a pure function: (spec, status, what Flink reports, now) → plan.

One call decides one step. A step either records an intent in status and names the Flink call that
carries it out (the controller writes the status first, then calls Flink), or records what Flink
reported. Operations in flight live in `status.pending`, so a step that runs twice, late, or after a
crash resumes the same operation with the same job id or trigger id instead of starting another.

History: one entry each time the execution settles in a phase (Running, Stopped, Cancelled, Failed,
Finished) or a savepoint completes, appended in the same status write as the change it records, so
it can be neither lost nor doubled.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from flink_manager.api.common import ConditionStatus, ConditionType, HistoryAction, HistoryDetails, HistoryEntry
from flink_manager.api.execution import (
    DeletionPolicy,
    DesiredState,
    ExecutionPhase,
    ExecutionSpec,
    ExecutionStatus,
    FailedOperation,
    OperationType,
    PendingOperation,
    RestartPolicyType,
    RollbackStatus,
    RunConfig,
    SavepointReason,
    SavepointRecord,
)
from flink_manager.api.flinkjob import JobState
from flink_manager.api.jobspec import UpgradeMode
from flink_manager.reconcile import schedules
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.ids import derive_job_id, derive_trigger_id
from flink_manager.reconcile.observations import ActionErrorKind, JobObservation, Observation, TriggerState
from flink_manager.reconcile.performer import OPERATOR
from flink_manager.reconcile.plans import (
    Action,
    CancelJob,
    DisposeSavepoint,
    EventRecord,
    Plan,
    ReleaseFinalizer,
    RunJob,
    StopJob,
    TriggerSavepoint,
    UploadJar,
)
from flink_manager.reconcile.targets import Blocker, RunTarget

# How soon to look again after an action, and while Flink works on something (the cluster poller
# usually wakes the execution earlier, when the job's state changes).
RECHECK_AFTER_ACTION = 0.5
RECHECK_WHILE_WAITING = 2.0
SAVEPOINT_RETRY_BACKOFF = 5.0
DEFAULT_HISTORY_LIMIT = 50
SAVEPOINT_LIST_HARD_LIMIT = 100

STABLE_PHASES = frozenset({
    ExecutionPhase.PENDING, ExecutionPhase.RUNNING, ExecutionPhase.STOPPED,
    ExecutionPhase.CANCELLED, ExecutionPhase.FINISHED, ExecutionPhase.FAILED,
})
# Phases in which a Flink job of the current attempt may be alive.
LIVE_PHASES = frozenset({
    ExecutionPhase.SUBMITTING, ExecutionPhase.RUNNING, ExecutionPhase.STOPPING,
    ExecutionPhase.CANCELLING, ExecutionPhase.RESTARTING,
})
PHASE_OF_STOP_ACTION = {
    HistoryAction.STOP: ExecutionPhase.STOPPING,
    HistoryAction.CANCEL: ExecutionPhase.CANCELLING,
    HistoryAction.DELETE: ExecutionPhase.STOPPING,
}
SAVEPOINT_REASON_OF_ACTION = {
    HistoryAction.STOP: SavepointReason.STOP,
    HistoryAction.RESTART: SavepointReason.RESTART,
    HistoryAction.UPGRADE: SavepointReason.UPGRADE,
    HistoryAction.ROLLBACK: SavepointReason.UPGRADE,
    HistoryAction.DELETE: SavepointReason.DELETE,
}


@dataclass(frozen=True)
class ExecutionInputs:
    """Everything one decision reads. Built by the controller from the Kubernetes cache and Flink."""

    uid: str
    generation: int
    spec: ExecutionSpec
    status: ExecutionStatus
    requested_by: str  # who asked for the current spec (annotation, else field manager)
    target: RunTarget | Blocker  # what a new attempt would run now
    jar_ids: dict[str, str]  # artifact sha256 → jar id, on the cluster of the current attempt (or target)
    observation: Observation
    now: datetime.datetime
    deletion_requested_at: datetime.datetime | None = None
    deleted_by: str = "unknown"
    history_limit: int = DEFAULT_HISTORY_LIMIT

    @property
    def deleting(self) -> bool:
        return self.deletion_requested_at is not None

    @property
    def job(self) -> JobObservation | None:
        return self.observation.job


@dataclass(frozen=True)
class ObservationNeeds:
    """What the observer must read from Flink before a decision: the job, and an operation's trigger."""

    job_id: str | None
    trigger_id: str | None = None
    trigger_operation: OperationType | None = None


def observation_needs(status: ExecutionStatus) -> ObservationNeeds:
    """The Flink reads one decision needs, from the status alone."""
    pending = status.pending
    job_id = pending.job_id if pending is not None and pending.job_id else status.flink_job_id
    if pending is not None and pending.trigger_id is not None:
        return ObservationNeeds(job_id, pending.trigger_id, pending.operation)
    return ObservationNeeds(job_id)


def needs_job_details(status: ExecutionStatus, state: JobState | None) -> bool:
    """Whether the job's failure cause and checkpoints are needed (a failed job, or a stop whose job finished)."""
    if state == JobState.FAILED:
        return True
    pending = status.pending
    return state == JobState.FINISHED and pending is not None and pending.operation == OperationType.STOP


def decide(inp: ExecutionInputs) -> Plan[ExecutionStatus]:
    """Decide the next step of one Execution."""
    status = inp.status
    if status.failed_operation is not None and status.failed_operation.generation != inp.generation:
        status = status.model_copy(update={"failed_operation": None})  # a spec change retries what was given up
    status = clear_rollback_if_spec_changed(status, inp.target)
    step = _Step(inp, status)
    if inp.observation.unavailable is not None and _needs_flink(inp, status):
        step.unreachable()
    elif inp.deleting:
        step.deletion()
    elif status.pending is not None:
        step.resume(status.pending)
    else:
        step.next()
    return step.plan()


def _needs_flink(inp: ExecutionInputs, status: ExecutionStatus) -> bool:
    return status.pending is not None or status.phase in LIVE_PHASES or inp.observation.job is not None


class _Step:
    """One decision in progress: the status being built, the action chosen, events and requeue."""

    def __init__(self, inp: ExecutionInputs, status: ExecutionStatus) -> None:
        self.inp = inp
        self.status = status
        self.action: Action | None = None
        self.requeue_after: float | None = None
        self.retry = False
        self.events: list[EventRecord] = []
        self.unreachable_message: str | None = None
        self.blocker: Blocker | None = None
        self.upgrade_pending: str | None = None

    # ---------------------------------------------------------------- results

    def plan(self) -> Plan[ExecutionStatus]:
        if self.inp.status.pending is not None and self.status.pending is None and self.action is None:
            self.requeue(0)  # an operation just ended: decide what comes next (a schedule, retention, the spec)
        self.status = self.status.model_copy(update={"observed_generation": self.inp.generation})
        self.status = self.status.model_copy(update={"conditions": self._conditions()})
        return Plan(
            status=self.status,
            action=self.action,
            requeue_after=self.requeue_after,
            retry=self.retry,
            events=tuple(self.events),
        )

    def update(self, **changes: Any) -> None:
        self.status = self.status.model_copy(update=changes)

    def begin(self, pending: PendingOperation) -> PendingOperation:
        """Number a new operation and, for savepoint-taking ones, give it its trigger id; record it as pending."""
        seq = self.status.operations_total + 1
        changes: dict[str, Any] = {"seq": seq, "generation": self.inp.generation}
        if pending.operation in (OperationType.STOP, OperationType.SAVEPOINT):
            assert pending.job_id is not None
            changes["trigger_id"] = derive_trigger_id(self.inp.uid, pending.job_id, pending.operation.value, seq, 1)
        pending = pending.model_copy(update=changes)
        self.update(pending=pending, operations_total=seq)
        return pending

    def act(self, action: Action, requeue_after: float = RECHECK_AFTER_ACTION) -> None:
        self.action = action
        self.requeue(requeue_after)

    def requeue(self, seconds: float) -> None:
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)

    def record(
        self,
        action: HistoryAction,
        performed_by: str,
        old: ExecutionPhase | str | None,
        new: ExecutionPhase | str,
        **details: Any,
    ) -> None:
        """Append one history entry (bounded to the newest N; historyTotal counts them all)."""
        seq = self.status.history_total + 1
        entry = HistoryEntry(
            seq=seq,
            action=action,
            performed_by=performed_by,
            performed_at=self.inp.now,
            old_status=_phase_name(old),
            new_status=_phase_name(new) or "",
            flink_job_id=self.status.flink_job_id,
            details=HistoryDetails(**details),
        )
        history = (*self.status.history, entry)[-max(1, self.inp.history_limit):]
        self.update(history=history, history_total=seq)

    def settle(
        self,
        action: HistoryAction,
        performed_by: str,
        old: ExecutionPhase,
        new: ExecutionPhase,
        **details: Any,
    ) -> None:
        """Enter a stable phase: clear the pending operation and record the transition."""
        changes: dict[str, Any] = {"phase": new, "pending": None}
        if new in (ExecutionPhase.STOPPED, ExecutionPhase.CANCELLED, ExecutionPhase.FAILED, ExecutionPhase.FINISHED):
            if self.status.finished_at is None or self.status.phase in LIVE_PHASES:
                changes["finished_at"] = self.inp.now
        self.update(**changes)
        self.record(action, performed_by, old, new, **details)

    # ---------------------------------------------------------------- top-level branches

    def unreachable(self) -> None:
        """Flink could not be asked: change nothing but the Degraded condition; retry with backoff."""
        self.unreachable_message = self.inp.observation.unavailable
        if self.inp.deleting and self._deletion_overdue():
            self.release_anyway(f"Flink could not be reached: {self.unreachable_message}")
            return
        self.retry = True

    def resume(self, pending: PendingOperation) -> None:
        """Continue the operation in flight (a cancel request takes over from a stop that waits for its savepoint)."""
        if (pending.operation == OperationType.STOP and self.inp.spec.state == DesiredState.CANCELLED
                and pending.action in (HistoryAction.STOP, HistoryAction.RESTART, HistoryAction.UPGRADE)
                and pending.savepoint_path is None and not self.inp.deleting
                and self.inp.observation.trigger is not None
                and (self.inp.observation.trigger.state == TriggerState.IN_PROGRESS
                     or (self.inp.observation.trigger.state == TriggerState.UNKNOWN
                         and self.inp.job is not None and self.inp.job.alive))):
            # Only while Flink has no savepoint to show for it: a completed one is recorded first, never dropped.
            self.update(phase=pending.from_phase)
            self.begin_stop(HistoryAction.CANCEL, self.inp.requested_by, savepoint=False)
            return
        if pending.operation == OperationType.SUBMIT:
            self.resume_submit(pending)
        elif pending.operation == OperationType.STOP:
            self.resume_stop(pending)
        elif pending.operation == OperationType.CANCEL:
            self.resume_cancel(pending)
        elif pending.operation == OperationType.SAVEPOINT:
            self.resume_savepoint(pending)
        elif pending.operation == OperationType.DISPOSE:
            self.resume_dispose(pending)

    def next(self) -> None:
        """Nothing in flight: react to what Flink reports, then move towards the desired state."""
        if self.status.phase in LIVE_PHASES and self.observe_job_end():
            return
        desired = self.inp.spec.state
        if desired == DesiredState.RUNNING:
            self.towards_running()
        elif desired == DesiredState.STOPPED:
            self.towards_stopped(HistoryAction.STOP)
        else:
            self.towards_stopped(HistoryAction.CANCEL)

    # ---------------------------------------------------------------- observing a job that ended

    def observe_job_end(self) -> bool:
        """Record a job that failed, finished, was cancelled outside the operator, or was lost. True if it ended."""
        job = self.inp.job
        status = self.status
        if job is None or job.job_id != status.flink_job_id:
            return False
        old = status.phase if status.phase in STABLE_PHASES else ExecutionPhase.RUNNING
        if job.state == JobState.FAILED:
            self.fail(old, job.failure)
            return True
        if job.state == JobState.FINISHED:
            self.settle(HistoryAction.FINISH, OPERATOR, old, ExecutionPhase.FINISHED, attempt=status.attempt)
            return True
        if job.state == JobState.CANCELED:
            self.settle(
                HistoryAction.CANCEL, OPERATOR, old, ExecutionPhase.CANCELLED,
                attempt=status.attempt, message="the job was cancelled outside the operator",
            )
            return True
        if job.state is None:
            self.job_lost(old)
            return True
        return False

    def fail(self, old: ExecutionPhase, failure: str | None) -> None:
        """The job FAILED: record Flink's root cause; a rollback or restart is decided by the next step."""
        message = failure or "the Flink job failed (no root cause reported)"
        self.update(error_message=message)
        self.settle(HistoryAction.FAIL, OPERATOR, old, ExecutionPhase.FAILED, attempt=self.status.attempt, error=message)
        self.events.append(EventRecord("Warning", "JobFailed", f"Flink job {self.status.flink_job_id} failed: {message}"))
        self.requeue(0)

    def job_lost(self, old: ExecutionPhase) -> None:
        """The cluster no longer knows the job (a restart without HA): recover from the last savepoint."""
        desired = self.inp.spec.state
        if desired != DesiredState.RUNNING:
            new = ExecutionPhase.STOPPED if desired == DesiredState.STOPPED else ExecutionPhase.CANCELLED
            action = HistoryAction.STOP if desired == DesiredState.STOPPED else HistoryAction.CANCEL
            self.settle(action, self.inp.requested_by, old, new, message="the job no longer exists on the cluster")
            return
        last = self.status.last_savepoint
        if last is None and not self.inp.spec.restart_policy.allow_stateless:
            message = "the cluster lost the job and no savepoint is known; bump restartNonce to start it again without state"
            self.update(error_message=message)
            self.settle(HistoryAction.FAIL, OPERATOR, old, ExecutionPhase.FAILED, error=message, reason="JobLost")
            self.update(failed_operation=FailedOperation(
                operation=OperationType.SUBMIT, action=HistoryAction.RECOVER, generation=self.inp.generation,
                reason="NoRestorableState", message=message, at=self.inp.now,
            ))
            return
        self.start_attempt(HistoryAction.RECOVER, OPERATOR, old, restore=last.path if last else None)

    # ---------------------------------------------------------------- desired state: Running

    def towards_running(self) -> None:
        status, spec = self.status, self.inp.spec
        phase = status.phase
        nonce_bumped = spec.restart_nonce > status.observed_restart_nonce
        if phase == ExecutionPhase.PENDING:
            restore = spec.restore_from.savepoint_path
            if restore is None and isinstance(self.inp.target, RunTarget):
                restore = self.inp.target.initial_savepoint
            self.start_attempt(HistoryAction.START, self.inp.requested_by, phase, restore=restore)
        elif phase in (ExecutionPhase.STOPPED, ExecutionPhase.CANCELLED):
            last = status.last_savepoint
            self.start_attempt(HistoryAction.START, self.inp.requested_by, phase, restore=last.path if last else None)
        elif phase == ExecutionPhase.FAILED:
            self.after_failure(nonce_bumped)
        elif phase == ExecutionPhase.FINISHED:
            if nonce_bumped:
                last = status.last_savepoint
                self.start_attempt(HistoryAction.RESTART, self.inp.requested_by, phase, restore=last.path if last else None)
        elif phase == ExecutionPhase.RUNNING:
            self.while_running(nonce_bumped)

    def after_failure(self, nonce_bumped: bool) -> None:
        """A failed job: roll back a fresh upgrade, restart it per restartPolicy or on request, or stay Failed."""
        status, policy = self.status, self.inp.spec.restart_policy
        if self.rollback_due():
            return
        if nonce_bumped:
            self.restart_from_latest_state(HistoryAction.RESTART, self.inp.requested_by, user_requested=True)
            return
        if status.failed_operation is not None:
            return  # gave up (no usable state); waits for a spec change
        if policy.type != RestartPolicyType.ON_FAILURE or status.restarts >= policy.max_restarts:
            return
        due = (status.finished_at or self.inp.now) + schedules.seconds(policy.backoff_seconds)
        if self.inp.now < due:
            self.requeue((due - self.inp.now).total_seconds())
            return
        self.restart_from_latest_state(HistoryAction.RESTART, OPERATOR, user_requested=False)

    def restart_from_latest_state(self, action: HistoryAction, by: str, *, user_requested: bool) -> None:
        """Resubmit a failed job from the newest usable checkpoint or savepoint; never silently stateless."""
        if self.inp.job is None:
            # Flink was not asked about the failed job (unreachable, or its cluster not available to the operator):
            # its checkpoints are unknown, which is not the same as none. Ask again rather than give up on its
            # state — and say why the restart waits.
            self.unreachable_message = self.inp.observation.unavailable or (
                f"the restart waits for Flink to report on the failed job {self.status.flink_job_id} "
                f"(its checkpoints are needed), but FlinkCluster {self.status.cluster!r} cannot be asked")
            self.retry = True
            return
        restore = self.latest_state()
        policy = self.inp.spec.restart_policy
        if restore is None and not policy.allow_stateless:
            message = (
                "no checkpoint or savepoint to restore from"
                + (f" newer than {policy.max_state_age_seconds}s" if policy.max_state_age_seconds else "")
                + "; set restartPolicy.allowStateless to restart without state"
            )
            self.update(failed_operation=FailedOperation(
                operation=OperationType.SUBMIT, action=action, generation=self.inp.generation,
                reason="NoRestorableState", message=message, at=self.inp.now,
            ))
            if user_requested:
                self.update(observed_restart_nonce=self.inp.spec.restart_nonce)
            self.events.append(EventRecord("Warning", "NoRestorableState", message))
            return
        if not user_requested:
            self.update(restarts=self.status.restarts + 1)
        self.start_attempt(action, by, ExecutionPhase.FAILED, restore=restore)

    def latest_state(self) -> str | None:
        """The newest of the failed job's latest completed checkpoint and the last savepoint, within maxStateAge."""
        candidates: list[tuple[datetime.datetime, str]] = []
        job = self.inp.job
        if job is not None and job.job_id == self.status.flink_job_id:
            for ref in (job.latest_checkpoint, job.latest_savepoint):
                if ref is not None:
                    candidates.append((ref.completed_at, ref.path))
        last = self.status.last_savepoint
        if last is not None:
            candidates.append((last.taken_at, last.path))
        max_age = self.inp.spec.restart_policy.max_state_age_seconds
        if max_age is not None:
            oldest = self.inp.now - schedules.seconds(max_age)
            candidates = [c for c in candidates if c[0] >= oldest]
        if not candidates:
            return None
        return max(candidates)[1]

    def while_running(self, nonce_bumped: bool) -> None:
        """The job runs: apply a restart request, an upgrade, a savepoint request, the schedule, retention."""
        status, spec = self.status, self.inp.spec
        target = self.inp.target
        if nonce_bumped:
            self.update(observed_restart_nonce=spec.restart_nonce)
            mode = target.upgrade_mode if isinstance(target, RunTarget) else UpgradeMode.SAVEPOINT
            self.begin_stop(HistoryAction.RESTART, self.inp.requested_by, savepoint=mode != UpgradeMode.STATELESS)
            return
        if isinstance(target, RunTarget) and not target.run_config.same_job(status.run_config):
            if status.rollback is not None and status.rollback.failed_generation == target.run_config.job_spec_generation:
                pass  # this JobSpec generation was rolled back; wait for the next change
            elif target.upgrade_mode == UpgradeMode.MANUAL:
                self.upgrade_pending = (
                    f"JobSpec generation {target.run_config.job_spec_generation} differs from the running job "
                    f"(generation {status.job_spec_generation}); bump restartNonce to apply it"
                )
            elif not self.blocked_by_failure(OperationType.STOP if target.upgrade_mode == UpgradeMode.SAVEPOINT else OperationType.CANCEL):
                self.begin_stop(HistoryAction.UPGRADE, self.inp.requested_by,
                                savepoint=target.upgrade_mode == UpgradeMode.SAVEPOINT)
                return
        elif isinstance(target, Blocker):
            self.blocker = target
        if spec.savepoint_nonce > status.observed_savepoint_nonce:
            self.update(observed_savepoint_nonce=spec.savepoint_nonce)
            self.begin_savepoint(SavepointReason.MANUAL, self.inp.requested_by, nonce=spec.savepoint_nonce)
            return
        if self.inp.job is not None and self.inp.job.state == JobState.RUNNING:
            self.track_stability()
            if self.periodic_savepoint_due():
                return
            if self.dispose_one_savepoint():
                return

    # ---------------------------------------------------------------- desired state: Stopped / Cancelled

    def towards_stopped(self, action: HistoryAction) -> None:
        status = self.status
        target_phase = ExecutionPhase.STOPPED if action == HistoryAction.STOP else ExecutionPhase.CANCELLED
        if status.phase == ExecutionPhase.RUNNING:
            operation = OperationType.STOP if action == HistoryAction.STOP else OperationType.CANCEL
            if not self.blocked_by_failure(operation):
                self.begin_stop(action, self.inp.requested_by, savepoint=action == HistoryAction.STOP)
        elif status.phase == ExecutionPhase.PENDING:
            self.settle(action, self.inp.requested_by, status.phase, target_phase, message="the job was never started")

    def blocked_by_failure(self, operation: OperationType) -> bool:
        failed = self.status.failed_operation
        return failed is not None and failed.operation == operation

    # ---------------------------------------------------------------- starting an attempt

    def start_attempt(self, action: HistoryAction, by: str, old: ExecutionPhase, restore: str | None,
                      run_config: RunConfig | None = None) -> None:
        """Record the intent of a new attempt (its deterministic job id) and ask for the jar or the run.

        Automatic restarts count against restartPolicy.maxRestarts; anything a user asked for resets the count.
        """
        target = self.inp.target
        if isinstance(target, Blocker):
            self.blocker = target
            if self.status.phase in LIVE_PHASES:
                self.update(phase=old)
            return
        config = run_config or target.run_config
        attempt = self.status.attempt + 1
        job_id = derive_job_id(self.inp.uid, attempt)
        pending = self.begin(PendingOperation(
            operation=OperationType.SUBMIT, action=action, job_id=job_id, attempt=attempt,
            restore_from=restore, requested_by=by, from_phase=old, since=self.inp.now,
        ))
        self.update(
            phase=ExecutionPhase.SUBMITTING if action == HistoryAction.START else ExecutionPhase.RESTARTING,
            attempt=attempt,
            flink_job_id=job_id,
            cluster=target.cluster,
            run_config=config,
            job_spec_generation=config.job_spec_generation,
            jar_id=self.inp.jar_ids.get(config.artifact_sha256),
            restored_from=restore,
            attempt_action=action,
            started_at=None,
            finished_at=None,
            error_message=None,
            failed_operation=None,
        )
        if by != OPERATOR:
            self.update(observed_restart_nonce=self.inp.spec.restart_nonce, restarts=0)
        self.run_or_upload(pending)

    def run_or_upload(self, pending: PendingOperation) -> None:
        config = self.status.run_config
        assert config is not None and pending.job_id is not None and self.status.cluster is not None
        jar_id = self.inp.jar_ids.get(config.artifact_sha256)
        if jar_id is None:
            self.act(UploadJar(cluster=self.status.cluster, artifact=config.artifact, sha256=config.artifact_sha256))
            return
        self.update(jar_id=jar_id)
        self.act(RunJob(
            cluster=self.status.cluster,
            jar_id=jar_id,
            job_id=pending.job_id,
            entry_class=config.entry_class,
            parallelism=config.parallelism,
            program_args=config.program_args,
            flink_config=tuple(sorted(config.flink_config.items())),
            savepoint_path=pending.restore_from,
            allow_non_restored_state=config.allow_non_restored_state,
        ))

    def resume_submit(self, pending: PendingOperation) -> None:
        """A submission in flight: (re)run with the same job id until Flink knows the job, then follow it."""
        job = self.inp.job
        error = self.inp.observation.action_error
        if job is None or job.job_id != pending.job_id or not job.exists:
            if error is not None and error.kind in (ActionErrorKind.REJECTED, ActionErrorKind.ARTIFACT):
                self.update(error_message=error.message)
                self.settle(HistoryAction.FAIL, pending.requested_by, pending.from_phase, ExecutionPhase.FAILED,
                            attempt=pending.attempt, error=error.message, reason=error.kind.value)
                self.events.append(EventRecord("Warning", "SubmissionRejected", error.message))
                return
            if error is not None and error.kind == ActionErrorKind.JAR_NOT_FOUND:
                config = self.status.run_config
                assert config is not None and self.status.cluster is not None
                self.act(UploadJar(cluster=self.status.cluster, artifact=config.artifact,
                                   sha256=config.artifact_sha256, replace_jar_id=self.status.jar_id))
                return
            if error is not None and error.kind == ActionErrorKind.DUPLICATE_JOB:
                self.requeue(RECHECK_AFTER_ACTION)  # Flink has the job: observe it again
                return
            if error is not None and error.kind in (ActionErrorKind.UNAVAILABLE, ActionErrorKind.UNAUTHORIZED):
                self.unreachable_message = error.message
                self.retry = True
                return
            if self.inp.deleting:
                self.release()
                return
            self.run_or_upload(pending)
            return
        assert job.state is not None
        if job.state == JobState.RUNNING:
            self.job_started(pending)
        elif job.state in (JobState.FAILED, JobState.FINISHED, JobState.CANCELED) and error is None:
            # Flink took the job and it ended before it was seen running (it lived less than a poll interval, or
            # the operator was down meanwhile): record the attempt, then its end, as if each had been seen —
            # otherwise the history would lose the action and who asked for it.
            self.job_started(pending)
            self.observe_job_end()
        elif job.state == JobState.FAILED:
            self.update(pending=None)
            self.fail(pending.from_phase, job.failure)
        elif job.state == JobState.FINISHED:
            self.settle(HistoryAction.FINISH, OPERATOR, pending.from_phase, ExecutionPhase.FINISHED, attempt=pending.attempt)
        elif job.state == JobState.CANCELED:
            self.settle(HistoryAction.CANCEL, OPERATOR, pending.from_phase, ExecutionPhase.CANCELLED,
                        attempt=pending.attempt, message="the job was cancelled outside the operator")
        else:
            self.requeue(RECHECK_WHILE_WAITING)  # INITIALIZING / CREATED (e.g. waiting for slots)

    def job_started(self, pending: PendingOperation) -> None:
        details: dict[str, Any] = {"attempt": pending.attempt, "restored_from": pending.restore_from}
        if pending.action in (HistoryAction.UPGRADE, HistoryAction.ROLLBACK, HistoryAction.START):
            details["job_spec_generation"] = self.status.job_spec_generation
        if pending.action == HistoryAction.ROLLBACK and self.status.rollback is not None:
            details["reason"] = self.status.rollback.reason
        self.update(started_at=self.inp.now)
        self.settle(pending.action, pending.requested_by, pending.from_phase, ExecutionPhase.RUNNING, **details)

    # ---------------------------------------------------------------- stopping (with savepoint, or cancel)

    def begin_stop(self, action: HistoryAction, by: str, *, savepoint: bool) -> None:
        """Record the intent to stop the job (with a savepoint, or by cancelling) and make the first call."""
        job_id = self.status.flink_job_id
        assert job_id is not None
        pending = self.begin(PendingOperation(
            operation=OperationType.STOP if savepoint else OperationType.CANCEL, action=action, job_id=job_id,
            requested_by=by, from_phase=self.status.phase, since=self.inp.now,
        ))
        phase = PHASE_OF_STOP_ACTION.get(action, ExecutionPhase.RESTARTING)
        if action == HistoryAction.DELETE and not savepoint:
            phase = ExecutionPhase.CANCELLING
        self.update(phase=phase)
        self.issue(pending)

    def issue(self, pending: PendingOperation) -> None:
        """Make (or repeat, idempotently) the Flink call of the pending operation."""
        assert pending.job_id is not None or pending.operation == OperationType.DISPOSE
        if pending.operation in (OperationType.STOP, OperationType.SAVEPOINT) and self.tasks_deploying():
            # Flink would refuse the savepoint ("Not all required tasks are currently running") and spend a retry:
            # wait for the poller to see the tasks run (it wakes this execution then). Cancelling is not held back.
            self.wait_for_savepoint(pending)
            return
        target_directory = self.savepoint_directory()
        if pending.operation == OperationType.STOP:
            assert pending.trigger_id is not None and pending.job_id is not None
            self.act(StopJob(pending.job_id, pending.trigger_id, target_directory))
        elif pending.operation == OperationType.CANCEL:
            assert pending.job_id is not None
            self.act(CancelJob(pending.job_id))
        elif pending.operation == OperationType.SAVEPOINT:
            assert pending.trigger_id is not None and pending.job_id is not None
            self.act(TriggerSavepoint(pending.job_id, pending.trigger_id, target_directory))
        elif pending.operation == OperationType.DISPOSE:
            assert pending.savepoint_path is not None
            self.act(DisposeSavepoint(pending.savepoint_path))

    def savepoint_directory(self) -> str | None:
        target = self.inp.target
        return target.savepoint_directory if isinstance(target, RunTarget) else None

    def resume_stop(self, pending: PendingOperation) -> None:
        """A stop-with-savepoint in flight: wait for the savepoint and the job's end; never lose the location."""
        job, trigger = self.inp.job, self.inp.observation.trigger
        location = pending.savepoint_path
        if trigger is not None and trigger.state == TriggerState.COMPLETED and trigger.location:
            location = trigger.location
        elif location is None and job is not None and job.state == JobState.FINISHED and job.latest_savepoint:
            location = job.latest_savepoint.path  # the trigger expired from Flink's cache; the job's stats remain
        if location is not None and location != pending.savepoint_path:
            reason = SAVEPOINT_REASON_OF_ACTION.get(pending.action, SavepointReason.STOP)
            self.keep_savepoint(location, reason, pending.job_id)
            pending = pending.model_copy(update={"savepoint_path": location})
            self.update(pending=pending)
        job_ended = job is None or not job.alive
        if location is not None:
            if job_ended:
                self.stopped(pending, location)
            else:
                self.requeue(RECHECK_WHILE_WAITING)  # savepoint taken, the job is finishing
            return
        if trigger is not None and trigger.state == TriggerState.FAILED:
            self.savepoint_failed(pending, "SavepointFailed", trigger.failure or "the savepoint failed")
            return
        if trigger is not None and trigger.state == TriggerState.IN_PROGRESS:
            self.wait_for_savepoint(pending)
            return
        # Flink does not know the trigger: the call was never made (or is forgotten) — make it, if the job lives.
        if job is not None and job.alive:
            self.issue(pending)
            return
        self.job_ended_during(pending)

    def wait_for_savepoint(self, pending: PendingOperation) -> None:
        """Flink is still taking the savepoint (or its job's tasks must run before it can). Past the timeout this is
        reported (Degraded, a Warning) but the operation is kept: giving it up would lose a savepoint Flink may still
        complete (a stop would then end the job), and a second trigger would break the first. Setting
        `state: Cancelled` gives it up."""
        if self.savepoint_overdue(pending):
            self.events.append(EventRecord(
                "Warning", "SavepointTimeout",
                self.tasks_not_running_message(pending) if self.tasks_deploying() else
                f"the savepoint of Flink job {pending.job_id} (trigger {pending.trigger_id}) is still in progress after "
                f"{self.inp.spec.savepoint_timeout_seconds}s; waiting for Flink (set spec.state: Cancelled to cancel "
                "the job without a savepoint)",
            ))
        self.requeue(RECHECK_WHILE_WAITING)

    def tasks_deploying(self) -> bool:
        """The job is RUNNING but not all its tasks are: no savepoint can be taken yet."""
        return self.inp.job is not None and self.inp.job.tasks_deploying

    def tasks_not_running_message(self, pending: PendingOperation) -> str:
        return (f"the savepoint of Flink job {pending.job_id} waits for the job's tasks to run (more than "
                f"{self.inp.spec.savepoint_timeout_seconds}s: does the FlinkCluster have free slots?); set "
                "spec.state: Cancelled to cancel the job without a savepoint")

    def savepoint_overdue(self, pending: PendingOperation | None) -> bool:
        if pending is None or pending.operation not in (OperationType.STOP, OperationType.SAVEPOINT):
            return False
        return (self.inp.now - pending.since).total_seconds() > self.inp.spec.savepoint_timeout_seconds

    def job_ended_during(self, pending: PendingOperation) -> None:
        """The job ended (or vanished) while an operation was in flight and before its savepoint completed."""
        job = self.inp.job
        self.update(pending=None, phase=pending.from_phase)
        if job is None or job.state is None:
            self.job_lost(pending.from_phase)
        elif job.state == JobState.FAILED:
            self.fail(pending.from_phase, job.failure)
        elif job.state == JobState.CANCELED:
            if pending.action in (HistoryAction.CANCEL, HistoryAction.DELETE):
                self.stopped(pending, None)
            else:
                self.settle(HistoryAction.CANCEL, OPERATOR, pending.from_phase, ExecutionPhase.CANCELLED,
                            message="the job was cancelled outside the operator")
        else:  # FINISHED without a savepoint we can find: the job ended on its own
            self.settle(HistoryAction.FINISH, OPERATOR, pending.from_phase, ExecutionPhase.FINISHED,
                        attempt=self.status.attempt)

    def stopped(self, pending: PendingOperation, savepoint: str | None) -> None:
        """The job is gone (with its savepoint, if one was taken): finish the action that stopped it."""
        details: dict[str, Any] = {"attempt": self.status.attempt, "savepoint_path": savepoint}
        if self.inp.deleting or pending.action == HistoryAction.DELETE:
            self.release(savepoint=savepoint, old=pending.from_phase)
        elif pending.action == HistoryAction.STOP:
            self.settle(HistoryAction.STOP, pending.requested_by, pending.from_phase, ExecutionPhase.STOPPED, **details)
        elif pending.action == HistoryAction.CANCEL:
            self.settle(HistoryAction.CANCEL, pending.requested_by, pending.from_phase, ExecutionPhase.CANCELLED, **details)
        elif pending.action == HistoryAction.ROLLBACK:
            self.update(pending=None)
            self.start_attempt(HistoryAction.ROLLBACK, pending.requested_by, pending.from_phase,
                               restore=savepoint, run_config=self.status.stable_run_config)
        else:  # RESTART / UPGRADE: the next attempt, from the savepoint just taken (none when stateless)
            self.update(pending=None)
            self.start_attempt(pending.action, pending.requested_by, pending.from_phase, restore=savepoint)

    def resume_cancel(self, pending: PendingOperation) -> None:
        job = self.inp.job
        if job is None or not job.alive:
            self.stopped(pending, None)
        elif job.state == JobState.CANCELLING:
            self.requeue(RECHECK_WHILE_WAITING)
        else:
            self.issue(pending)

    def savepoint_failed(self, pending: PendingOperation, reason: str, message: str, *, retry: bool = True) -> None:
        """Retry a failed savepoint a bounded number of times, then give up — the job keeps running, never restarted stateless."""
        if retry and pending.tries <= self.inp.spec.savepoint_retries and (self.inp.job is None or self.inp.job.alive):
            tries = pending.tries + 1
            assert pending.job_id is not None
            retried = pending.model_copy(update={
                "tries": tries, "since": self.inp.now,
                "trigger_id": derive_trigger_id(self.inp.uid, pending.job_id, pending.operation.value, pending.seq, tries),
            })
            self.update(pending=retried)
            self.events.append(EventRecord("Warning", reason, f"{message}; retrying ({tries - 1}/{self.inp.spec.savepoint_retries})"))
            self.requeue(SAVEPOINT_RETRY_BACKOFF)
            return
        if self.inp.deleting or pending.action == HistoryAction.DELETE:
            # Deleting: fall back to cancelling rather than blocking the deletion forever.
            self.events.append(EventRecord("Warning", reason, f"{message}; cancelling the job to complete the deletion"))
            self.begin_stop(HistoryAction.DELETE, pending.requested_by, savepoint=False)
            return
        self.update(
            pending=None,
            phase=pending.from_phase,
            failed_operation=FailedOperation(
                operation=pending.operation, action=pending.action, generation=pending.generation or self.inp.generation,
                reason=reason, message=message, at=self.inp.now,
            ),
        )
        self.record(pending.action, pending.requested_by, pending.from_phase, pending.from_phase, error=message, reason=reason)
        self.events.append(EventRecord("Warning", reason, f"{message}; the job keeps running"))

    # ---------------------------------------------------------------- savepoints without stopping

    def begin_savepoint(self, reason: SavepointReason, by: str, nonce: int | None = None) -> None:
        job_id = self.status.flink_job_id
        assert job_id is not None
        pending = self.begin(PendingOperation(
            operation=OperationType.SAVEPOINT, action=HistoryAction.SAVEPOINT, job_id=job_id,
            requested_by=by, from_phase=self.status.phase, since=self.inp.now, nonce=nonce, savepoint_reason=reason,
        ))
        self.issue(pending)

    def resume_savepoint(self, pending: PendingOperation) -> None:
        job, trigger = self.inp.job, self.inp.observation.trigger
        reason = pending.savepoint_reason or SavepointReason.MANUAL
        if trigger is not None and trigger.state == TriggerState.COMPLETED and trigger.location:
            self.keep_savepoint(trigger.location, reason, pending.job_id)
            self.update(pending=None)
            self.record(HistoryAction.SAVEPOINT, pending.requested_by, pending.from_phase, self.status.phase,
                        savepoint_path=trigger.location, reason=reason.value)
        elif trigger is not None and trigger.state == TriggerState.FAILED:
            self.savepoint_failed(pending, "SavepointFailed", trigger.failure or "the savepoint failed")
        elif trigger is not None and trigger.state == TriggerState.IN_PROGRESS:
            self.wait_for_savepoint(pending)
        elif job is not None and job.alive:
            self.issue(pending)
        else:
            self.update(pending=None)
            self.next()

    def keep_savepoint(self, path: str, reason: SavepointReason, job_id: str | None) -> None:
        """Remember a completed savepoint: the newest is `lastSavepoint`, all are listed until disposed."""
        if any(s.path == path for s in self.status.savepoints):
            return
        record = SavepointRecord(path=path, taken_at=self.inp.now, reason=reason, job_id=job_id)
        savepoints = (*self.status.savepoints, record)[-SAVEPOINT_LIST_HARD_LIMIT:]
        self.update(last_savepoint=record, savepoints=savepoints)

    def periodic_savepoint_due(self) -> bool:
        schedule = self.inp.spec.savepoint_schedule
        if not schedule:
            return False
        last_periodic = max(
            (s.taken_at for s in self.status.savepoints if s.reason == SavepointReason.PERIODIC), default=None,
        )
        due = schedules.next_periodic_savepoint(schedule, self.status.started_at, last_periodic)
        if due is None:
            return False
        if self.inp.now < due:
            self.requeue((due - self.inp.now).total_seconds())
            return False
        self.begin_savepoint(SavepointReason.PERIODIC, OPERATOR)
        return True

    # ---------------------------------------------------------------- retention and disposal

    def dispose_one_savepoint(self) -> bool:
        """Dispose the oldest savepoint beyond the retention (count or age), never the one a restore needs."""
        retention = self.inp.spec.savepoint_retention
        savepoints = self.status.savepoints
        keep_path = self.status.last_savepoint.path if self.status.last_savepoint else None
        max_age = schedules.parse_duration(retention.max_age)
        excess = len(savepoints) - retention.max_count
        for index, savepoint in enumerate(savepoints):
            if savepoint.path == keep_path:
                continue
            too_many = index < excess
            too_old = max_age is not None and self.inp.now - savepoint.taken_at > max_age
            if too_many or too_old:
                if self.status.failed_operation is not None and self.status.failed_operation.operation == OperationType.DISPOSE:
                    return False  # a disposal failed in this generation: keep the entry, do not loop
                pending = self.begin(PendingOperation(
                    operation=OperationType.DISPOSE, action=HistoryAction.SAVEPOINT, savepoint_path=savepoint.path,
                    requested_by=OPERATOR, from_phase=self.status.phase, since=self.inp.now,
                ))
                self.issue(pending)
                return True
        if max_age is not None:
            ages = [s.taken_at + max_age for s in savepoints if s.path != keep_path]
            if ages:
                self.requeue(max(0.0, (min(ages) - self.inp.now).total_seconds()))
        return False

    def resume_dispose(self, pending: PendingOperation) -> None:
        observation = self.inp.observation
        trigger = observation.trigger
        if pending.trigger_id is None:
            if observation.action_result is not None:
                self.update(pending=pending.model_copy(update={"trigger_id": observation.action_result}))
                self.requeue(RECHECK_WHILE_WAITING)
            elif observation.action_error is not None and observation.action_error.kind == ActionErrorKind.REJECTED:
                self.disposal_failed(pending, observation.action_error.message)
            elif observation.action_error is not None:
                self.unreachable_message = observation.action_error.message
                self.retry = True
            else:
                self.issue(pending)
            return
        if trigger is not None and trigger.state == TriggerState.COMPLETED:
            self.update(
                pending=None,
                savepoints=tuple(s for s in self.status.savepoints if s.path != pending.savepoint_path),
            )
            self.events.append(EventRecord("Normal", "SavepointDisposed", f"disposed savepoint {pending.savepoint_path}"))
        elif trigger is not None and trigger.state == TriggerState.FAILED:
            self.disposal_failed(pending, trigger.failure or "unknown error")
        elif trigger is not None and trigger.state == TriggerState.IN_PROGRESS:
            self.requeue(RECHECK_WHILE_WAITING)
        else:  # Flink forgot the trigger (restart, expiry): ask again
            self.update(pending=pending.model_copy(update={"trigger_id": None}))
            self.issue(pending)

    def disposal_failed(self, pending: PendingOperation, failure: str) -> None:
        """Keep the savepoint's entry; report it, and do not try again until the spec changes."""
        message = f"disposing {pending.savepoint_path} failed: {failure}"
        self.update(pending=None, failed_operation=FailedOperation(
            operation=OperationType.DISPOSE, action=HistoryAction.SAVEPOINT, generation=self.inp.generation,
            reason="SavepointDisposalFailed", message=message, at=self.inp.now,
        ))
        self.events.append(EventRecord("Warning", "SavepointDisposalFailed", message))

    # ---------------------------------------------------------------- rollback of a failed upgrade

    def track_stability(self) -> None:
        """Remember the configuration that has run for the rollback window as the stable one."""
        status = self.status
        target = self.inp.target
        window = target.rollback.window_seconds if isinstance(target, RunTarget) else 120
        if status.run_config is None or status.started_at is None:
            return
        if status.stable_run_config is not None and status.stable_run_config.same_job(status.run_config):
            return
        ran_for = (self.inp.now - status.started_at).total_seconds()
        if ran_for >= window:
            self.update(stable_run_config=status.run_config)
        else:
            self.requeue(window - ran_for)

    def rollback_due(self) -> bool:
        """A job failed within the rollback window on a configuration that never ran stably: roll back.

        The configuration that last ran for the whole window is `stableRunConfig`; the attempt that failed was
        restored from the upgrade savepoint, which the rolled-back attempt restores from too. Runs once per
        failed generation: the rollback is remembered in status until the JobSpec changes.
        """
        status, target = self.status, self.inp.target
        if not isinstance(target, RunTarget) or not target.rollback.enabled or status.rollback is not None:
            return False
        current, stable = status.run_config, status.stable_run_config
        if current is None or (stable is not None and stable.same_job(current)):
            return False  # the failed configuration is the stable one: not an upgrade's fault
        if stable is None and status.attempt_action != HistoryAction.UPGRADE:
            return False
        failed_at = status.finished_at or self.inp.now
        ran_for = (failed_at - status.started_at).total_seconds() if status.started_at else 0.0
        if ran_for > target.rollback.window_seconds:
            return False
        generation = current.job_spec_generation
        if stable is None:
            self.update(rollback=RollbackStatus(failed_generation=generation, reason="NoStableConfiguration", at=self.inp.now))
            self.events.append(EventRecord(
                "Warning", "RollbackImpossible",
                f"JobSpec generation {generation} failed after its upgrade and no earlier configuration ran stably",
            ))
            return False
        self.update(rollback=RollbackStatus(failed_generation=generation, reason="UpgradeFailed", at=self.inp.now))
        self.events.append(EventRecord(
            "Warning", "RollingBack",
            f"JobSpec generation {generation} failed within {target.rollback.window_seconds}s of its upgrade; "
            f"rolling back to generation {stable.job_spec_generation}",
        ))
        restore = status.restored_from or (status.last_savepoint.path if status.last_savepoint else None)
        self.start_attempt(HistoryAction.ROLLBACK, OPERATOR, ExecutionPhase.FAILED, restore=restore, run_config=stable)
        return True

    # ---------------------------------------------------------------- deletion

    def deletion(self) -> None:
        """Deleting: stop the job per deletionPolicy (bounded by deletionTimeoutSeconds), then let the resource go."""
        pending = self.status.pending
        if pending is not None and pending.operation in (OperationType.STOP, OperationType.CANCEL):
            self.resume(pending)
            return
        if pending is not None and pending.operation == OperationType.SUBMIT:
            job = self.inp.job
            if job is None or not job.exists:
                self.update(pending=None)
                self.release()
                return
            self.update(pending=None, phase=ExecutionPhase.RUNNING)
        elif pending is not None:
            self.update(pending=None)  # a savepoint or disposal: superseded by the deletion
        job = self.inp.job
        job_alive = job is not None and job.job_id == self.status.flink_job_id and job.alive
        if self.status.phase in LIVE_PHASES and job_alive:
            if self._deletion_overdue() and self.inp.spec.deletion_policy == DeletionPolicy.SAVEPOINT:
                self.events.append(EventRecord("Warning", "DeletionTimeout",
                                               "the savepoint did not complete in time; cancelling the job"))
                self.begin_stop(HistoryAction.DELETE, self.inp.deleted_by, savepoint=False)
                return
            savepoint = self.inp.spec.deletion_policy == DeletionPolicy.SAVEPOINT
            self.begin_stop(HistoryAction.DELETE, self.inp.deleted_by, savepoint=savepoint)
            return
        self.release()

    def _deletion_overdue(self) -> bool:
        requested = self.inp.deletion_requested_at
        if requested is None:
            return False
        return (self.inp.now - requested).total_seconds() >= self.inp.spec.deletion_timeout_seconds

    def release(self, savepoint: str | None = None, old: ExecutionPhase | None = None) -> None:
        """Record the deletion (once, even if the finalizer removal is repeated) and let the resource go."""
        last = self.status.history[-1] if self.status.history else None
        if last is None or last.action != HistoryAction.DELETE:
            self.update(pending=None)
            self.record(HistoryAction.DELETE, self.inp.deleted_by, old or self.status.phase, "Deleted",
                        savepoint_path=savepoint, attempt=self.status.attempt or None)
        self.action = ReleaseFinalizer()

    def release_anyway(self, why: str) -> None:
        cluster = self.status.cluster or "its cluster"
        self.events.append(EventRecord(
            "Warning", "DeletionTimeout",
            f"gave up stopping Flink job {self.status.flink_job_id} on {cluster} after "
            f"{self.inp.spec.deletion_timeout_seconds}s ({why}); the job may still be running",
        ))
        self.release()

    # ---------------------------------------------------------------- conditions

    def _conditions(self) -> tuple[Any, ...]:
        status, inp = self.status, self.inp
        now, generation = inp.now, inp.generation
        conditions = status.conditions
        ready, ready_reason, ready_message = self._readiness()
        conditions = set_condition(conditions, ConditionType.READY.value, ready, ready_reason, ready_message,
                                   now=now, generation=generation)
        pending = status.pending
        if pending is not None:
            progressing = (True, _progress_reason(pending), _progress_message(pending))
        else:
            progressing = (False, "Idle", "no operation in flight")
        conditions = set_condition(conditions, ConditionType.PROGRESSING.value, *progressing, now=now, generation=generation)
        degraded = self._degradation()
        conditions = set_condition(conditions, ConditionType.DEGRADED.value, *degraded, now=now, generation=generation)
        return conditions

    def _readiness(self) -> tuple[bool, str, str]:
        status, desired = self.status, self.inp.spec.state
        phase = status.phase
        job = self.inp.job
        if self.inp.deleting:
            return False, "Deleting", "the execution is being deleted"
        if self.blocker is not None and phase not in LIVE_PHASES:
            return False, self.blocker.reason, self.blocker.message
        if desired == DesiredState.RUNNING:
            if phase == ExecutionPhase.RUNNING:
                if job is not None and job.job_id == status.flink_job_id and job.state not in (None, JobState.RUNNING):
                    return False, "JobNotRunning", f"Flink reports the job {job.state.value if job.state else 'missing'}"
                return True, "JobRunning", f"Flink job {status.flink_job_id} is running"
            if phase == ExecutionPhase.FINISHED:
                return True, "JobFinished", f"Flink job {status.flink_job_id} finished"
            if phase == ExecutionPhase.FAILED:
                return False, "JobFailed", status.error_message or "the Flink job failed"
            return False, phase.value, f"the execution is {phase.value.lower()}"
        if phase in (ExecutionPhase.STOPPED, ExecutionPhase.CANCELLED, ExecutionPhase.FAILED, ExecutionPhase.FINISHED):
            return True, phase.value, f"no job is running (the execution is {phase.value.lower()})"
        return False, phase.value, f"the execution is {phase.value.lower()}"

    def _degradation(self) -> tuple[bool, str, str]:
        status = self.status
        if self.unreachable_message is not None:
            return True, "FlinkUnavailable", self.unreachable_message
        if self.savepoint_overdue(status.pending):
            assert status.pending is not None
            if self.tasks_deploying():
                return True, "SavepointTimeout", self.tasks_not_running_message(status.pending)
            return True, "SavepointTimeout", (
                f"the savepoint of Flink job {status.pending.job_id} is still in progress after "
                f"{self.inp.spec.savepoint_timeout_seconds}s; set spec.state: Cancelled to cancel without a savepoint")
        if status.failed_operation is not None:
            return True, status.failed_operation.reason, status.failed_operation.message
        if status.rollback is not None:
            return True, "RolledBack", (
                f"JobSpec generation {status.rollback.failed_generation} failed after an upgrade and was rolled back "
                f"({status.rollback.reason}); change the JobSpec to try again"
            )
        if self.upgrade_pending is not None:
            return True, "UpgradePending", self.upgrade_pending
        if self.blocker is not None and status.phase in LIVE_PHASES:
            return True, self.blocker.reason, self.blocker.message
        return False, "AsExpected", "no problem known"


def clear_rollback_if_spec_changed(status: ExecutionStatus, target: RunTarget | Blocker) -> ExecutionStatus:
    """A rollback is reported until the JobSpec moves past the generation that failed."""
    if status.rollback is None or not isinstance(target, RunTarget):
        return status
    if target.run_config.job_spec_generation != status.rollback.failed_generation:
        return status.model_copy(update={"rollback": None})
    return status


def _phase_name(phase: ExecutionPhase | str | None) -> str | None:
    if phase is None:
        return None
    return phase.value if isinstance(phase, ExecutionPhase) else phase


def _progress_reason(pending: PendingOperation) -> str:
    return {
        OperationType.SUBMIT: "Submitting",
        OperationType.STOP: "StoppingWithSavepoint",
        OperationType.CANCEL: "Cancelling",
        OperationType.SAVEPOINT: "TakingSavepoint",
        OperationType.DISPOSE: "DisposingSavepoint",
    }[pending.operation]


def _progress_message(pending: PendingOperation) -> str:
    what = {
        OperationType.SUBMIT: f"submitting attempt {pending.attempt} as Flink job {pending.job_id}",
        OperationType.STOP: f"stopping Flink job {pending.job_id} with a savepoint (trigger {pending.trigger_id})",
        OperationType.CANCEL: f"cancelling Flink job {pending.job_id}",
        OperationType.SAVEPOINT: f"taking a savepoint of Flink job {pending.job_id} (trigger {pending.trigger_id})",
        OperationType.DISPOSE: f"disposing savepoint {pending.savepoint_path}",
    }[pending.operation]
    return f"{what} for {pending.action.value} since {pending.since.isoformat()}"


