"""A job Flink restarts on its own (a TaskManager lost, a task failed): the operator records the restarts Flink
reports and does nothing else — no cancel, no resubmission — until the job ends FAILED with its restarts used up."""

from __future__ import annotations

from flink_manager.api import ExecutionPhase
from flink_manager.api.execution import RestartPolicy, RestartPolicyType
from flink_manager.api.flinkjob import JobState
from tests.unit.reconcile.test_execution_flows import ready, running_world

ON_FAILURE = RestartPolicy(type=RestartPolicyType.ON_FAILURE, max_restarts=2, backoff_seconds=0)
LOST = (
    "org.apache.flink.runtime.resourcemanager.exceptions.ResourceManagerException: TaskManager with id "
    "taskmanager-0 is no longer reachable."
)


def test_flinks_own_restarts_are_recorded_and_nothing_is_done_about_them() -> None:
    world = running_world(restart_policy=ON_FAILURE)
    job = world.flink.jobs[world.status.flink_job_id]
    job.state, job.recovering, job.flink_restarts, job.failure = JobState.RESTARTING, True, 1, LOST
    plan = world.step()
    assert plan.action is None
    assert world.status.flink_restarts == 1 and world.status.phase == ExecutionPhase.RUNNING
    assert [(e.reason, e.type) for e in plan.events] == [("FlinkRestartsJob", "Warning")]
    assert "taskmanager-0 is no longer reachable" in plan.events[0].message
    assert ready(world) == ("False", "JobNotRunning")
    # Waiting for slots (RUNNING, tasks deploying), a second failover: counted, still nothing done.
    job.state, job.tasks_running, job.flink_restarts = JobState.RUNNING, False, 2
    plan = world.step()
    assert plan.action is None and world.status.flink_restarts == 2
    job.tasks_running, job.recovering = True, False
    writes = world.writes
    for _ in range(3):
        assert world.step().action is None
    assert world.writes == writes  # running again: nothing more to record
    assert world.actions() == ["START"] and world.flink.runs == 1
    assert world.status.attempt == 1 and ready(world) == ("True", "JobRunning")


def test_a_job_that_fails_once_flinks_restarts_are_used_up_is_restarted_by_the_policy() -> None:
    world = running_world(restart_policy=ON_FAILURE)
    job = world.flink.jobs[world.status.flink_job_id]
    job.state, job.recovering, job.flink_restarts, job.failure = JobState.RESTARTING, True, 1, LOST
    world.step()
    job.state, job.recovering = JobState.FAILED, False
    world.settle()
    assert world.actions() == ["START", "FAIL", "RESTART"]
    assert world.status.phase == ExecutionPhase.RUNNING and world.status.attempt == 2
    assert world.status.flink_restarts == 0  # the new attempt's own count
    assert world.flink.jobs[world.status.flink_job_id].restored_from == job.checkpoints[-1].path
