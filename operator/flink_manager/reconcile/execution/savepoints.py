"""Savepoints without stopping the job: on request (`savepointNonce`), on a schedule (`savepointSchedule`), their
bounded retries, and the retention that disposes the oldest ones (never the one a restore needs).

A completed savepoint is recorded (`savepoints`, `lastSavepoint`) and, for one taken on its own, a SAVEPOINT history
entry. A failed one is retried `savepointRetries` times with a new trigger id, then given up: the job keeps running,
never restarted without state. A disposal that fails keeps the savepoint's entry and is not tried again until the
spec changes.
"""

from __future__ import annotations

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import FailedOperation, OperationType, PendingOperation, SavepointReason
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile import schedules
from flink_manager.reconcile.execution.decision import RECHECK_WHILE_WAITING, Decision
from flink_manager.reconcile.execution.history import keep_savepoint, record
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import begin, begin_stop, gave_up, issue, wait_for_savepoint
from flink_manager.reconcile.execution.phases import keeps_running
from flink_manager.reconcile.ids import derive_trigger_id
from flink_manager.reconcile.observations import ActionErrorKind, TriggerState
from flink_manager.reconcile.performer import OPERATOR

SAVEPOINT_RETRY_BACKOFF = 5.0


def take_requested(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: the job runs and `savepointNonce` was bumped: take a savepoint."""
    nonce = inp.spec.savepoint_nonce
    if not keeps_running(inp.spec.state, d.status.phase) or nonce <= d.status.observed_savepoint_nonce:
        return d
    d = d.update(observed_savepoint_nonce=nonce)
    return begin_savepoint(inp, d, SavepointReason.MANUAL, inp.requested_by, nonce=nonce).done()


def take_periodic(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: the job runs and its savepoint schedule is due: take one (or look again when it will be)."""
    schedule, status = inp.spec.savepoint_schedule, d.status
    if not _job_runs(inp, d) or not schedule:
        return d
    last_periodic = max(
        (s.taken_at for s in status.savepoints if s.reason == SavepointReason.PERIODIC),
        default=None,
    )
    due = schedules.next_periodic_savepoint(schedule, status.started_at, last_periodic)
    if due is None:
        return d
    if inp.now < due:
        return d.requeue((due - inp.now).total_seconds())
    return begin_savepoint(inp, d, SavepointReason.PERIODIC, OPERATOR).done()


def retain(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: dispose the oldest savepoint beyond the retention (count or age), never the one a restore needs."""
    if not _job_runs(inp, d):
        return d
    retention, status = inp.spec.savepoint_retention, d.status
    keep_path = status.last_savepoint.path if status.last_savepoint else None
    max_age = schedules.parse_duration(retention.max_age)
    excess = len(status.savepoints) - retention.max_count
    for index, savepoint in enumerate(status.savepoints):
        if savepoint.path == keep_path:
            continue
        if index < excess or (max_age is not None and inp.now - savepoint.taken_at > max_age):
            if gave_up(d, OperationType.DISPOSE):
                return d  # a disposal failed in this generation: keep the entry, do not loop
            d, pending = begin(
                inp,
                d,
                PendingOperation(
                    operation=OperationType.DISPOSE,
                    action=HistoryAction.SAVEPOINT,
                    savepoint_path=savepoint.path,
                    requested_by=OPERATOR,
                    from_phase=status.phase,
                    since=inp.now,
                ),
            )
            return issue(inp, d, pending).done()
    if max_age is not None:
        ages = [s.taken_at + max_age for s in status.savepoints if s.path != keep_path]
        if ages:
            return d.requeue(max(0.0, (min(ages) - inp.now).total_seconds()))
    return d


def begin_savepoint(
    inp: ExecutionInputs, d: Decision, reason: SavepointReason, by: str, nonce: int | None = None
) -> Decision:
    """Record the intent to take a savepoint and make its call."""
    job_id = d.status.flink_job_id
    assert job_id is not None
    d, pending = begin(
        inp,
        d,
        PendingOperation(
            operation=OperationType.SAVEPOINT,
            action=HistoryAction.SAVEPOINT,
            job_id=job_id,
            requested_by=by,
            from_phase=d.status.phase,
            since=inp.now,
            nonce=nonce,
            savepoint_reason=reason,
        ),
    )
    return issue(inp, d, pending)


def resume_savepoint(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a savepoint in flight: record it when complete, retry it when failed, repeat its call when Flink does
    not know it. A savepoint whose job has ended is dropped, and the step goes on (the job's end is recorded next)."""
    pending = d.status.pending
    if pending is None or pending.operation != OperationType.SAVEPOINT:
        return d
    job, trigger = inp.job, inp.observation.trigger
    state = trigger.state if trigger is not None else TriggerState.UNKNOWN
    if trigger is not None and state == TriggerState.COMPLETED and trigger.location:
        reason = pending.savepoint_reason or SavepointReason.MANUAL
        d = keep_savepoint(inp, d, trigger.location, reason, pending.job_id).update(pending=None)
        return record(
            inp,
            d,
            HistoryAction.SAVEPOINT,
            pending.requested_by,
            pending.from_phase,
            d.status.phase,
            savepoint_path=trigger.location,
            reason=reason.value,
        ).done()
    if trigger is not None and state == TriggerState.FAILED:
        return savepoint_failed(inp, d, pending, "SavepointFailed", trigger.failure or "the savepoint failed").done()
    if state == TriggerState.IN_PROGRESS:
        return wait_for_savepoint(inp, d, pending).done()
    if job is not None and job.alive:
        return issue(inp, d, pending).done()
    return d.update(pending=None)


def savepoint_failed(
    inp: ExecutionInputs, d: Decision, pending: PendingOperation, reason: str, message: str
) -> Decision:
    """Retry a failed savepoint a bounded number of times, then give up — the job keeps running, never restarted
    stateless. A deletion falls back to cancelling the job rather than blocking forever."""
    if pending.tries <= inp.spec.savepoint_retries and (inp.job is None or inp.job.alive):
        tries = pending.tries + 1
        assert pending.job_id is not None
        trigger_id = derive_trigger_id(inp.uid, pending.job_id, pending.operation.value, pending.seq, tries)
        d = d.update(pending=pending.model_copy(update={"tries": tries, "since": inp.now, "trigger_id": trigger_id}))
        d = d.warn(reason, f"{message}; retrying ({tries - 1}/{inp.spec.savepoint_retries})")
        return d.requeue(SAVEPOINT_RETRY_BACKOFF)
    if inp.deleting or pending.action == HistoryAction.DELETE:
        d = d.warn(reason, f"{message}; cancelling the job to complete the deletion")
        return begin_stop(inp, d, HistoryAction.DELETE, pending.requested_by, savepoint=False)
    d = d.update(
        pending=None,
        phase=pending.from_phase,
        failed_operation=FailedOperation(
            operation=pending.operation,
            action=pending.action,
            generation=pending.generation or inp.generation,
            reason=reason,
            message=message,
            at=inp.now,
        ),
    )
    d = record(
        inp,
        d,
        pending.action,
        pending.requested_by,
        pending.from_phase,
        pending.from_phase,
        error=message,
        reason=reason,
    )
    return d.warn(reason, f"{message}; the job keeps running")


def resume_disposal(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a disposal in flight. Flink picks its trigger id, so it is recorded after the call, from the last
    action's outcome; a trigger Flink forgot (a restart, expiry) means asking again."""
    pending = d.status.pending
    if pending is None or pending.operation != OperationType.DISPOSE:
        return d
    if pending.trigger_id is None:
        return _disposal_requested(inp, d, pending).done()
    trigger = inp.observation.trigger
    state = trigger.state if trigger is not None else TriggerState.UNKNOWN
    if state == TriggerState.COMPLETED:
        d = d.update(pending=None, savepoints=tuple(s for s in d.status.savepoints if s.path != pending.savepoint_path))
        return d.notify("SavepointDisposed", f"disposed savepoint {pending.savepoint_path}").done()
    if trigger is not None and state == TriggerState.FAILED:
        return disposal_failed(inp, d, pending, trigger.failure or "unknown error").done()
    if state == TriggerState.IN_PROGRESS:
        return d.requeue(RECHECK_WHILE_WAITING).done()
    d = d.update(pending=pending.model_copy(update={"trigger_id": None}))
    return issue(inp, d, pending).done()


def _disposal_requested(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """A disposal whose trigger id is not known yet: record the one Flink chose, or react to the call's error."""
    outcome, error = inp.last_action, inp.action_error
    if outcome is not None and outcome.disposal_trigger_id is not None:
        d = d.update(pending=pending.model_copy(update={"trigger_id": outcome.disposal_trigger_id}))
        return d.requeue(RECHECK_WHILE_WAITING)
    if error is not None and error.kind == ActionErrorKind.REJECTED:
        return disposal_failed(inp, d, pending, error.message)
    if error is not None:
        return d.could_not_ask(error)
    return issue(inp, d, pending)


def disposal_failed(inp: ExecutionInputs, d: Decision, pending: PendingOperation, failure: str) -> Decision:
    """Keep the savepoint's entry; report it, and do not try again until the spec changes."""
    message = f"disposing {pending.savepoint_path} failed: {failure}"
    d = d.update(
        pending=None,
        failed_operation=FailedOperation(
            operation=OperationType.DISPOSE,
            action=HistoryAction.SAVEPOINT,
            generation=inp.generation,
            reason="SavepointDisposalFailed",
            message=message,
            at=inp.now,
        ),
    )
    return d.warn("SavepointDisposalFailed", message)


def _job_runs(inp: ExecutionInputs, d: Decision) -> bool:
    """Periodic savepoints and retention apply while the job runs as wanted and Flink reports it RUNNING."""
    return keeps_running(inp.spec.state, d.status.phase) and inp.job is not None and inp.job.state == JobState.RUNNING
