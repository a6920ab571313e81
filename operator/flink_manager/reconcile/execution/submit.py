"""Submitting a job, and following a submission until Flink runs it.

A new attempt gets a job id derived from the Execution's uid and the attempt's number, recorded before the run call
(attempts.py). A submission in flight is repeated with the same job id until Flink knows the job — Flink refuses a
second job with the same id, so a repeat after a crash never starts a second job — and then followed to RUNNING,
where the attempt's history entry (START, RESTART, UPGRADE, ROLLBACK) is recorded.
"""

from __future__ import annotations

from typing import Any

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import DesiredState, ExecutionPhase, OperationType, PendingOperation
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.execution.attempts import reupload, run_or_upload, start_attempt
from flink_manager.reconcile.execution.decision import RECHECK_AFTER_ACTION, RECHECK_WHILE_WAITING, Decision
from flink_manager.reconcile.execution.failure import job_ended
from flink_manager.reconcile.execution.history import release, settle
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.phases import job_end
from flink_manager.reconcile.observations import ActionErrorKind
from flink_manager.reconcile.targets import RunTarget


def start(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: `state: Running` is wanted and no job runs: start one — a new execution from the configured restore
    point, a stopped or cancelled one from its last savepoint, a finished one again when restartNonce is bumped."""
    phase, last = d.status.phase, d.status.last_savepoint
    if inp.spec.state != DesiredState.RUNNING:
        return d
    if phase == ExecutionPhase.PENDING:
        restore = inp.spec.restore_from.savepoint_path
        if restore is None and isinstance(inp.target, RunTarget):
            restore = inp.target.initial_savepoint
        return start_attempt(inp, d, HistoryAction.START, inp.requested_by, phase, restore=restore).done()
    if phase in (ExecutionPhase.STOPPED, ExecutionPhase.CANCELLED):
        restore = last.path if last else None
        return start_attempt(inp, d, HistoryAction.START, inp.requested_by, phase, restore=restore).done()
    if phase == ExecutionPhase.FINISHED:
        if inp.spec.restart_nonce <= d.status.observed_restart_nonce:
            return d.done()
        restore = last.path if last else None
        return start_attempt(inp, d, HistoryAction.RESTART, inp.requested_by, phase, restore=restore).done()
    return d


def resume_submission(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a submission in flight: (re)run with the same job id until Flink knows the job, then follow it."""
    pending = d.status.pending
    if pending is None or pending.operation != OperationType.SUBMIT:
        return d
    job = inp.job
    if job is None or job.job_id != pending.job_id or job.state is None:
        return _submit_again(inp, d, pending).done()
    end = job_end(job.state)
    if job.state == JobState.RUNNING:
        return job_started(inp, d, pending).done()
    if end is not None:
        # Flink took the job and it ended before it was seen running (it lived less than a poll interval, the
        # operator was down meanwhile, or the run's answer was lost): record the attempt, then its end, as if each
        # had been seen — otherwise the history would lose the action and who asked for it.
        d = job_started(inp, d, pending)
        return job_ended(inp, d, end, ExecutionPhase.RUNNING, job.failure).done()
    return d.requeue(RECHECK_WHILE_WAITING).done()  # INITIALIZING / CREATED (e.g. waiting for slots)


def _submit_again(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """Flink does not know the job yet: react to the last call's error, or make the call (again)."""
    error = inp.action_error
    if error is not None and error.kind in (ActionErrorKind.REJECTED, ActionErrorKind.ARTIFACT):
        d = d.update(error_message=error.message)
        d = settle(
            inp,
            d,
            HistoryAction.FAIL,
            pending.requested_by,
            pending.from_phase,
            ExecutionPhase.FAILED,
            attempt=pending.attempt,
            error=error.message,
            reason=error.kind.value,
        )
        return d.warn("SubmissionRejected", error.message)
    if error is not None and error.kind == ActionErrorKind.JAR_NOT_FOUND:
        return reupload(d)
    if error is not None and error.kind == ActionErrorKind.DUPLICATE_JOB:
        return d.requeue(RECHECK_AFTER_ACTION)  # Flink has the job: observe it again
    if error is not None and error.not_asked_reason is not None:
        return d.could_not_ask(error)
    if inp.deleting:
        return release(inp, d)
    return run_or_upload(inp, d, pending)


def job_started(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """Flink runs the attempt's job: record the action that started it."""
    details: dict[str, Any] = {"attempt": pending.attempt, "restored_from": pending.restore_from}
    if pending.restore_kind is not None:
        details["restore_kind"] = pending.restore_kind
    if pending.action in (HistoryAction.UPGRADE, HistoryAction.ROLLBACK, HistoryAction.START):
        details["job_spec_generation"] = d.status.job_spec_generation
    if pending.action == HistoryAction.ROLLBACK and d.status.rollback is not None:
        details["reason"] = d.status.rollback.reason
    elif pending.reason is not None:
        details["reason"] = pending.reason
    d = d.update(started_at=inp.now)
    return settle(inp, d, pending.action, pending.requested_by, pending.from_phase, ExecutionPhase.RUNNING, **details)
