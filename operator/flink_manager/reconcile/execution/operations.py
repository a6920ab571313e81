"""Operations in flight (`status.pending`): numbering one as it is recorded, the Flink call that carries it out, and
waiting for a savepoint that Flink is still taking.

Intent before action: an operation is recorded in status (with its deterministic job id or trigger id) in the same
step that asks for its Flink call; the controller writes the status first, so a step that runs again after a crash
repeats the same call, which Flink treats as the same operation.
"""

from __future__ import annotations

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import OperationType, PendingOperation
from flink_manager.reconcile.execution.decision import RECHECK_WHILE_WAITING, Decision
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.phases import phase_while_stopping
from flink_manager.reconcile.ids import derive_trigger_id
from flink_manager.reconcile.plans import CancelJob, DisposeSavepoint, StopJob, TriggerSavepoint
from flink_manager.reconcile.targets import RunTarget

SAVEPOINT_OPERATIONS = (OperationType.STOP, OperationType.SAVEPOINT)


def begin(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> tuple[Decision, PendingOperation]:
    """Number a new operation and, for savepoint-taking ones, give it its trigger id; record it as pending."""
    seq = d.status.operations_total + 1
    changes: dict[str, object] = {"seq": seq, "generation": inp.generation}
    if pending.operation in SAVEPOINT_OPERATIONS:
        assert pending.job_id is not None
        changes["trigger_id"] = derive_trigger_id(inp.uid, pending.job_id, pending.operation.value, seq, 1)
    pending = pending.model_copy(update=changes)
    return d.update(pending=pending, operations_total=seq), pending


def begin_stop(inp: ExecutionInputs, d: Decision, action: HistoryAction, by: str, *, savepoint: bool) -> Decision:
    """Record the intent to stop the job (with a savepoint, or by cancelling) and make the first call."""
    job_id = d.status.flink_job_id
    assert job_id is not None
    d, pending = begin(
        inp,
        d,
        PendingOperation(
            operation=OperationType.STOP if savepoint else OperationType.CANCEL,
            action=action,
            job_id=job_id,
            requested_by=by,
            from_phase=d.status.phase,
            since=inp.now,
        ),
    )
    d = d.update(phase=phase_while_stopping(action, savepoint=savepoint))
    return issue(inp, d, pending)


def issue(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """Make (or repeat, idempotently) the Flink call of the pending operation."""
    if pending.operation in SAVEPOINT_OPERATIONS and tasks_deploying(inp):
        # Flink would refuse the savepoint ("Not all required tasks are currently running") and spend a retry:
        # wait for the poller to see the tasks run (it wakes this execution then). Cancelling is not held back.
        return wait_for_savepoint(inp, d, pending)
    target = inp.target
    directory = target.savepoint_directory if isinstance(target, RunTarget) else None
    format_type = target.savepoint_format_type if isinstance(target, RunTarget) else None
    if pending.operation == OperationType.STOP:
        assert pending.trigger_id is not None and pending.job_id is not None
        return d.act(StopJob(pending.job_id, pending.trigger_id, directory, format_type))
    if pending.operation == OperationType.CANCEL:
        assert pending.job_id is not None
        return d.act(CancelJob(pending.job_id))
    if pending.operation == OperationType.SAVEPOINT:
        assert pending.trigger_id is not None and pending.job_id is not None
        return d.act(TriggerSavepoint(pending.job_id, pending.trigger_id, directory, format_type))
    assert pending.operation == OperationType.DISPOSE and pending.savepoint_path is not None
    return d.act(DisposeSavepoint(pending.savepoint_path))


def wait_for_savepoint(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """Flink is still taking the savepoint (or its job's tasks must run before it can). Past the timeout this is
    reported (Degraded, a Warning) but the operation is kept: giving it up would lose a savepoint Flink may still
    complete (a stop would then end the job), and a second trigger would break the first. Setting
    `state: Cancelled` gives it up."""
    if savepoint_overdue(inp, pending):
        d = d.warn(
            "SavepointTimeout",
            tasks_not_running_message(inp, pending)
            if tasks_deploying(inp)
            else (
                f"the savepoint of Flink job {pending.job_id} (trigger {pending.trigger_id}) is still in progress after "
                f"{inp.spec.savepoint_timeout_seconds}s; waiting for Flink (set spec.state: Cancelled to cancel "
                "the job without a savepoint)"
            ),
        )
    return d.requeue(RECHECK_WHILE_WAITING)


def savepoint_overdue(inp: ExecutionInputs, pending: PendingOperation | None) -> bool:
    """A savepoint (or stop-with-savepoint) in flight for longer than savepointTimeoutSeconds."""
    if pending is None or pending.operation not in SAVEPOINT_OPERATIONS:
        return False
    return (inp.now - pending.since).total_seconds() > inp.spec.savepoint_timeout_seconds


def tasks_deploying(inp: ExecutionInputs) -> bool:
    """The job is RUNNING but not all its tasks are: no savepoint can be taken yet."""
    return inp.job is not None and inp.job.tasks_deploying


def tasks_not_running_message(inp: ExecutionInputs, pending: PendingOperation) -> str:
    return (
        f"the savepoint of Flink job {pending.job_id} waits for the job's tasks to run (more than "
        f"{inp.spec.savepoint_timeout_seconds}s: does the FlinkCluster have free slots?); set "
        "spec.state: Cancelled to cancel the job without a savepoint"
    )


def gave_up(d: Decision, operation: OperationType) -> bool:
    """An operation of this type was given up in this generation: not tried again until the spec changes."""
    failed = d.status.failed_operation
    return failed is not None and failed.operation == operation
