"""JobSpec status: whether its references resolve, a summary of its executions, and the rollout of its current
generation to them (reconcile/rollout.py)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from flink_manager.api.execution import DesiredState, ExecutionPhase, ExecutionStatus
from flink_manager.api.jobspec import ExecutionCounts, JobSpecStatus
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.rollout import RolloutMember, decide_rollout
from flink_manager.reconcile.targets import Blocker, JobSpecView, RunTarget


@dataclass(frozen=True)
class ExecutionSummary:
    name: str
    created: str  # creationTimestamp, for ordering
    phase: ExecutionPhase
    desired: DesiredState = DesiredState.RUNNING
    status: ExecutionStatus | None = None  # for the rollout; None: as a new Execution (Pending)


def decide_job_spec(
    job_spec: JobSpecView,
    target: RunTarget | Blocker,
    executions: Sequence[ExecutionSummary],
    now: datetime.datetime,
    resume_rollout: str | None = None,
) -> JobSpecStatus:
    """The JobSpec's status: Ready when every reference resolves; counts of its executions."""
    status = job_spec.status
    generation = job_spec.generation
    if isinstance(target, Blocker):
        ready = (False, target.reason, target.message)
    else:
        ready = (
            True,
            "Resolved",
            f"runs {target.run_config.entry_class} from Artifact "
            f"{target.run_config.artifact!r} on FlinkCluster {target.cluster!r}",
        )
    conditions = set_condition(status.conditions, "Ready", *ready, now=now, generation=generation)
    latest = max(executions, key=lambda e: (e.created, e.name), default=None)
    members = [RolloutMember(e.name, e.desired, e.status or ExecutionStatus(phase=e.phase)) for e in executions]
    rollout = decide_rollout(job_spec.spec, status, generation, target, members, resume_rollout, now)
    return status.model_copy(
        update={
            "rollout": rollout,
            "conditions": conditions,
            "observed_generation": generation,
            "executions": ExecutionCounts(
                total=len(executions),
                running=sum(1 for e in executions if e.phase == ExecutionPhase.RUNNING),
            ),
            "last_execution": latest.name if latest else None,
        }
    )
