"""`upgradeMode: last-state`: cancel the job and resubmit it from its newest retained checkpoint, without waiting for a
savepoint.

1. The upgrade is recorded as a pending cancel with `restoreKind: checkpoint` before anything is called, so that the
   observer reads the running job's checkpoint statistics. Only when they show a completed checkpoint no older than
   the Execution's `restartPolicy.maxStateAgeSeconds` is the job cancelled; otherwise the job is left running and the
   Execution is Degraded (NoUsableCheckpoint) and looks again, or, with `lastState.savepointFallback`, upgrades
   through a savepoint. Never stateless.
2. Once the cancelled job has ended, its statistics are read again after Flink's REST cache has had time to refresh
   (a checkpoint completed while the cancel was on its way subsumes, and may delete, the one seen before), and the
   next attempt restores from the newest checkpoint seen: history UPGRADE with `restoredFrom` that checkpoint and
   `restoreKind: checkpoint`, claimed by the new job unless the JobSpec's claimMode says otherwise.
"""

from __future__ import annotations

import datetime

from flink_manager.api.common import HistoryAction, RestoreKind
from flink_manager.api.execution import OperationType, PendingOperation
from flink_manager.api.flinkjob import JobState
from flink_manager.api.jobspec import UpgradeMode
from flink_manager.reconcile import schedules
from flink_manager.reconcile.execution.attempts import start_attempt
from flink_manager.reconcile.execution.decision import RECHECK_WHILE_WAITING, Decision, NoUsableCheckpoint
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import begin, begin_stop, issue
from flink_manager.reconcile.execution.phases import phase_while_stopping
from flink_manager.reconcile.observations import CheckpointRef, JobObservation
from flink_manager.reconcile.targets import RunTarget

# Flink serves a job's checkpoint statistics from a cache refreshed every web.refresh-interval (default 3 s).
REST_CACHE_SECONDS = 3.0
RECHECK_WITHOUT_CHECKPOINT = 10.0


def begin_last_state(inp: ExecutionInputs, d: Decision) -> Decision:
    """Record the intent of a last-state upgrade; the next step, with the job's checkpoints read, makes the call."""
    job_id = d.status.flink_job_id
    assert job_id is not None
    d, _ = begin(
        inp,
        d,
        PendingOperation(
            operation=OperationType.CANCEL,
            action=HistoryAction.UPGRADE,
            job_id=job_id,
            requested_by=inp.requested_by,
            from_phase=d.status.phase,
            since=inp.now,
            restore_kind=RestoreKind.CHECKPOINT,
        ),
    )
    return d.requeue(0).done()


def is_last_state(pending: PendingOperation | None) -> bool:
    return (
        pending is not None
        and pending.operation == OperationType.CANCEL
        and pending.restore_kind == RestoreKind.CHECKPOINT
    )


def resume_last_state(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a last-state upgrade in flight: check for a checkpoint, cancel, then resubmit from the newest one."""
    pending = d.status.pending
    if not is_last_state(pending):
        return d
    assert pending is not None
    if pending.restore_from is None:
        return _before_cancel(inp, d, pending)
    job = inp.job
    if job is not None and job.alive:
        return (d.requeue(RECHECK_WHILE_WAITING) if job.state == JobState.CANCELLING else issue(inp, d, pending)).done()
    if pending.job_ended_at is None:
        pending = pending.model_copy(update={"job_ended_at": inp.now})
        return d.update(pending=pending).requeue(REST_CACHE_SECONDS).done()
    fresh_at = pending.job_ended_at + datetime.timedelta(seconds=REST_CACHE_SECONDS)
    if inp.now < fresh_at:
        return d.requeue((fresh_at - inp.now).total_seconds()).done()
    newest = usable_checkpoint(inp, job)
    restore = newest.path if newest is not None else pending.restore_from
    d = d.update(pending=None)
    return start_attempt(
        inp,
        d,
        HistoryAction.UPGRADE,
        pending.requested_by,
        pending.from_phase,
        restore=restore,
        restore_kind=RestoreKind.CHECKPOINT,
    ).done()


def _before_cancel(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """The job still runs: cancel it when it has a usable checkpoint; otherwise wait (Degraded) or fall back."""
    target = inp.target
    if (
        not isinstance(target, RunTarget)
        or target.upgrade_mode != UpgradeMode.LAST_STATE
        or (target.run_config.same_job(d.status.run_config))
    ):
        return d.update(pending=None)  # the JobSpec moved on before anything was called: decide afresh
    job = inp.job
    if job is None or job.job_id != pending.job_id or not job.alive:
        return d.update(pending=None, phase=pending.from_phase)  # the job ended by itself: recorded next
    checkpoint = usable_checkpoint(inp, job)
    if checkpoint is not None:
        pending = pending.model_copy(update={"restore_from": checkpoint.path})
        d = d.update(pending=pending, phase=phase_while_stopping(HistoryAction.UPGRADE, savepoint=False))
        return issue(inp, d, pending).done()
    message = _no_checkpoint_message(inp, job)
    if target.last_state.savepoint_fallback:
        d = d.update(pending=None).notify("LastStateFallback", f"{message}; upgrading through a savepoint")
        return begin_stop(inp, d, HistoryAction.UPGRADE, pending.requested_by, savepoint=True).done()
    return d.find(NoUsableCheckpoint(message)).requeue(RECHECK_WITHOUT_CHECKPOINT).done()


def usable_checkpoint(inp: ExecutionInputs, job: JobObservation | None) -> CheckpointRef | None:
    """The job's latest completed checkpoint with a path, when it is no older than maxStateAgeSeconds."""
    checkpoint = job.latest_checkpoint if job is not None else None
    if checkpoint is None or not checkpoint.path or checkpoint.is_savepoint:
        return None
    max_age = inp.spec.restart_policy.max_state_age_seconds
    if max_age is not None and checkpoint.completed_at < inp.now - schedules.seconds(max_age):
        return None
    return checkpoint


def _no_checkpoint_message(inp: ExecutionInputs, job: JobObservation) -> str:
    max_age = inp.spec.restart_policy.max_state_age_seconds
    if job.latest_checkpoint is None:
        why = "Flink reports no completed checkpoint"
    else:
        why = (
            f"its latest checkpoint completed at {job.latest_checkpoint.completed_at.isoformat()}, more than "
            f"restartPolicy.maxStateAgeSeconds ({max_age}s) ago"
        )
    return (
        f"the last-state upgrade of Flink job {job.job_id} waits for a retained checkpoint: {why}; the job keeps "
        "running (lastState.savepointFallback upgrades through a savepoint instead)"
    )
