"""What one decision about an Execution reads, and which Flink reads the observer makes for it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from flink_manager.api.common import RestoreKind
from flink_manager.api.execution import ExecutionPhase, ExecutionSpec, ExecutionStatus, OperationType
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.execution.phases import LIVE_PHASES
from flink_manager.reconcile.observations import ActionError, ActionOutcome, JobObservation, Observation
from flink_manager.reconcile.targets import Blocker, RunTarget

DEFAULT_HISTORY_LIMIT = 50


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
    last_action: ActionOutcome | None = None  # what the previous step's Flink call returned
    name: str = ""  # the Execution's name (a rollout admits Executions by name)

    @property
    def deleting(self) -> bool:
        return self.deletion_requested_at is not None

    @property
    def job(self) -> JobObservation | None:
        return self.observation.job

    @property
    def action_error(self) -> ActionError | None:
        """The error of the previous step's Flink call."""
        return self.last_action.error if self.last_action is not None else None


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
    """Whether the job's failure cause and checkpoints are needed (a failed job, a stop whose job finished, or a
    last-state upgrade)."""
    if state == JobState.FAILED:
        return True
    pending = status.pending
    if (
        pending is not None
        and pending.operation == OperationType.CANCEL
        and pending.restore_kind == RestoreKind.CHECKPOINT
    ):
        return True  # a last-state upgrade: the job's newest retained checkpoint, before and after the cancel
    return state == JobState.FINISHED and pending is not None and pending.operation == OperationType.STOP


def needs_stored_checkpoints(status: ExecutionStatus, state: JobState | None) -> bool:
    """Whether the retained checkpoints of the execution's job must be read from storage: Flink no longer knows the
    job (a JobManager restarted without HA, or the ended job expired from its job store), so it cannot report them,
    and the job's state is needed to resubmit it. Not for a submission in flight, whose job may not exist yet."""
    if state is not None or status.flink_job_id is None:
        return False
    pending = status.pending
    if pending is not None and pending.operation == OperationType.SUBMIT:
        return False
    return status.phase in LIVE_PHASES or status.phase == ExecutionPhase.FAILED


def counts_flink_restarts(status: ExecutionStatus) -> bool:
    """Whether Flink's own restarts of the job are read (while the poller sees Flink restart it): a running attempt
    with nothing in flight."""
    return status.phase == ExecutionPhase.RUNNING and status.pending is None
