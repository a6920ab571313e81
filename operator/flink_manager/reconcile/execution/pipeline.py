"""One step of an Execution's reconcile: (spec, status, what Flink reports, now) → plan, as a fixed order of policies.

The controller has gathered the inputs (the Execution, its resolved run target or the Blocker that validation found)
and observed Flink; `decide` runs the policies below in order and derives the conditions from the result; the
controller then records the status and makes at most one Flink call.

Each policy is a pure function of the inputs and the decision so far. It hands the decision back unchanged when the
step is none of its business, with a note added (a finding, a requeue, a status field it keeps current) when it has
something to say but leaves the step to later policies, or marked `done()` when it has decided the step: no later
policy is asked then.
"""

from __future__ import annotations

from collections.abc import Callable

from flink_manager.api.execution import ExecutionStatus
from flink_manager.reconcile.execution import deletion, failure, laststate, savepoints, stop, submit, upgrade
from flink_manager.reconcile.execution.conditions import conditions
from flink_manager.reconcile.execution.decision import Decision, FlinkUnreachable
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.phases import LIVE_PHASES
from flink_manager.reconcile.plans import Plan

Policy = Callable[[ExecutionInputs, Decision], Decision]


def flink_unreachable(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: Flink could not be asked about a job that may live: change nothing but the conditions (Degraded, and
    Ready while a job may live), and retry with backoff. A deletion past its timeout lets the resource go all the
    same."""
    status = d.status
    message = inp.observation.unavailable
    if message is None or not (status.pending is not None or status.phase in LIVE_PHASES or inp.job is not None):
        return d
    if inp.deleting and deletion.overdue(inp):
        why = f"Flink could not be reached: {message}"
        finding = FlinkUnreachable(message, inp.observation.unavailable_reason)
        return deletion.release_anyway(inp, d.find(finding), why).done()
    return d.unreachable(message, inp.observation.unavailable_reason).done()


# The order is the reconcile's logic, first match wins:
# 1. Without Flink's answer about a job that may live, nothing else can be decided safely.
# 2. A deletion overrides the desired state and takes over any operation in flight.
# 3. One operation at a time: an operation in flight (status.pending) is carried on before anything new starts
#    (intent before action), except that a cancel request takes over a stop still waiting for its savepoint.
# 4. Nothing in flight: what Flink reports comes before what the spec asks, so a job that ended is recorded before
#    anything is done about it (failure.py: "what happens when a running job fails"), and Flink's own restarts of
#    a job are counted (and left to Flink).
# 5. Towards the desired state: start; restart or roll back after a failure; then, while the job runs, a restart
#    request before a JobSpec upgrade before a requested savepoint, and the notes kept while running (stability for
#    rollbacks), the savepoint schedule and retention last; or stop when Stopped or Cancelled is wanted.
POLICIES: tuple[Policy, ...] = (
    flink_unreachable,
    deletion.delete,
    stop.cancel_takes_over,
    submit.resume_submission,
    stop.resume_stop,
    laststate.resume_last_state,  # a last-state upgrade's cancel, before the plain cancel's
    stop.resume_cancel,
    savepoints.resume_savepoint,  # a savepoint whose job has ended is dropped and the step goes on (to step 4)
    savepoints.resume_disposal,
    failure.record_flink_restarts,
    failure.record_job_end,
    submit.start,
    failure.restart_after_failure,
    upgrade.restart_on_request,
    upgrade.apply_job_spec_change,
    savepoints.take_requested,
    upgrade.track_stability,
    savepoints.take_periodic,
    savepoints.retain,
    stop.towards_stopped,
)


def decide(inp: ExecutionInputs) -> Plan[ExecutionStatus]:
    """Decide the next step of one Execution."""
    d = Decision(status=prepare(inp))
    for policy in POLICIES:
        d = policy(inp, d)
        if d.final:
            break
    return conclude(inp, d)


def prepare(inp: ExecutionInputs) -> ExecutionStatus:
    """The status as the policies start from: what a spec change retries or clears is forgotten."""
    status = inp.status
    if status.failed_operation is not None and status.failed_operation.generation != inp.generation:
        status = status.model_copy(update={"failed_operation": None})  # a spec change retries what was given up
    return upgrade.clear_rollback_if_spec_changed(status, inp.target)


def conclude(inp: ExecutionInputs, d: Decision) -> Plan[ExecutionStatus]:
    """The plan of a decided step: its status with observedGeneration and the conditions derived from it."""
    if inp.status.pending is not None and d.status.pending is None and d.action is None:
        d = d.requeue(0)  # an operation just ended: decide what comes next (a schedule, retention, the spec)
    d = d.update(observed_generation=inp.generation)
    d = d.update(conditions=conditions(inp, d))
    return Plan(status=d.status, action=d.action, requeue_after=d.requeue_after, retry=d.retry, events=d.events)
