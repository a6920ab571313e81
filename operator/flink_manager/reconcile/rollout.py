"""Rollouts: how a JobSpec change reaches its Executions when `spec.rollout.maxConcurrent` bounds the upgrades.

Admission is decided in one place, the JobSpec's reconcile, and recorded in its status (`status.rollout.admitted`,
for the generation being rolled out): each write of that status goes through the API server's optimistic
concurrency, so no two decisions can both add to the list, and every version of the list holds at most
maxConcurrent names. An Execution only reads it: it begins its upgrade when its name is admitted for the JobSpec
generation it would run, and waits (Progressing, RolloutQueued) otherwise. An admitted Execution stays admitted
until its job runs the new configuration or its upgrade failed, so the Executions upgrading at once (and their jobs
stopped at once) never exceed maxConcurrent, however many are reconciled concurrently and however stale a cache is:
a stale JobSpec shows an older, equally bounded list, and a JobSpec whose rollout is not of its current generation
admits nobody.

A failed upgrade (rolled back, or Degraded with a given-up stop) pauses the rollout: nobody more is admitted until
the JobSpec changes (a new generation starts a new rollout) or the annotation `flinkmanager.io/resume-rollout` is
set to a new value.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import DesiredState, ExecutionPhase, ExecutionStatus
from flink_manager.api.jobspec import JobSpecSpec, JobSpecStatus, RolloutPause, RolloutStatus
from flink_manager.reconcile.targets import PAUSED, QUEUED, Blocker, RolloutGate, RunTarget, gate_of

RESUME_ANNOTATION = "flinkmanager.io/resume-rollout"
__all__ = ["PAUSED", "QUEUED", "RolloutGate", "decide_rollout", "gate_of"]


@dataclass(frozen=True)
class RolloutMember:
    """One Execution of the JobSpec, as the rollout sees it."""

    name: str
    desired: DesiredState
    status: ExecutionStatus


def updated(member: RolloutMember, target: RunTarget) -> bool:
    """The Execution's job runs the configuration of this generation (nothing in flight)."""
    status = member.status
    return (
        status.phase == ExecutionPhase.RUNNING
        and status.pending is None
        and target.run_config.same_job(status.run_config)
    )


def settled(member: RolloutMember, target: RunTarget) -> bool:
    """Updated, and past the failures that would roll it back: with rollback enabled its upgraded job must have run
    the rollback window (stableRunConfig), so that a failed upgrade is seen before its place goes to the next."""
    if not updated(member, target):
        return False
    stable = member.status.stable_run_config
    return not target.rollback.enabled or target.run_config.same_job(stable)


def failure_of(member: RolloutMember, generation: int, admitted: bool) -> str | None:
    """Why the Execution's upgrade to this generation failed (rolled back, its job failed, or, when it was admitted,
    its stop given up), or None."""
    status = member.status
    if status.rollback is not None and status.rollback.failed_generation == generation:
        return f"Execution {member.name} was rolled back ({status.rollback.reason})"
    if admitted and status.failed_operation is not None and status.failed_operation.action == HistoryAction.UPGRADE:
        return f"Execution {member.name}: {status.failed_operation.message}"
    if status.phase == ExecutionPhase.FAILED and status.job_spec_generation == generation:
        return f"Execution {member.name} failed: {status.error_message or 'its job failed'}"
    return None


def decide_rollout(
    spec: JobSpecSpec,
    status: JobSpecStatus,
    generation: int,
    target: RunTarget | Blocker,
    members: Sequence[RolloutMember],
    resume: str | None,
    now: datetime.datetime,
) -> RolloutStatus:
    """The rollout of this generation: progress, the Executions admitted to upgrade now, failures and a pause."""
    previous = status.rollout
    wanting = [m for m in members if m.desired == DesiredState.RUNNING]
    done = {m.name for m in wanting if isinstance(target, RunTarget) and updated(m, target)}
    rollout = (
        previous
        if previous.generation == generation
        else RolloutStatus(generation=generation, resumed_with=previous.resumed_with, admitted=previous.admitted)
    )  # upgrades still in flight keep their places in the next generation's rollout
    rollout = rollout.model_copy(
        update={"total": len(wanting), "updated": len(done), "progress": f"{len(done)}/{len(wanting)}"}
    )
    if spec.rollout.max_concurrent is None or isinstance(target, Blocker):
        return rollout.model_copy(update={"admitted": ()})
    failures = {
        m.name: why for m in wanting if (why := failure_of(m, generation, m.name in rollout.admitted)) is not None
    }
    done = {m.name for m in wanting if settled(m, target)}
    paused = rollout.paused
    if resume is not None and resume != rollout.resumed_with:
        paused, rollout = None, rollout.model_copy(update={"resumed_with": resume})
    first_seen = sorted(set(failures) - set(rollout.failed))
    if paused is None and first_seen:
        paused = RolloutPause(reason="UpgradeFailed", message=failures[first_seen[0]], execution=first_seen[0], at=now)
    failed = set(rollout.failed) | set(failures)
    names = {m.name for m in wanting}
    busy = [name for name in rollout.admitted if name in names and name not in done and name not in failed]
    if paused is None:
        waiting = sorted(names - done - failed - set(busy))
        busy += waiting[: max(0, spec.rollout.max_concurrent - len(busy))]
    return rollout.model_copy(update={"admitted": tuple(busy), "failed": tuple(sorted(failed)), "paused": paused})
