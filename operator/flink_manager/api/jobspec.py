"""JobSpec: what to run (artifact, entry class, parallelism, arguments, configuration) and on which cluster."""

from __future__ import annotations

import enum

from pydantic import Field

from flink_manager.api.common import Condition, ObjectRef, WireModel


class UpgradeMode(str, enum.Enum):
    SAVEPOINT = "savepoint"  # stop with a savepoint, resubmit from it
    STATELESS = "stateless"  # cancel, resubmit without state
    MANUAL = "manual"  # report the pending upgrade; act on the next restartNonce


class RollbackSpec(WireModel):
    """Opt-in rollback of a savepoint-mode upgrade whose job fails soon after starting."""

    enabled: bool = False
    window_seconds: int = Field(default=120, ge=1)


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
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)


class ExecutionCounts(WireModel):
    total: int = 0
    running: int = 0


class JobSpecStatus(WireModel):
    executions: ExecutionCounts = Field(default_factory=ExecutionCounts)
    last_execution: str | None = None
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
