"""A job the cluster lost (its JobManager restarted without HA): resubmitted from its newest retained checkpoint or
savepoint, within restartPolicy and maxStateAgeSeconds, as a RESTART with the reason JobLost; never without state
unless allowed; an execution that was stopped stays stopped."""

from __future__ import annotations

from flink_manager.api import DesiredState, ExecutionPhase
from flink_manager.api.execution import RestartPolicy, RestartPolicyType
from flink_manager.reconcile import execution
from flink_manager.reconcile.performer import OPERATOR
from tests.unit.reconcile.test_execution_flows import degraded, ready, running_world

ON_FAILURE = RestartPolicy(type=RestartPolicyType.ON_FAILURE, max_restarts=2, backoff_seconds=10)


def lose_the_job(world) -> str:  # type: ignore[no-untyped-def]
    """Restart the cluster; returns the path of the newest checkpoint it retained of the execution's job."""
    job_id = world.status.flink_job_id
    world.flink.restart_cluster()
    return world.flink.storage[job_id].path


def test_a_lost_job_is_resubmitted_from_its_newest_retained_checkpoint_as_a_restart_for_job_lost() -> None:
    world = running_world(restart_policy=ON_FAILURE)
    lost_job = world.status.flink_job_id
    checkpoint = lose_the_job(world)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.status.attempt == 2 and world.status.flink_job_id != lost_job
    assert world.flink.jobs[world.status.flink_job_id].restored_from == checkpoint
    assert world.actions() == ["START", "RESTART"]
    entry = world.status.history[-1]
    assert (entry.old_status, entry.new_status, entry.performed_by) == ("Running", "Running", OPERATOR)
    assert entry.details.reason == "JobLost" and entry.details.restored_from == checkpoint
    assert world.status.restarts == 1
    assert any(event.reason == "JobLost" for plan in world.plans for event in plan.events)


def test_a_lost_job_is_restarted_from_the_last_savepoint_when_it_is_newer_than_its_checkpoint() -> None:
    world = running_world(restart_policy=ON_FAILURE)
    world.edit(savepoint_nonce=1)
    world.settle()
    savepoint = world.status.last_savepoint
    assert savepoint is not None
    job_id = world.status.flink_job_id
    world.flink.restart_cluster()
    older = world.flink.storage[job_id].__class__("file:/chk/x/chk-1", savepoint.taken_at.replace(year=2025))
    world.flink.storage[job_id] = older
    world.settle()
    assert world.flink.jobs[world.status.flink_job_id].restored_from == savepoint.path
    assert world.actions() == ["START", "SAVEPOINT", "RESTART"]


def test_restart_policy_never_leaves_a_lost_job_failed_with_the_reason_and_a_nonce_bump_resubmits_it() -> None:
    world = running_world()  # restartPolicy Never
    checkpoint = lose_the_job(world)
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert world.actions() == ["START", "FAIL"]
    assert world.status.history[-1].details.reason == "JobLost"
    assert "bump restartNonce" in (world.status.error_message or "")
    assert world.flink.runs == 1
    world.edit(restart_nonce=1)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.flink.jobs[world.status.flink_job_id].restored_from == checkpoint
    assert world.actions() == ["START", "FAIL", "RESTART"]


def test_a_lost_job_whose_restarts_are_used_up_stays_failed() -> None:
    world = running_world(restart_policy=ON_FAILURE.model_copy(update={"max_restarts": 1}))
    lose_the_job(world)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING and world.status.restarts == 1
    lose_the_job(world)
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert world.actions() == ["START", "RESTART", "FAIL"]
    assert world.flink.runs == 2


def test_state_older_than_max_state_age_is_not_restored_and_the_job_is_not_restarted_stateless() -> None:
    world = running_world(restart_policy=ON_FAILURE.model_copy(update={"max_state_age_seconds": 60}))
    lose_the_job(world)
    world.tick(120)  # the operator sees the loss two minutes later: the retained checkpoint is too old
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert degraded(world) == ("True", "NoRestorableState")
    assert "newer than 60s" in (world.status.error_message or "")
    assert world.flink.runs == 1


def test_a_lost_job_without_any_retained_state_is_not_restarted_stateless() -> None:
    world = running_world(restart_policy=ON_FAILURE)
    lose_the_job(world)
    world.flink.storage.clear()  # checkpointing was off
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert degraded(world) == ("True", "NoRestorableState")
    assert world.flink.runs == 1


def test_allow_stateless_resubmits_a_lost_job_without_state_when_none_is_retained() -> None:
    world = running_world(restart_policy=ON_FAILURE.model_copy(update={"allow_stateless": True}))
    lose_the_job(world)
    world.flink.storage.clear()
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.flink.jobs[world.status.flink_job_id].restored_from is None
    assert world.actions() == ["START", "RESTART"]


def test_a_stopped_execution_stays_stopped_when_the_cluster_restarts() -> None:
    world = running_world(restart_policy=ON_FAILURE)
    world.edit(state=DesiredState.STOPPED)
    world.settle()
    writes = world.writes
    world.flink.restart_cluster()
    world.settle()
    assert world.status.phase == ExecutionPhase.STOPPED
    assert world.writes == writes and world.flink.runs == 1


def test_stored_checkpoints_are_read_for_a_job_flink_does_not_know_but_not_for_a_submission_in_flight() -> None:
    world = running_world()
    assert execution.needs_stored_checkpoints(world.status, None)
    assert not execution.needs_stored_checkpoints(world.status, world.flink.jobs[world.status.flink_job_id].state)
    world.edit(state=DesiredState.STOPPED)
    world.settle()
    assert not execution.needs_stored_checkpoints(world.status, None)  # stopped: nothing to resubmit
    world.edit(state=DesiredState.RUNNING)
    world.step()  # the intent of the next attempt is recorded; its job does not exist yet
    assert world.status.pending is not None
    assert not execution.needs_stored_checkpoints(world.status, None)


def test_a_running_execution_whose_cluster_cannot_be_asked_is_not_ready_and_says_why() -> None:
    world = running_world()
    world.flink.unavailable = True
    world.step()
    assert degraded(world) == ("True", "FlinkClusterUnreachable")
    assert ready(world) == ("False", "FlinkClusterUnreachable")
    ready_message = next(c for c in world.status.conditions if c.type == "Ready").message
    assert world.status.flink_job_id in ready_message and "connection refused" in ready_message
    assert world.status.phase == ExecutionPhase.RUNNING  # nothing else changes
    world.flink.unavailable = False
    world.settle()
    assert ready(world) == ("True", "JobRunning") and degraded(world) == ("False", "AsExpected")


def test_a_stopped_execution_stays_ready_while_its_cluster_cannot_be_asked() -> None:
    world = running_world()
    world.edit(state=DesiredState.STOPPED)
    world.settle()
    world.flink.unavailable = True
    world.step()
    assert ready(world) == ("True", "Stopped")
