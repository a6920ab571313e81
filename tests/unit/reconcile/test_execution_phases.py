"""The one mapping from Flink job states to phases and history actions, and conditions derived from a decision."""

from __future__ import annotations

import pytest

from flink_manager.api import ExecutionPhase
from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import DesiredState
from flink_manager.api.flinkjob import JobState
from flink_manager.reconcile.execution.conditions import degradation, readiness
from flink_manager.reconcile.execution.decision import BlockedBy, Decision, UpgradePending
from flink_manager.reconcile.execution.phases import (
    CANCELLED_OUTSIDE,
    job_end,
    phase_while_stopping,
    settled_as_desired,
)
from flink_manager.reconcile.observations import ActionError, ActionErrorKind
from flink_manager.reconcile.targets import Blocker
from tests.unit.reconcile.world import World


@pytest.mark.parametrize(
    ("state", "action", "phase", "message"),
    [
        pytest.param(JobState.FAILED, HistoryAction.FAIL, ExecutionPhase.FAILED, None, id="failed"),
        pytest.param(JobState.FINISHED, HistoryAction.FINISH, ExecutionPhase.FINISHED, None, id="finished"),
        pytest.param(
            JobState.CANCELED, HistoryAction.CANCEL, ExecutionPhase.CANCELLED, CANCELLED_OUTSIDE, id="cancelled"
        ),
    ],
)
def test_a_globally_terminal_job_settles_in_its_phase_with_its_history_action(
    state: JobState,
    action: HistoryAction,
    phase: ExecutionPhase,
    message: str | None,
) -> None:
    end = job_end(state)
    assert end is not None and not end.lost
    assert (end.action, end.phase, end.message) == (action, phase, message)


def test_a_job_flink_does_not_know_is_lost() -> None:
    end = job_end(None)
    assert end is not None and end.lost and end.phase is None


@pytest.mark.parametrize("state", [s for s in JobState if not s.is_globally_terminal])
def test_a_job_in_any_other_state_has_not_ended(state: JobState) -> None:
    assert job_end(state) is None


@pytest.mark.parametrize(
    ("action", "savepoint", "phase"),
    [
        (HistoryAction.STOP, True, ExecutionPhase.STOPPING),
        (HistoryAction.CANCEL, False, ExecutionPhase.CANCELLING),
        (HistoryAction.DELETE, True, ExecutionPhase.STOPPING),
        (HistoryAction.DELETE, False, ExecutionPhase.CANCELLING),
        (HistoryAction.RESTART, True, ExecutionPhase.RESTARTING),
        (HistoryAction.UPGRADE, False, ExecutionPhase.RESTARTING),
    ],
)
def test_the_phase_of_a_stop_says_what_it_is_for(action: HistoryAction, savepoint: bool, phase: ExecutionPhase) -> None:
    assert phase_while_stopping(action, savepoint=savepoint) == phase


def test_an_execution_settles_as_desired_without_a_job() -> None:
    assert settled_as_desired(DesiredState.STOPPED) == (HistoryAction.STOP, ExecutionPhase.STOPPED)
    assert settled_as_desired(DesiredState.CANCELLED) == (HistoryAction.CANCEL, ExecutionPhase.CANCELLED)


def test_degraded_reports_flink_unreachable_before_a_pending_upgrade() -> None:
    world = World()
    inputs = world.inputs()
    decision = Decision(status=world.status).find(UpgradePending("generation 2 waits"))
    assert degradation(inputs, decision) == (True, "UpgradePending", "generation 2 waits")
    assert degradation(inputs, decision.unreachable("connection refused")) == (
        True,
        "FlinkClusterUnreachable",
        "connection refused",
    )
    assert degradation(inputs, Decision(status=world.status))[:2] == (False, "AsExpected")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        pytest.param(ActionErrorKind.UNAVAILABLE, "FlinkClusterUnreachable", id="no-answer"),
        pytest.param(ActionErrorKind.UNAUTHORIZED, "FlinkUnauthorized", id="credentials-refused"),
        pytest.param(ActionErrorKind.UNSUPPORTED_VERSION, "UnsupportedFlinkVersion", id="version-not-spoken"),
    ],
)
def test_a_call_that_did_not_get_flinks_answer_is_reported_with_the_reason_its_flink_cluster_gives(
    kind: ActionErrorKind, reason: str
) -> None:
    world = World()
    decision = Decision(status=world.status).could_not_ask(ActionError(kind, "the call's error"))
    assert decision.retry
    assert degradation(world.inputs(), decision) == (True, reason, "the call's error")


def test_flink_answers_are_not_taken_for_a_cluster_that_cannot_be_asked() -> None:
    for kind in (ActionErrorKind.REJECTED, ActionErrorKind.JOB_NOT_FOUND, ActionErrorKind.DUPLICATE_JOB):
        assert ActionError(kind, "Flink answered").not_asked_reason is None


def test_ready_names_the_blocker_of_an_execution_that_cannot_start() -> None:
    world = World()
    blocked = Decision(status=world.status).find(BlockedBy(Blocker("ArtifactNotReady", "not verified yet")))
    assert readiness(world.inputs(), blocked) == (False, "ArtifactNotReady", "not verified yet")
