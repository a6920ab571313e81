"""JobSpec: what to run (artifact, entry class, parallelism, arguments, configuration) and on which cluster, how a
change reaches the running Executions (upgradeMode, savepoint and restore options, rollout), and the progress of
that rollout."""

from __future__ import annotations

import datetime
import enum

from pydantic import Field

from flink_manager.api.common import Condition, ObjectRef, WireModel


class UpgradeMode(str, enum.Enum):
    SAVEPOINT = "savepoint"  # stop with a savepoint, resubmit from it
    LAST_STATE = "last-state"  # cancel, resubmit from the newest retained checkpoint
    STATELESS = "stateless"  # cancel, resubmit without state
    MANUAL = "manual"  # report the pending upgrade; act on the next restartNonce


class SavepointFormatType(str, enum.Enum):
    """How Flink writes a savepoint: CANONICAL (portable between state backends) or NATIVE (the backend's own format,
    faster to take and restore)."""

    CANONICAL = "CANONICAL"
    NATIVE = "NATIVE"


class ClaimMode(str, enum.Enum):
    """Who owns the files of the snapshot a job is restored from (Flink's claimMode; restoreMode before 1.20)."""

    NO_CLAIM = "NO_CLAIM"  # the snapshot stays the user's; the restored job's first checkpoint is a full one
    CLAIM = "CLAIM"  # the restored job owns the snapshot, and deletes it once a newer checkpoint subsumes it


class RollbackSpec(WireModel):
    """Opt-in rollback of an upgrade whose job fails soon after starting."""

    enabled: bool = False
    window_seconds: int = Field(default=120, ge=1)


class LastStateSpec(WireModel):
    """What a last-state upgrade does when the job has no usable retained checkpoint."""

    savepoint_fallback: bool = False  # upgrade through a savepoint instead of waiting (Degraded) for a checkpoint


class RolloutSpec(WireModel):
    """How many Executions of the JobSpec upgrade at once (None: all)."""

    max_concurrent: int | None = Field(default=None, ge=1)


class JobSpecSpec(WireModel):
    artifact_ref: ObjectRef
    entry_class: str = Field(min_length=1)
    parallelism: int = Field(default=1, ge=1)
    program_args: tuple[str, ...] = ()
    savepoint_path: str | None = None
    allow_non_restored_state: bool = False
    flink_config: dict[str, str] = Field(default_factory=dict)
    cluster_ref: ObjectRef = Field(default_factory=lambda: ObjectRef(name="default"))
    upgrade_mode: UpgradeMode = UpgradeMode.SAVEPOINT
    last_state: LastStateSpec = Field(default_factory=LastStateSpec)
    savepoint_format_type: SavepointFormatType | None = None
    claim_mode: ClaimMode | None = None
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)


class ExecutionCounts(WireModel):
    total: int = 0
    running: int = 0


class RolloutPause(WireModel):
    """Why a rollout admits no more Executions: an upgrade of one of them failed."""

    reason: str
    message: str
    execution: str
    at: datetime.datetime


class RolloutStatus(WireModel):
    """The rollout of the JobSpec's current generation to its Executions."""

    generation: int | None = None
    total: int = Field(default=0, ge=0)
    updated: int = Field(default=0, ge=0)
    progress: str = "0/0"
    admitted: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    paused: RolloutPause | None = None
    resumed_with: str | None = None


class JobSpecStatus(WireModel):
    executions: ExecutionCounts = Field(default_factory=ExecutionCounts)
    last_execution: str | None = None
    rollout: RolloutStatus = Field(default_factory=RolloutStatus)
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
