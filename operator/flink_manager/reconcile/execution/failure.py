"""What happens when a running job fails — or finishes, is cancelled outside the operator, or is lost by its
cluster — and the restart policy that follows.

1. The end is recorded first, from what Flink reports (`record_job_end`): a FAILED job settles in Failed with Flink's
   root cause as `errorMessage`, one FAIL history entry and a JobFailed Warning; a FINISHED job in Finished; a job
   cancelled outside the operator in Cancelled. A job the cluster no longer knows (its JobManager restarted without
   HA) is a failure of the attempt (`job_lost`): under `restartPolicy: OnFailure`, within `maxRestarts`, it is
   resubmitted at once from its newest retained checkpoint (read from the checkpoint storage by the observer) or
   savepoint, as a RESTART with the reason JobLost; otherwise it settles in Failed with that reason — never silently
   restarted without its state. A job Flink restarts on its own (a TaskManager lost, a task failed: FAILING,
   RESTARTING, or RUNNING with its tasks deploying again) is Flink's to recover (`record_flink_restarts`): its
   restarts are counted in `status.flinkRestarts` with a FlinkRestartsJob Warning, and nothing is done about them.
2. Then, with the execution in Failed and `state: Running` wanted (`restart_after_failure`):
   - an upgrade that failed within its rollback window is rolled back to the last stable configuration
     (upgrade.py: `roll_back_failed_upgrade`);
   - a bumped `restartNonce` restarts it at once;
   - `restartPolicy: OnFailure` restarts it after `backoffSeconds`, at most `maxRestarts` times in a row;
   - a restart resubmits from the newest retained checkpoint or savepoint (within `maxStateAgeSeconds`); with none,
     it is given up (Degraded NoRestorableState) unless `allowStateless` is set.
"""

from __future__ import annotations

import datetime

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import DesiredState, ExecutionPhase, FailedOperation, OperationType, RestartPolicyType
from flink_manager.reconcile import schedules
from flink_manager.reconcile.execution import upgrade
from flink_manager.reconcile.execution.attempts import start_attempt
from flink_manager.reconcile.execution.decision import Decision
from flink_manager.reconcile.execution.history import settle
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.phases import (
    JOB_LOST,
    JOB_LOST_REASON,
    LIVE_PHASES,
    STABLE_PHASES,
    JobEnd,
    job_end,
    settled_as_desired,
)
from flink_manager.reconcile.performer import OPERATOR


