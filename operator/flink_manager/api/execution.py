"""Execution: one run of a JobSpec on Flink — desired state in spec, what happened in status (history included)."""

from __future__ import annotations

import datetime
import enum

from pydantic import Field

from flink_manager.api.common import Condition, HistoryAction, HistoryEntry, ObjectRef, RestoreKind, WireModel


class DesiredState(str, enum.Enum):
    RUNNING = "Running"
    STOPPED = "Stopped"
    CANCELLED = "Cancelled"


class RestartPolicyType(str, enum.Enum):
    NEVER = "Never"
    ON_FAILURE = "OnFailure"


class DeletionPolicy(str, enum.Enum):
    SAVEPOINT = "savepoint"
    CANCEL = "cancel"


class RestoreFrom(WireModel):
    savepoint_path: str | None = None


class RestartPolicy(WireModel):
    """What to do when the Flink job FAILED: `OnFailure` resubmits from the newest usable state."""

    type: RestartPolicyType = RestartPolicyType.NEVER
    max_restarts: int = Field(default=3, ge=0)
    backoff_seconds: int = Field(default=10, ge=0)
    max_state_age_seconds: int | None = Field(default=None, ge=1)
    allow_stateless: bool = False


class SavepointRetention(WireModel):
    """How many savepoints taken by the operator to keep; older ones are disposed through Flink."""

    max_count: int = Field(default=10, ge=1)
    max_age: str = Field(default="7d", pattern=r"^[0-9]+(s|m|h|d)$")


class ExecutionSpec(WireModel):
    job_spec_ref: ObjectRef
    state: DesiredState = DesiredState.RUNNING
    restart_nonce: int = Field(default=0, ge=0)
    savepoint_nonce: int = Field(default=0, ge=0)
    restore_from: RestoreFrom = Field(default_factory=RestoreFrom)
    restart_policy: RestartPolicy = Field(default_factory=RestartPolicy)
    deletion_policy: DeletionPolicy = DeletionPolicy.SAVEPOINT
    deletion_timeout_seconds: int = Field(default=300, ge=0)
    savepoint_timeout_seconds: int = Field(default=600, ge=1)
    savepoint_retries: int = Field(default=1, ge=0)
    savepoint_schedule: str | None = None
    savepoint_retention: SavepointRetention = Field(default_factory=SavepointRetention)
    started_by: str | None = None


class ExecutionPhase(str, enum.Enum):
    PENDING = "Pending"
    SUBMITTING = "Submitting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    RESTARTING = "Restarting"
    FINISHED = "Finished"
    FAILED = "Failed"


class SavepointReason(str, enum.Enum):
    STOP = "STOP"
    MANUAL = "MANUAL"
    PERIODIC = "PERIODIC"
    UPGRADE = "UPGRADE"
    RESTART = "RESTART"
    DELETE = "DELETE"


class SavepointRecord(WireModel):
    path: str
    taken_at: datetime.datetime
    reason: SavepointReason
    job_id: str | None = None


class OperationType(str, enum.Enum):
    SUBMIT = "submit"
    STOP = "stop"
    CANCEL = "cancel"
    SAVEPOINT = "savepoint"
    DISPOSE = "dispose"


class RunConfig(WireModel):
    """The effective job configuration an attempt was submitted with (JobSpec + Artifact digest)."""

    job_spec_generation: int
    artifact: str
    artifact_sha256: str
    entry_class: str
    parallelism: int
    program_args: tuple[str, ...] = ()
    flink_config: dict[str, str] = Field(default_factory=dict)
    allow_non_restored_state: bool = False

    def same_job(self, other: RunConfig | None) -> bool:
        """True when `other` would run the same job (the JobSpec generation alone does not matter)."""
        if other is None:
            return False
        return self.model_dump(exclude={"job_spec_generation"}) == other.model_dump(exclude={"job_spec_generation"})


class PendingOperation(WireModel):
    """An operation recorded before its Flink call, so that the next reconcile resumes it instead of starting another.

    `action` is the history action recorded when the operation (and what follows it) completes;
    `from_phase` the stable phase it started from.
    """

    operation: OperationType
    action: HistoryAction
    job_id: str | None = None
    trigger_id: str | None = None
    attempt: int | None = None
    restore_from: str | None = None
    savepoint_path: str | None = None
    savepoint_reason: SavepointReason | None = None
    requested_by: str
    from_phase: ExecutionPhase
    since: datetime.datetime
    tries: int = Field(default=1, ge=1)
    nonce: int | None = None
    generation: int | None = Field(default=None, description="metadata.generation when the operation was requested")
    seq: int = Field(default=0, ge=0)
    restore_kind: RestoreKind | None = None  # a last-state upgrade's cancel and submit: restore from a checkpoint
    job_ended_at: datetime.datetime | None = None  # when the cancelled job was first seen ended (last-state)
    reason: str | None = None  # why the operator started it on its own (JobLost), recorded in the history entry


class FailedOperation(WireModel):
    """An operation given up on; not retried on its own until the spec changes (a new generation)."""

    operation: OperationType
    action: HistoryAction
    generation: int
    reason: str
    message: str
    at: datetime.datetime


class RollbackStatus(WireModel):
    """A savepoint-mode upgrade that failed and was rolled back; kept until the JobSpec changes again."""

    failed_generation: int
    reason: str
    at: datetime.datetime


class ExecutionStatus(WireModel):
    phase: ExecutionPhase = ExecutionPhase.PENDING
    flink_job_id: str | None = None
    attempt: int = Field(default=0, ge=0)
    cluster: str | None = None
    jar_id: str | None = None
    attempt_action: HistoryAction | None = None
    restored_from: str | None = None
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    error_message: str | None = None
    last_savepoint: SavepointRecord | None = None
    savepoints: tuple[SavepointRecord, ...] = ()
    restarts: int = Field(default=0, ge=0)
    flink_restarts: int = Field(default=0, ge=0)
    job_spec_generation: int | None = None
    run_config: RunConfig | None = None
    stable_run_config: RunConfig | None = None
    observed_restart_nonce: int = Field(default=0, ge=0)
    observed_savepoint_nonce: int = Field(default=0, ge=0)
    pending: PendingOperation | None = None
    failed_operation: FailedOperation | None = None
    rollback: RollbackStatus | None = None
    history: tuple[HistoryEntry, ...] = ()
    history_total: int = Field(default=0, ge=0)
    operations_total: int = Field(default=0, ge=0)
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
