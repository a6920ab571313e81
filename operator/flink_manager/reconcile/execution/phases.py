"""Phases: which ones a job may be alive in, and the one mapping from how a Flink job ended (or what a stop was
for) to the phase the Execution settles in and the history action that records it."""

from __future__ import annotations

from dataclasses import dataclass

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import DesiredState, ExecutionPhase
from flink_manager.api.flinkjob import JobState

STABLE_PHASES = frozenset(
    {
        ExecutionPhase.PENDING,
        ExecutionPhase.RUNNING,
        ExecutionPhase.STOPPED,
        ExecutionPhase.CANCELLED,
        ExecutionPhase.FINISHED,
        ExecutionPhase.FAILED,
    }
)
# Phases in which a Flink job of the current attempt may be alive.
LIVE_PHASES = frozenset(
    {
        ExecutionPhase.SUBMITTING,
        ExecutionPhase.RUNNING,
        ExecutionPhase.STOPPING,
        ExecutionPhase.CANCELLING,
        ExecutionPhase.RESTARTING,
    }
)
# Phases in which no job runs any more: entering one stamps finishedAt.
ENDED_PHASES = frozenset(
    {
        ExecutionPhase.STOPPED,
        ExecutionPhase.CANCELLED,
        ExecutionPhase.FAILED,
        ExecutionPhase.FINISHED,
    }
)

CANCELLED_OUTSIDE = "the job was cancelled outside the operator"


@dataclass(frozen=True)
class JobEnd:
    """How a job of the current attempt ended, as the Execution records it. `phase` None: the cluster lost the job,
    a failure of the attempt whose consequence (a resubmission, Failed, or settling as desired) is the failure
    policy's decision."""

    action: HistoryAction
    phase: ExecutionPhase | None
    message: str | None = None

    @property
    def lost(self) -> bool:
        return self.phase is None


JOB_LOST = JobEnd(HistoryAction.FAIL, None, "the job no longer exists on the cluster")
JOB_LOST_REASON = "JobLost"  # the reason in the history entry (and Event) of what follows a job its cluster lost
_ENDS = {
    JobState.FAILED: JobEnd(HistoryAction.FAIL, ExecutionPhase.FAILED),
    JobState.FINISHED: JobEnd(HistoryAction.FINISH, ExecutionPhase.FINISHED),
    JobState.CANCELED: JobEnd(HistoryAction.CANCEL, ExecutionPhase.CANCELLED, CANCELLED_OUTSIDE),
}


def job_end(state: JobState | None) -> JobEnd | None:
    """How a job in this Flink state has ended (None: it has not; a state of None means Flink does not know it)."""
    if state is None:
        return JOB_LOST
    return _ENDS.get(state)


def settled_as_desired(desired: DesiredState) -> tuple[HistoryAction, ExecutionPhase]:
    """The history action and phase of an execution that settles without a job in a desired Stopped or Cancelled
    state (Running is never settled without a job)."""
    if desired == DesiredState.STOPPED:
        return HistoryAction.STOP, ExecutionPhase.STOPPED
    return HistoryAction.CANCEL, ExecutionPhase.CANCELLED


def phase_while_stopping(action: HistoryAction, *, savepoint: bool) -> ExecutionPhase:
    """The phase of an execution whose job is being stopped for `action` (with a savepoint, or by a cancel)."""
    if action == HistoryAction.CANCEL or (action == HistoryAction.DELETE and not savepoint):
        return ExecutionPhase.CANCELLING
    if action in (HistoryAction.STOP, HistoryAction.DELETE):
        return ExecutionPhase.STOPPING
    return ExecutionPhase.RESTARTING  # RESTART, UPGRADE, ROLLBACK: a new attempt follows


def keeps_running(desired: DesiredState, phase: ExecutionPhase) -> bool:
    """The job runs, and running is what is wanted: the state in which restarts, upgrades and savepoints apply."""
    return desired == DesiredState.RUNNING and phase == ExecutionPhase.RUNNING