def record_flink_restarts(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy (a note): Flink restarts the job on its own (its restart strategy, after a TaskManager loss or a task
    failure): record how often, and do nothing else — the job is Flink's to recover, until it ends FAILED."""
    job = inp.job
    if job is None or job.flink_restarts is None or job.job_id != d.status.flink_job_id:
        return d
    if job.flink_restarts <= d.status.flink_restarts:
        return d
    d = d.update(flink_restarts=job.flink_restarts)
    return d.warn(
        "FlinkRestartsJob",
        f"Flink restarts job {job.job_id} on its own ({job.flink_restarts} restart(s) "
        f"of this attempt): {job.failure or 'see its exceptions'}",
    )


def record_job_end(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: nothing in flight and the job of the current attempt has ended (or vanished): record how."""
    job, status = inp.job, d.status
    if status.phase not in LIVE_PHASES or job is None or job.job_id != status.flink_job_id:
        return d
    end = job_end(job.state)
    if end is None:
        return d
    old = status.phase if status.phase in STABLE_PHASES else ExecutionPhase.RUNNING
    d = job_ended(inp, d, end, old, job.failure)
    if not end.lost and end.action != HistoryAction.FAIL:
        # Finished, or cancelled outside the operator: the end is recorded, and what the spec asks next (a job whose
        # spec still says Running starts again) is the next decision's: run it at once, as nothing else may wake
        # this execution (its job changes no more, and the operator's own status write is no news).
        d = d.requeue(0)
    return d.done()


def job_ended(inp: ExecutionInputs, d: Decision, end: JobEnd, old: ExecutionPhase, failure: str | None) -> Decision:
    """Record how the job of the current attempt ended; `old` is the stable phase it leaves."""
    if end.lost:
        return job_lost(inp, d, old)
    if end.action == HistoryAction.FAIL:
        return fail(inp, d, old, failure)
    assert end.phase is not None
    return settle(inp, d, end.action, OPERATOR, old, end.phase, attempt=d.status.attempt, message=end.message)


def fail(inp: ExecutionInputs, d: Decision, old: ExecutionPhase, failure: str | None) -> Decision:
    """The job FAILED: record Flink's root cause; a rollback or restart is decided by the next step."""
    message = failure or "the Flink job failed (no root cause reported)"
    d = d.update(error_message=message)
    d = settle(
        inp, d, HistoryAction.FAIL, OPERATOR, old, ExecutionPhase.FAILED, attempt=d.status.attempt, error=message
    )
    return d.warn("JobFailed", f"Flink job {d.status.flink_job_id} failed: {message}").requeue(0)


def job_lost(inp: ExecutionInputs, d: Decision, old: ExecutionPhase) -> Decision:
    """The cluster no longer knows the job (its JobManager restarted without HA): a failure of the attempt, which
    restartPolicy decides on. Resubmitted from the newest retained checkpoint (read from the checkpoint storage, as
    Flink cannot report it) or savepoint within maxStateAgeSeconds, as a RESTART with the reason JobLost."""
    desired = inp.spec.state
    if desired != DesiredState.RUNNING:
        action, new = settled_as_desired(desired)
        return settle(inp, d, action, inp.requested_by, old, new, message=JOB_LOST.message)
    job_id, cluster, policy = d.status.flink_job_id, d.status.cluster, inp.spec.restart_policy
    if policy.type != RestartPolicyType.ON_FAILURE or d.status.restarts >= policy.max_restarts:
        why = (
            "restartPolicy is Never"
            if policy.type != RestartPolicyType.ON_FAILURE
            else f"its {policy.max_restarts} restarts are used up"
        )
        message = (
            f"FlinkCluster {cluster!r} no longer knows Flink job {job_id} (its JobManager restarted without "
            f"HA?) and {why}; bump restartNonce to resubmit it from its newest checkpoint or savepoint"
        )
        return _lost_for_good(inp, d, old, message).warn(JOB_LOST_REASON, message)
    restore = latest_state(inp, d)
    if restore is None and not policy.allow_stateless:
        unknown = inp.job.checkpoints_unavailable if inp.job is not None else None
        message = (
            f"FlinkCluster {cluster!r} lost Flink job {job_id} and no checkpoint or savepoint is known"
            + (f" newer than {policy.max_state_age_seconds}s" if policy.max_state_age_seconds else "")
            + (f" ({unknown})" if unknown else "")
            + "; set restartPolicy.allowStateless, or bump restartNonce, to start it again without state"
        )
        d = _lost_for_good(inp, d, old, message).update(
            failed_operation=FailedOperation(
                operation=OperationType.SUBMIT,
                action=HistoryAction.RESTART,
                generation=inp.generation,
                reason="NoRestorableState",
                message=message,
                at=inp.now,
            )
        )
        return d.warn("NoRestorableState", message)
    d = d.update(restarts=d.status.restarts + 1)
    d = d.warn(
        JOB_LOST_REASON,
        f"FlinkCluster {cluster!r} lost Flink job {job_id}; resubmitting it "
        + (f"from {restore}" if restore else "without state"),
    )
    return start_attempt(inp, d, HistoryAction.RESTART, OPERATOR, old, restore=restore, reason=JOB_LOST_REASON)


def _lost_for_good(inp: ExecutionInputs, d: Decision, old: ExecutionPhase, message: str) -> Decision:
    """The lost job is not resubmitted: the execution settles in Failed, with the reason JobLost."""
    d = d.update(error_message=message)
    return settle(
        inp,
        d,
        HistoryAction.FAIL,
        OPERATOR,
        old,
        ExecutionPhase.FAILED,
        attempt=d.status.attempt,
        error=message,
        reason=JOB_LOST_REASON,
    )


def restart_after_failure(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: a failed job with `state: Running` wanted: roll back a fresh upgrade, restart it per restartPolicy or
    on request, or stay Failed."""
    if inp.spec.state != DesiredState.RUNNING or d.status.phase != ExecutionPhase.FAILED:
        return d
    d = upgrade.roll_back_failed_upgrade(inp, d)
    if d.final:
        return d
    status, policy = d.status, inp.spec.restart_policy
    if inp.spec.restart_nonce > status.observed_restart_nonce:
        return restart_from_latest_state(inp, d, HistoryAction.RESTART, inp.requested_by, user_requested=True).done()
    if status.failed_operation is not None:
        return d.done()  # gave up (no usable state); waits for a spec change
    if policy.type != RestartPolicyType.ON_FAILURE or status.restarts >= policy.max_restarts:
        return d.done()
    due = (status.finished_at or inp.now) + schedules.seconds(policy.backoff_seconds)
    if inp.now < due:
        return d.requeue((due - inp.now).total_seconds()).done()
    return restart_from_latest_state(inp, d, HistoryAction.RESTART, OPERATOR, user_requested=False).done()


def restart_from_latest_state(
    inp: ExecutionInputs, d: Decision, action: HistoryAction, by: str, *, user_requested: bool
) -> Decision:
    """Resubmit a failed job from the newest usable checkpoint or savepoint; never silently stateless."""
    if inp.job is None:
        # Flink was not asked about the failed job (unreachable, or its cluster not available to the operator): its
        # checkpoints are unknown, which is not the same as none. Ask again rather than give up on its state — and
        # say why the restart waits.
        return d.unreachable(
            inp.observation.unavailable
            or (
                f"the restart waits for Flink to report on the failed job {d.status.flink_job_id} "
                f"(its checkpoints are needed), but FlinkCluster {d.status.cluster!r} cannot be asked"
            ),
            inp.observation.unavailable_reason,
        )
    restore = latest_state(inp, d)
    policy = inp.spec.restart_policy
    if restore is None and not policy.allow_stateless:
        message = (
            "no checkpoint or savepoint to restore from"
            + (f" newer than {policy.max_state_age_seconds}s" if policy.max_state_age_seconds else "")
            + "; set restartPolicy.allowStateless to restart without state"
        )
        d = d.update(
            failed_operation=FailedOperation(
                operation=OperationType.SUBMIT,
                action=action,
                generation=inp.generation,
                reason="NoRestorableState",
                message=message,
                at=inp.now,
            )
        )
        if user_requested:
            d = d.update(observed_restart_nonce=inp.spec.restart_nonce)
        return d.warn("NoRestorableState", message)
    if not user_requested:
        d = d.update(restarts=d.status.restarts + 1)
    return start_attempt(inp, d, action, by, ExecutionPhase.FAILED, restore=restore)


def latest_state(inp: ExecutionInputs, d: Decision) -> str | None:
    """The newest of the failed job's latest completed checkpoint and the last savepoint, within maxStateAge."""
    candidates: list[tuple[datetime.datetime, str]] = []
    job = inp.job
    if job is not None and job.job_id == d.status.flink_job_id:
        for ref in (job.latest_checkpoint, job.latest_savepoint):
            if ref is not None:
                candidates.append((ref.completed_at, ref.path))
    last = d.status.last_savepoint
    if last is not None:
        candidates.append((last.taken_at, last.path))
    max_age = inp.spec.restart_policy.max_state_age_seconds
    if max_age is not None:
        oldest = inp.now - schedules.seconds(max_age)
        candidates = [c for c in candidates if c[0] >= oldest]
    return max(candidates)[1] if candidates else None
