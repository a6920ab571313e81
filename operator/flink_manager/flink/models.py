"""What the Flink client returns: Flink's REST answers as typed, frozen models.

Field names are Python's; aliases are Flink's own JSON names (a mix of kebab-case, camelCase and
snake_case, exactly as Flink 2.3 writes them). Unknown fields are ignored, so a newer Flink still parses.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flink_manager.api.flinkjob import JobState

__all__ = [
    "CheckpointCounts",
    "CheckpointStats",
    "CheckpointingStatistics",
    "ClusterOverview",
    "DashboardConfig",
    "JarInfo",
    "JobDetails",
    "JobExceptions",
    "JobOverview",
    "JobState",
    "OperationState",
    "OperationStatus",
    "RestoredCheckpoint",
    "SavepointStatus",
]


class FlinkModel(BaseModel):
    """Base of the client's results: built from Flink's JSON by alias, immutable, extra fields ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


def _unset_as_none(value: Any) -> Any:
    """Flink writes -1 (sometimes 0) for a timestamp that is not set yet."""
    if value is None or (isinstance(value, int) and value <= 0):
        return None
    return value


class DashboardConfig(FlinkModel):
    """`GET /config`: the web dashboard's configuration, which carries the Flink version."""

    flink_version: str = Field(alias="flink-version")
    flink_revision: str = Field(default="", alias="flink-revision")
    refresh_interval: int = Field(default=0, alias="refresh-interval")
    timezone_name: str = Field(default="", alias="timezone-name")
    timezone_offset: int = Field(default=0, alias="timezone-offset")
    features: dict[str, bool] = Field(default_factory=dict)


class ClusterOverview(FlinkModel):
    """`GET /overview`: task managers, slots and job counts of the session cluster."""

    taskmanagers: int
    slots_total: int = Field(alias="slots-total")
    slots_available: int = Field(alias="slots-available")
    jobs_running: int = Field(alias="jobs-running")
    jobs_finished: int = Field(alias="jobs-finished")
    jobs_cancelled: int = Field(alias="jobs-cancelled")
    jobs_failed: int = Field(alias="jobs-failed")
    flink_version: str = Field(alias="flink-version")
    flink_commit: str = Field(default="", alias="flink-commit")


class JarEntry(FlinkModel):
    """One entry class Flink found in a jar's manifest."""

    name: str
    description: str | None = None


class JarInfo(FlinkModel):
    """One uploaded jar of `GET /jars`."""

    id: str
    name: str
    uploaded: int
    entry: list[JarEntry] = Field(default_factory=list)

    @property
    def entry_classes(self) -> list[str]:
        """The entry classes Flink reports for this jar (from its manifest; often empty)."""
        return [entry.name for entry in self.entry]


class JobOverview(FlinkModel):
    """One job of `GET /jobs/overview` (the one call that observes every job of a cluster)."""

    job_id: str = Field(alias="jid")
    name: str
    state: JobState
    start_time: int | None = Field(default=None, alias="start-time")
    end_time: int | None = Field(default=None, alias="end-time")
    duration: int = 0
    last_modification: int = Field(default=0, alias="last-modification")
    tasks: dict[str, int] = Field(default_factory=dict)

    _unset = field_validator("start_time", "end_time", mode="before")(_unset_as_none)


class JobDetails(FlinkModel):
    """`GET /jobs/{id}`: one job's state and timestamps. Flink serves it from a cache (`web.refresh-interval`,
    3 s by default), so it can lag `/jobs/overview` by that much."""

    job_id: str = Field(alias="jid")
    name: str
    state: JobState
    start_time: int | None = Field(default=None, alias="start-time")
    end_time: int | None = Field(default=None, alias="end-time")
    duration: int = 0
    now: int = 0
    job_type: str | None = Field(default=None, alias="job-type")
    is_stoppable: bool = Field(default=False, alias="isStoppable")
    max_parallelism: int = Field(default=-1, alias="maxParallelism")
    timestamps: dict[str, int] = Field(default_factory=dict)
    parallelism: int | None = None

    _unset = field_validator("start_time", "end_time", mode="before")(_unset_as_none)

    @classmethod
    def from_flink(cls, body: dict[str, Any]) -> JobDetails:
        """Parse the answer; the job's parallelism is the largest of its vertices' (None while INITIALIZING)."""
        vertices = body.get("vertices") or []
        parallelism = max((int(v.get("parallelism", 0)) for v in vertices), default=0) or None
        return cls.model_validate({**body, "parallelism": parallelism})

    def entered(self, state: JobState) -> int | None:
        """When the job last entered `state` (ms), or None if it never did."""
        return _unset_as_none(self.timestamps.get(state.value))


