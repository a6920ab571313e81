"""The Execution's conditions, derived at the end of a step from its decision (the new status and what was found):
Ready (the desired state is reached), Progressing (an operation is in flight), Degraded (something needs a look)."""

from __future__ import annotations

from flink_manager.api.common import Condition, ConditionType, RestoreKind
from flink_manager.api.execution import DesiredState, ExecutionPhase, OperationType, PendingOperation
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.execution.decision import (
    BlockedBy,
    Decision,
    FlinkUnreachable,
    NoUsableCheckpoint,
    RolloutWaiting,
    UpgradePending,
)
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import savepoint_overdue, tasks_deploying, tasks_not_running_message
from flink_manager.reconcile.execution.phases import ENDED_PHASES, LIVE_PHASES
from flink_manager.reconcile.targets import QUEUED

Verdict = tuple[bool, str, str]  # status, reason, message

_PROGRESS_REASONS = {
    OperationType.SUBMIT: "Submitting",
    OperationType.STOP: "StoppingWithSavepoint",
    OperationType.CANCEL: "Cancelling",
    OperationType.SAVEPOINT: "TakingSavepoint",
    OperationType.DISPOSE: "DisposingSavepoint",
}


def conditions(inp: ExecutionInputs, d: Decision) -> tuple[Condition, ...]:
    """Ready, Progressing and Degraded as this decision leaves the execution."""
    result = d.status.conditions
    for type_, verdict in (
        (ConditionType.READY, readiness(inp, d)),
        (ConditionType.PROGRESSING, progress(d.status.pending, d.finding(RolloutWaiting))),
        (ConditionType.DEGRADED, degradation(inp, d)),
    ):
        result = set_condition(result, type_.value, *verdict, now=inp.now, generation=inp.generation)
    return result


def readiness(inp: ExecutionInputs, d: Decision) -> Verdict:
    """Ready: the execution is as wanted (a running job, or none when stopped or cancelled)."""
    status, desired, job = d.status, inp.spec.state, inp.job
    phase = status.phase
    blocked = d.finding(BlockedBy)
    unreachable = d.finding(FlinkUnreachable)
    if inp.deleting:
        return False, "Deleting", "the execution is being deleted"
    if unreachable is not None and phase in LIVE_PHASES:
        return (
            False,
            unreachable.reason,
            (f"the state of Flink job {status.flink_job_id} is unknown: {unreachable.message}"),
        )
    if blocked is not None and phase not in LIVE_PHASES:
        return False, blocked.blocker.reason, blocked.blocker.message
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
    if phase in ENDED_PHASES:
        return True, phase.value, f"no job is running (the execution is {phase.value.lower()})"
    return False, phase.value, f"the execution is {phase.value.lower()}"


def progress(pending: PendingOperation | None, rollout: RolloutWaiting | None = None) -> Verdict:
    """Progressing: an operation is in flight, or an upgrade is queued by the JobSpec's rollout (not when paused)."""
    if pending is None and rollout is not None:
        return rollout.reason == QUEUED, rollout.reason, rollout.message
    if pending is None:
        return False, "Idle", "no operation in flight"
    if pending.restore_kind == RestoreKind.CHECKPOINT and pending.restore_from is None:
        return (
            True,
            "CheckingCheckpoint",
            (
                f"looking for a retained checkpoint of Flink job {pending.job_id} to "
                f"upgrade it from (last-state) since {pending.since.isoformat()}"
            ),
        )
    what = {
        OperationType.SUBMIT: f"submitting attempt {pending.attempt} as Flink job {pending.job_id}",
        OperationType.STOP: f"stopping Flink job {pending.job_id} with a savepoint (trigger {pending.trigger_id})",
        OperationType.CANCEL: f"cancelling Flink job {pending.job_id}",
        OperationType.SAVEPOINT: f"taking a savepoint of Flink job {pending.job_id} (trigger {pending.trigger_id})",
        OperationType.DISPOSE: f"disposing savepoint {pending.savepoint_path}",
    }[pending.operation]
    message = f"{what} for {pending.action.value} since {pending.since.isoformat()}"
    return True, _PROGRESS_REASONS[pending.operation], message


def degradation(inp: ExecutionInputs, d: Decision) -> Verdict:
    """Degraded: the most pressing of what needs a look (Flink unreachable first)."""
    status = d.status
    unreachable, upgrade, blocked = d.finding(FlinkUnreachable), d.finding(UpgradePending), d.finding(BlockedBy)
    if unreachable is not None:
        return True, unreachable.reason, unreachable.message
    if status.pending is not None and savepoint_overdue(inp, status.pending):
        if tasks_deploying(inp):
            return True, "SavepointTimeout", tasks_not_running_message(inp, status.pending)
        return (
            True,
            "SavepointTimeout",
            (
                f"the savepoint of Flink job {status.pending.job_id} is still in progress after "
                f"{inp.spec.savepoint_timeout_seconds}s; set spec.state: Cancelled to cancel without a savepoint"
            ),
        )
    if status.failed_operation is not None:
        return True, status.failed_operation.reason, status.failed_operation.message
    if status.rollback is not None:
        return (
            True,
            "RolledBack",
            (
                f"JobSpec generation {status.rollback.failed_generation} failed after an upgrade and was rolled back "
                f"({status.rollback.reason}); change the JobSpec to try again"
            ),
        )
    if upgrade is not None:
        return True, "UpgradePending", upgrade.message
    no_checkpoint = d.finding(NoUsableCheckpoint)
    if no_checkpoint is not None:
        return True, "NoUsableCheckpoint", no_checkpoint.message
    if blocked is not None and status.phase in LIVE_PHASES:
        return True, blocked.blocker.reason, blocked.blocker.message
    return False, "AsExpected", "no problem known"
