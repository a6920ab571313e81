"""Stopping a job: `state: Stopped` (with a savepoint), `state: Cancelled` (without), and the stops that a restart,
an upgrade or a deletion begin with.

A stop-with-savepoint is resumed until Flink reports the savepoint and the job's end; the savepoint's location is
never lost (it is recorded as soon as Flink reports it, even while the job is still finishing). What follows a
stop is the action it was for: Stopped or Cancelled, the next attempt (restart, upgrade), or the release of the
resource (deletion). A cancel request takes over from a stop that still waits for its savepoint.
"""

from __future__ import annotations

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import (
    DesiredState,
    ExecutionPhase,
    OperationType,
    PendingOperation,
    SavepointReason,
)
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.execution.attempts import start_attempt
from flink_manager.reconcile.execution.decision import RECHECK_WHILE_WAITING, Decision
from flink_manager.reconcile.execution.failure import job_ended
from flink_manager.reconcile.execution.history import keep_savepoint, release, settle
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import begin_stop, gave_up, issue, wait_for_savepoint
from flink_manager.reconcile.execution.phases import job_end, settled_as_desired
from flink_manager.reconcile.execution.savepoints import savepoint_failed
from flink_manager.reconcile.observations import TriggerState

SAVEPOINT_REASON_OF_ACTION = {
    HistoryAction.STOP: SavepointReason.STOP,
    HistoryAction.RESTART: SavepointReason.RESTART,
    HistoryAction.UPGRADE: SavepointReason.UPGRADE,
    HistoryAction.ROLLBACK: SavepointReason.UPGRADE,
    HistoryAction.DELETE: SavepointReason.DELETE,
}


