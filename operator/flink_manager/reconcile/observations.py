"""What the observer saw in Flink, as plain values the decision functions read."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.reasons import UNAUTHORIZED, UNREACHABLE, UNSUPPORTED_FLINK_VERSION


@dataclass(frozen=True)
class CheckpointRef:
    """A completed checkpoint or savepoint Flink reports for a job."""

    path: str
    completed_at: datetime.datetime
    is_savepoint: bool = False


@dataclass(frozen=True)
class JobObservation:
    """One Flink job as observed; `state` None means Flink does not know the job id."""

    job_id: str
    state: JobState | None
    failure: str | None = None
    latest_checkpoint: CheckpointRef | None = None
    latest_savepoint: CheckpointRef | None = None
    tasks_deploying: bool = False  # RUNNING with tasks not all running yet: Flink refuses a savepoint until they are
    checkpoints_unavailable: str | None = None  # why the retained checkpoints of a job Flink lost could not be read
    flink_restarts: int | None = None  # failovers Flink's exception history lists, read while Flink restarts the job

    @property
    def exists(self) -> bool:
        return self.state is not None

    @property
    def alive(self) -> bool:
        """Known to Flink and not globally terminal."""
        return self.state is not None and not self.state.is_globally_terminal


class TriggerState(str, enum.Enum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"  # Flink does not know the trigger id: never triggered, or expired from its cache


@dataclass(frozen=True)
class TriggerObservation:
    """The status of an asynchronous Flink operation (savepoint, stop-with-savepoint, disposal)."""

    trigger_id: str
    state: TriggerState
    location: str | None = None
    failure: str | None = None


class ActionErrorKind(str, enum.Enum):
    UNAVAILABLE = "FlinkUnavailable"
    UNAUTHORIZED = "FlinkUnauthorized"
    UNSUPPORTED_VERSION = "FlinkUnsupportedVersion"  # refused before any call: the client does not speak the version
    REJECTED = "FlinkRequestRejected"
    DUPLICATE_JOB = "FlinkDuplicateJob"
    JOB_NOT_FOUND = "FlinkJobNotFound"
    JAR_NOT_FOUND = "FlinkJarNotFound"
    TRIGGER_NOT_FOUND = "FlinkTriggerNotFound"
    ARTIFACT = "ArtifactUnavailable"


@dataclass(frozen=True)
class ActionError:
    """The error of a Flink call, as the reconcile core reads it."""

    kind: ActionErrorKind
    message: str

    @property
    def not_asked_reason(self) -> str | None:
        """The condition reason of a call that did not get Flink's answer (retried with backoff), as the FlinkCluster's
        status says it; None when Flink answered (a refusal, a job or trigger it does not know)."""
        return _NOT_ASKED.get(self.kind)


_NOT_ASKED = {
    ActionErrorKind.UNAVAILABLE: UNREACHABLE,
    ActionErrorKind.UNAUTHORIZED: UNAUTHORIZED,
    ActionErrorKind.UNSUPPORTED_VERSION: UNSUPPORTED_FLINK_VERSION,
}


@dataclass(frozen=True)
class ActionOutcome:
    """What the previous step's Flink call left for the next decision: its error, or the trigger id Flink chose
    for a savepoint disposal (Flink ignores one sent with the request)."""

    error: ActionError | None = None
    disposal_trigger_id: str | None = None


@dataclass(frozen=True)
class Observation:
    """Everything read from Flink for one reconcile of an Execution."""

    job: JobObservation | None = None
    trigger: TriggerObservation | None = None
    unavailable: str | None = None  # Flink could not be asked: why
    unavailable_reason: str = UNREACHABLE  # and the condition reason that says it
