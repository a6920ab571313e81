"""A job that ends without the operator (cancelled in Flink's UI, finished by itself): the end is recorded, and the
decision the spec asks for next is taken at once, not whenever something else wakes the execution."""

from __future__ import annotations

from flink_manager.api import ExecutionPhase
from flink_manager.api.flinkjob import JobState
from tests.unit.reconcile.test_execution_flows import running_world


def test_a_job_cancelled_outside_the_operator_is_recorded_and_the_next_decision_follows_at_once() -> None:
    world = running_world()
    world.flink.jobs[world.status.flink_job_id].state = JobState.CANCELED
    plan = world.step()
    assert plan.status.phase == ExecutionPhase.CANCELLED and world.actions() == ["START", "CANCEL"]
    # Nothing else wakes the execution (its job changes no more): the spec, still Running, is acted on now.
    assert plan.requeue_after == 0
    world.settle()
    assert world.actions() == ["START", "CANCEL", "START"] and world.status.phase == ExecutionPhase.RUNNING
