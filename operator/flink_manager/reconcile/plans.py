"""What a decision asks the controller to do: at most one Flink action, a status to write, events, a requeue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclass(frozen=True)
class RunJob:
    cluster: str
    jar_id: str
    job_id: str
    entry_class: str
    parallelism: int
    program_args: tuple[str, ...]
    flink_config: tuple[tuple[str, str], ...]
    savepoint_path: str | None
    allow_non_restored_state: bool
    claim_mode: str | None = None  # who owns the restored snapshot's files (sent only with savepoint_path)


@dataclass(frozen=True)
class UploadJar:
    """Make the artifact's content (by digest) available on the cluster; the controller records the jar id."""

    cluster: str
    artifact: str
    sha256: str
    replace_jar_id: str | None = None  # a jar id the cluster no longer has


@dataclass(frozen=True)
class StopJob:
    job_id: str
    trigger_id: str
    target_directory: str | None
    format_type: str | None = None  # the savepoint's format (CANONICAL, NATIVE); None: Flink's default


@dataclass(frozen=True)
class CancelJob:
    job_id: str


@dataclass(frozen=True)
class TriggerSavepoint:
    job_id: str
    trigger_id: str
    target_directory: str | None
    format_type: str | None = None  # the savepoint's format (CANONICAL, NATIVE); None: Flink's default


@dataclass(frozen=True)
class DisposeSavepoint:
    """Dispose a savepoint; Flink chooses the trigger id (it ignores one sent), so it is recorded after the call."""

    path: str


@dataclass(frozen=True)
class ReleaseFinalizer:
    """The resource may go: remove the operator's finalizer."""


Action = RunJob | UploadJar | StopJob | CancelJob | TriggerSavepoint | DisposeSavepoint | ReleaseFinalizer


def summarize(action: Action) -> str:
    """One line for the operator's log: what is asked of Flink, without program arguments or configuration values
    (either may carry credentials)."""
    match action:
        case RunJob():
            restore = f", restoring {action.savepoint_path}" if action.savepoint_path else ""
            return f"run job {action.job_id} of jar {action.jar_id} (parallelism {action.parallelism}{restore})"
        case UploadJar():
            return f"upload Artifact {action.artifact} (sha256 {action.sha256[:12]}…)"
        case StopJob():
            return f"stop job {action.job_id} with a savepoint (trigger {action.trigger_id})"
        case CancelJob():
            return f"cancel job {action.job_id}"
        case TriggerSavepoint():
            return f"take a savepoint of job {action.job_id} (trigger {action.trigger_id})"
        case DisposeSavepoint():
            return f"dispose savepoint {action.path}"
        case ReleaseFinalizer():
            return "release the finalizer"


@dataclass(frozen=True)
class EventRecord:
    """A Kubernetes Event to post about the resource (history entries become events too)."""

    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Plan(Generic[S]):
    """The outcome of one decision: write `status` (when it differs), then perform `action`, then requeue."""

    status: S
    action: Action | None = None
    requeue_after: float | None = None
    retry: bool = False  # requeue with the controller's exponential backoff (Flink unreachable)
    events: tuple[EventRecord, ...] = field(default=())