def towards_stopped(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: `state: Stopped` or `Cancelled` is wanted: stop a running job (with a savepoint, or by a cancel); an
    execution that never started settles at once."""
    desired = inp.spec.state
    if desired == DesiredState.RUNNING:
        return d
    action, settled = settled_as_desired(desired)
    phase = d.status.phase
    if phase == ExecutionPhase.RUNNING:
        savepoint = action == HistoryAction.STOP
        if gave_up(d, OperationType.STOP if savepoint else OperationType.CANCEL):
            return d.done()
        return begin_stop(inp, d, action, inp.requested_by, savepoint=savepoint).done()
    if phase == ExecutionPhase.PENDING:
        return settle(inp, d, action, inp.requested_by, phase, settled, message="the job was never started").done()
    return d.done()


def cancel_takes_over(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: `state: Cancelled` while a stop (or the stop of a restart or upgrade) still waits for its savepoint:
    cancel instead. Only while Flink has no savepoint to show for it: a completed one is recorded first, never
    dropped."""
    pending = d.status.pending
    if pending is None or not _stop_may_give_way(inp, pending):
        return d
    d = d.update(phase=pending.from_phase)
    return begin_stop(inp, d, HistoryAction.CANCEL, inp.requested_by, savepoint=False).done()


def _stop_may_give_way(inp: ExecutionInputs, pending: PendingOperation) -> bool:
    trigger, job = inp.observation.trigger, inp.job
    if pending.operation != OperationType.STOP or inp.spec.state != DesiredState.CANCELLED or inp.deleting:
        return False
    if pending.action not in (HistoryAction.STOP, HistoryAction.RESTART, HistoryAction.UPGRADE):
        return False  # a deletion's stop follows deletionPolicy, not the desired state
    if pending.savepoint_path is not None or trigger is None:
        return False  # the savepoint is taken (or its state unknown): it is kept
    if trigger.state == TriggerState.IN_PROGRESS:
        return True
    return trigger.state == TriggerState.UNKNOWN and job is not None and job.alive  # the call is still to be made


def resume_stop(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a stop-with-savepoint in flight: wait for the savepoint and the job's end; never lose the location."""
    pending = d.status.pending
    if pending is None or pending.operation != OperationType.STOP:
        return d
    job, trigger = inp.job, inp.observation.trigger
    location = _savepoint_location(inp, pending)
    if location is not None and location != pending.savepoint_path:
        reason = SAVEPOINT_REASON_OF_ACTION.get(pending.action, SavepointReason.STOP)
        d = keep_savepoint(inp, d, location, reason, pending.job_id)
        pending = pending.model_copy(update={"savepoint_path": location})
        d = d.update(pending=pending)
    if location is not None:
        if job is None or not job.alive:
            return stopped(inp, d, pending, location).done()
        return d.requeue(RECHECK_WHILE_WAITING).done()  # savepoint taken, the job is finishing
    if trigger is not None and trigger.state == TriggerState.FAILED:
        return savepoint_failed(inp, d, pending, "SavepointFailed", trigger.failure or "the savepoint failed").done()
    if trigger is not None and trigger.state == TriggerState.IN_PROGRESS:
        return wait_for_savepoint(inp, d, pending).done()
    # Flink does not know the trigger: the call was never made (or is forgotten) — make it, if the job lives.
    if job is not None and job.alive:
        return issue(inp, d, pending).done()
    return job_ended_during(inp, d, pending).done()


def _savepoint_location(inp: ExecutionInputs, pending: PendingOperation) -> str | None:
    """Where the stop's savepoint is, as far as known: recorded, reported by its trigger, or in the job's stats."""
    job, trigger = inp.job, inp.observation.trigger
    if trigger is not None and trigger.state == TriggerState.COMPLETED and trigger.location:
        return trigger.location
    if pending.savepoint_path is None and job is not None and job.state == JobState.FINISHED and job.latest_savepoint:
        return job.latest_savepoint.path  # the trigger expired from Flink's cache; the job's stats remain
    return pending.savepoint_path


def resume_cancel(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a cancel in flight: wait for the job's end, repeating the call while Flink has not taken it."""
    pending = d.status.pending
    if pending is None or pending.operation != OperationType.CANCEL:
        return d
    job = inp.job
    if job is None or not job.alive:
        return stopped(inp, d, pending, None).done()
    if job.state == JobState.CANCELLING:
        return d.requeue(RECHECK_WHILE_WAITING).done()
    return issue(inp, d, pending).done()


def stopped(inp: ExecutionInputs, d: Decision, pending: PendingOperation, savepoint: str | None) -> Decision:
    """The job is gone (with its savepoint, if one was taken): finish the action that stopped it."""
    details = {"attempt": d.status.attempt, "savepoint_path": savepoint}
    by, old = pending.requested_by, pending.from_phase
    if inp.deleting or pending.action == HistoryAction.DELETE:
        return release(inp, d, savepoint=savepoint, old=old)
    if pending.action == HistoryAction.STOP:
        return settle(inp, d, HistoryAction.STOP, by, old, ExecutionPhase.STOPPED, **details)
    if pending.action == HistoryAction.CANCEL:
        return settle(inp, d, HistoryAction.CANCEL, by, old, ExecutionPhase.CANCELLED, **details)
    d = d.update(pending=None)
    if pending.action == HistoryAction.ROLLBACK:
        return start_attempt(
            inp, d, HistoryAction.ROLLBACK, by, old, restore=savepoint, run_config=d.status.stable_run_config
        )
    # RESTART / UPGRADE: the next attempt, from the savepoint just taken (none when stateless)
    return start_attempt(inp, d, pending.action, by, old, restore=savepoint)


def job_ended_during(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """The job ended (or vanished) while an operation was in flight and before its savepoint completed."""
    job = inp.job
    d = d.update(pending=None, phase=pending.from_phase)
    if (
        job is not None
        and job.state == JobState.CANCELED
        and pending.action in (HistoryAction.CANCEL, HistoryAction.DELETE)
    ):
        return stopped(inp, d, pending, None)  # what the operation wanted, done by someone else
    end = job_end(job.state if job is not None else None)
    assert end is not None  # the job is gone or globally terminal: that is how this was reached
    return job_ended(inp, d, end, pending.from_phase, job.failure if job is not None else None)
