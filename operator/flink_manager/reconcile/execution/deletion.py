"""Deleting an Execution: stop its job per `deletionPolicy` (a savepoint, falling back to a cancel after
`deletionTimeoutSeconds`; or a cancel), record a DELETE entry, and only then let the resource go (the controller
removes the finalizer). A deletion overrides the desired state and takes over any operation in flight."""

from __future__ import annotations

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import DeletionPolicy, ExecutionPhase, OperationType
from flink_manager.reconcile.execution.decision import Decision
from flink_manager.reconcile.execution.history import release
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import begin_stop
from flink_manager.reconcile.execution.phases import LIVE_PHASES
from flink_manager.reconcile.execution.stop import resume_cancel, resume_stop


def delete(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: deleting: finish a stop or cancel in flight, else stop a live job, else release the resource."""
    if not inp.deleting:
        return d
    pending = d.status.pending
    if pending is not None and pending.operation == OperationType.STOP:
        return resume_stop(inp, d)
    if pending is not None and pending.operation == OperationType.CANCEL:
        return resume_cancel(inp, d)
    if pending is not None and pending.operation == OperationType.SUBMIT:
        if inp.job is None or not inp.job.exists:
            return release(inp, d.update(pending=None)).done()  # Flink never got the job
        d = d.update(pending=None, phase=ExecutionPhase.RUNNING)
    elif pending is not None:
        d = d.update(pending=None)  # a savepoint or disposal: superseded by the deletion
    job = inp.job
    if d.status.phase in LIVE_PHASES and job is not None and job.job_id == d.status.flink_job_id and job.alive:
        savepoint = inp.spec.deletion_policy == DeletionPolicy.SAVEPOINT
        if savepoint and overdue(inp):
            d = d.warn("DeletionTimeout", "the savepoint did not complete in time; cancelling the job")
            savepoint = False
        return begin_stop(inp, d, HistoryAction.DELETE, inp.deleted_by, savepoint=savepoint).done()
    return release(inp, d).done()


def overdue(inp: ExecutionInputs) -> bool:
    """The deletion has waited deletionTimeoutSeconds for the job to stop."""
    requested = inp.deletion_requested_at
    if requested is None:
        return False
    return (inp.now - requested).total_seconds() >= inp.spec.deletion_timeout_seconds


def release_anyway(inp: ExecutionInputs, d: Decision, why: str) -> Decision:
    """Let the resource go although its job could not be stopped (Flink unreachable past the deletion's timeout)."""
    cluster = d.status.cluster or "its cluster"
    d = d.warn(
        "DeletionTimeout",
        f"gave up stopping Flink job {d.status.flink_job_id} on {cluster} after "
        f"{inp.spec.deletion_timeout_seconds}s ({why}); the job may still be running",
    )
    return release(inp, d)