class OperationState(str, enum.Enum):
    """The state of one of Flink's asynchronous operations (savepoint, stop, disposal)."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class SavepointStatus(FlinkModel):
    """`GET /jobs/{id}/savepoints/{trigger}`: a savepoint or stop-with-savepoint.

    Flink reports a failed operation as COMPLETED with a failure cause: `failure` is its meaningful line and
    `location` is None (also when the job was no longer running: Flink accepts a savepoint request for a finished
    or unknown job and only fails it afterwards).
    """

    state: OperationState
    location: str | None = None
    failure: str | None = None

    @property
    def succeeded(self) -> bool:
        """COMPLETED with a savepoint location."""
        return self.state == OperationState.COMPLETED and self.failure is None


class OperationStatus(FlinkModel):
    """`GET /savepoint-disposal/{trigger}`: an operation without a result (COMPLETED and no failure = done)."""

    state: OperationState
    failure: str | None = None

    @property
    def succeeded(self) -> bool:
        """COMPLETED without a failure."""
        return self.state == OperationState.COMPLETED and self.failure is None


class CheckpointCounts(FlinkModel):
    """How many checkpoints (savepoints included) a job has had, by outcome."""

    restored: int = 0
    total: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0


class CheckpointStats(FlinkModel):
    """One checkpoint or savepoint of `/jobs/{id}/checkpoints` (`latest.completed`, `latest.savepoint`, `history`)."""

    id: int
    status: str = "COMPLETED"
    is_savepoint: bool = False
    checkpoint_type: str | None = None
    external_path: str | None = None
    trigger_timestamp: int | None = None
    latest_ack_timestamp: int | None = None
    discarded: bool = False
    savepoint_format: str | None = Field(default=None, alias="savepointFormat")


class RestoredCheckpoint(FlinkModel):
    """`latest.restored`: the checkpoint or savepoint the job's current run started from."""

    id: int
    external_path: str | None = None
    is_savepoint: bool = False
    restore_timestamp: int | None = None


class CheckpointingStatistics(FlinkModel):
    """`GET /jobs/{id}/checkpoints`: counts, the latest completed checkpoint and savepoint, and what was restored."""

    counts: CheckpointCounts = Field(default_factory=CheckpointCounts)
    latest_completed: CheckpointStats | None = None
    latest_savepoint: CheckpointStats | None = None
    latest_failed: CheckpointStats | None = None
    restored: RestoredCheckpoint | None = None
    history: list[CheckpointStats] = Field(default_factory=list)

    @classmethod
    def from_flink(cls, body: dict[str, Any]) -> CheckpointingStatistics:
        """Parse Flink's nested `latest` object into flat fields."""
        latest = body.get("latest") or {}
        return cls.model_validate(
            {
                "counts": body.get("counts") or {},
                "latest_completed": latest.get("completed"),
                "latest_savepoint": latest.get("savepoint"),
                "latest_failed": latest.get("failed"),
                "restored": latest.get("restored"),
                "history": [entry for entry in body.get("history") or [] if entry.get("id") is not None],
            }
        )


class JobExceptions(FlinkModel):
    """`GET /jobs/{id}/exceptions`, reduced to what explains a failure: the newest entry of the history."""

    root_cause: str | None = None
    exception_name: str | None = None
    timestamp: int | None = None
    task_name: str | None = None
    entries: int = 0
