"""The Execution lifecycle, flow by flow, on the pure decision function and a fake Flink."""

from __future__ import annotations

import datetime

import pytest

from flink_manager.api import DesiredState, ExecutionPhase, OperationType
from flink_manager.api.execution import RestartPolicy, RestartPolicyType
from flink_manager.api.flinkjob import JobState
from flink_manager.api.jobspec import RollbackSpec, UpgradeMode
from flink_manager.reconcile.ids import derive_job_id
from flink_manager.reconcile.plans import RunJob, UploadJar
from tests.unit.reconcile.world import SHA_B, World


def running_world(**spec_changes: object) -> World:
    world = World()
    if spec_changes:
        world.spec = world.spec.model_copy(update=spec_changes)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    return world


def ready(world: World) -> tuple[str, str]:
    condition = next(c for c in world.status.conditions if c.type == "Ready")
    return condition.status.value, condition.reason


def degraded(world: World) -> tuple[str, str]:
    condition = next(c for c in world.status.conditions if c.type == "Degraded")
    return condition.status.value, condition.reason


def test_start_uploads_the_jar_records_intent_then_runs_with_the_derived_job_id() -> None:
    world = World()
    first = world.step()
    assert isinstance(first.action, UploadJar)
    assert first.status.phase == ExecutionPhase.SUBMITTING
    assert first.status.pending is not None and first.status.pending.operation == OperationType.SUBMIT
    assert first.status.flink_job_id == derive_job_id("uid-1", 1)
    second = world.step()
    assert isinstance(second.action, RunJob) and second.action.job_id == derive_job_id("uid-1", 1)
    assert second.action.parallelism == 2
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.actions() == ["START"]
    assert world.status.history[0].performed_by == "kubectl-client-side-apply"
    assert ready(world) == ("True", "JobRunning")
    assert world.flink.runs == 1


def test_a_quiet_running_execution_writes_nothing_and_asks_for_nothing() -> None:
    world = running_world()
    writes = world.writes
    for _ in range(5):
        plan = world.step()
        assert plan.action is None
        world.tick(5)
    assert world.writes == writes


def test_stop_takes_a_savepoint_and_resume_restores_from_it_with_a_new_job_id() -> None:
    world = running_world()
    first_job = world.status.flink_job_id
    world.edit(state=DesiredState.STOPPED)
    world.settle()
    assert world.status.phase == ExecutionPhase.STOPPED
    savepoint = world.status.last_savepoint
    assert savepoint is not None and savepoint.reason.value == "STOP"
    assert world.flink.jobs[first_job].state == JobState.FINISHED
    world.edit(state=DesiredState.RUNNING)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.status.flink_job_id != first_job
    assert world.flink.jobs[world.status.flink_job_id].restored_from == savepoint.path
    assert world.actions() == ["START", "STOP", "START"]
    assert world.status.history[1].details.savepoint_path == savepoint.path
    assert world.status.history[2].details.restored_from == savepoint.path


def test_cancel_ends_without_a_savepoint() -> None:
    world = running_world()
    world.edit(state=DesiredState.CANCELLED)
    world.settle()
    assert world.status.phase == ExecutionPhase.CANCELLED
    assert world.status.last_savepoint is None
    assert world.actions() == ["START", "CANCEL"]


def test_restart_nonce_restarts_through_a_savepoint() -> None:
    world = running_world()
    first_job = world.status.flink_job_id
    world.edit(restart_nonce=1)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.status.attempt == 2 and world.status.flink_job_id != first_job
    assert world.status.observed_restart_nonce == 1
    assert world.flink.jobs[world.status.flink_job_id].restored_from == world.status.last_savepoint.path
    assert world.actions() == ["START", "RESTART"]
    assert len(world.flink.live_jobs()) == 1


@pytest.mark.parametrize(
    ("mode", "restored", "actions"),
    [
        pytest.param(UpgradeMode.SAVEPOINT, True, ["START", "UPGRADE"], id="savepoint"),
        pytest.param(UpgradeMode.STATELESS, False, ["START", "UPGRADE"], id="stateless"),
    ],
)
def test_a_job_spec_change_upgrades_the_running_job(mode: UpgradeMode, restored: bool, actions: list[str]) -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={"upgrade_mode": mode})
    world.settle()
    world.edit_job_spec(parallelism=4)
    world.settle()
    job = world.flink.jobs[world.status.flink_job_id]
    assert job.config["parallelism"] == 4
    assert (job.restored_from is not None) == restored
    assert world.actions() == actions
    assert world.status.job_spec_generation == 2


def test_manual_upgrade_mode_waits_for_a_restart_nonce() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={"upgrade_mode": UpgradeMode.MANUAL})
    world.settle()
    world.edit_job_spec(parallelism=4)
    world.settle()
    assert world.status.attempt == 1
    assert degraded(world) == ("True", "UpgradePending")
    world.edit(restart_nonce=1)
    world.settle()
    assert world.flink.jobs[world.status.flink_job_id].config["parallelism"] == 4
    assert degraded(world)[0] == "False"


def test_a_failed_job_records_flinks_root_cause_and_stays_failed_under_restart_policy_never() -> None:
    world = running_world()
    job = world.flink.jobs[world.status.flink_job_id]
    job.state, job.failure = JobState.FAILED, "java.lang.RuntimeException: boom"
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert world.status.error_message == "java.lang.RuntimeException: boom"
    assert world.actions() == ["START", "FAIL"]
    assert world.status.history[-1].performed_by == "flink-manager"
    assert ready(world) == ("False", "JobFailed")


def test_on_failure_restarts_from_the_latest_checkpoint_after_the_backoff() -> None:
    world = running_world(restart_policy=RestartPolicy(type=RestartPolicyType.ON_FAILURE, backoff_seconds=10))
    world.tick(3)  # a few checkpoints
    job = world.flink.jobs[world.status.flink_job_id]
    checkpoint = job.checkpoints[-1].path
    job.state, job.failure = JobState.FAILED, "boom"
    plan = world.step()
    assert plan.status.phase == ExecutionPhase.FAILED
    plan = world.step()
    assert plan.action is None and plan.requeue_after is not None and 9 <= plan.requeue_after <= 10
    world.tick(10)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.flink.jobs[world.status.flink_job_id].restored_from == checkpoint
    assert world.status.restarts == 1
    assert world.actions() == ["START", "FAIL", "RESTART"]
    assert world.status.history[-1].performed_by == "flink-manager"


def test_on_failure_without_usable_state_stays_failed_with_a_reason() -> None:
    world = running_world(
        restart_policy=RestartPolicy(type=RestartPolicyType.ON_FAILURE, backoff_seconds=0, max_state_age_seconds=1)
    )
    world.tick(1)
    job = world.flink.jobs[world.status.flink_job_id]
    job.state, job.failure = JobState.FAILED, "boom"
    world.tick(30)  # every checkpoint is now older than maxStateAgeSeconds
    job.state = JobState.FAILED
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert degraded(world) == ("True", "NoRestorableState")
    assert world.flink.runs == 1


def test_on_failure_gives_up_after_max_restarts() -> None:
    world = running_world(
        restart_policy=RestartPolicy(
            type=RestartPolicyType.ON_FAILURE, backoff_seconds=0, max_restarts=2, allow_stateless=True
        )
    )
    for _ in range(3):
        job = world.flink.jobs[world.status.flink_job_id]
        job.state, job.failure = JobState.FAILED, "boom"
        world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert world.status.restarts == 2
    assert world.flink.runs == 3


def test_a_finished_job_stays_finished() -> None:
    world = running_world()
    world.flink.jobs[world.status.flink_job_id].state = JobState.FINISHED
    world.settle()
    assert world.status.phase == ExecutionPhase.FINISHED
    for _ in range(3):
        assert world.step().action is None
    assert world.flink.runs == 1
    assert ready(world) == ("True", "JobFinished")


def test_a_failing_stop_savepoint_is_retried_then_given_up_and_the_job_keeps_running() -> None:
    world = running_world(savepoint_retries=1)
    world.flink.savepoint_fails = True
    world.edit(state=DesiredState.STOPPED)
    world.settle()
    assert world.status.phase == ExecutionPhase.RUNNING
    assert world.flink.jobs[world.status.flink_job_id].state == JobState.RUNNING
    assert degraded(world) == ("True", "SavepointFailed")
    assert world.actions() == ["START", "STOP"]
    assert world.status.history[-1].details.error
    assert sum(1 for t in world.flink.triggers.values() if t.kind == "stop") == 2
    # A spec change (any new generation) tries again; this time it works.
    world.flink.savepoint_fails = False
    world.edit(savepoint_retries=0)
    world.settle()
    assert world.status.phase == ExecutionPhase.STOPPED


def test_a_stop_waits_for_the_jobs_tasks_to_run_rather_than_spend_its_retries_on_refusals() -> None:
    world = running_world(savepoint_retries=0, savepoint_timeout_seconds=30)
    job = world.flink.jobs[world.status.flink_job_id]
    job.tasks_running = False  # RUNNING, its tasks still deploying (or waiting for slots)
    world.edit(state=DesiredState.STOPPED)
    for _ in range(10):
        plan = world.step()
        assert plan.action is None and plan.requeue_after is not None
        world.now += datetime.timedelta(seconds=1)
    assert world.status.phase == ExecutionPhase.STOPPING and not world.flink.triggers
    assert degraded(world) == ("False", "AsExpected")
    world.now += datetime.timedelta(seconds=30)  # past the savepoint timeout: said, and still waiting
    plan = world.step()
    assert degraded(world)[1] == "SavepointTimeout"
    assert any("free slots" in e.message for e in plan.events)
    job.tasks_running = True
    world.settle()
    assert world.status.phase == ExecutionPhase.STOPPED
    assert world.actions() == ["START", "STOP"]
    assert sum(1 for t in world.flink.triggers.values() if t.kind == "stop") == 1


def test_a_job_whose_tasks_do_not_run_can_still_be_cancelled() -> None:
    world = running_world()
    world.flink.jobs[world.status.flink_job_id].tasks_running = False
    world.edit(state=DesiredState.CANCELLED)
    world.settle()
    assert world.status.phase == ExecutionPhase.CANCELLED
    assert world.actions() == ["START", "CANCEL"]


def test_a_failing_upgrade_savepoint_never_falls_back_to_a_stateless_restart() -> None:
    world = running_world(savepoint_retries=0)
    world.flink.savepoint_fails = True
    world.edit_job_spec(parallelism=8)
    world.settle()
    assert world.flink.runs == 1
    assert world.status.phase == ExecutionPhase.RUNNING
    assert degraded(world) == ("True", "SavepointFailed")


def test_a_stop_stuck_in_progress_past_its_timeout_is_reported_and_cancelling_takes_over() -> None:
    world = running_world(savepoint_timeout_seconds=30)
    world.flink.savepoints_hang = True
    world.edit(state=DesiredState.STOPPED)
    world.step()
    trigger = world.status.pending.trigger_id
    for _ in range(40):
        world.now += datetime.timedelta(seconds=1)  # time passes; the savepoint never completes
        plan = world.step()
    assert world.status.pending is not None and world.status.pending.trigger_id == trigger  # still waiting for it
    assert degraded(world) == ("True", "SavepointTimeout")
    assert any(e.reason == "SavepointTimeout" for e in plan.events)
    assert sum(1 for t in world.flink.triggers.values() if t.kind == "stop") == 1  # never a second trigger
    world.flink.savepoints_hang = False
    world.flink.savepoint_fails = True  # cancelling the job fails the savepoint in flight
    world.edit(state=DesiredState.CANCELLED)
    world.settle()
    assert world.status.phase == ExecutionPhase.CANCELLED
    assert world.actions() == ["START", "CANCEL"]


def test_deleting_a_running_execution_stops_it_with_a_savepoint_then_releases() -> None:
    world = running_world()
    world.deletion_requested_at = world.now
    world.settle()
    assert world.released
    assert world.flink.jobs[world.status.flink_job_id].state == JobState.FINISHED
    assert world.actions()[-1] == "DELETE"
    assert world.status.history[-1].details.savepoint_path is not None


def test_deleting_when_flink_is_unreachable_gives_up_after_the_timeout() -> None:
    world = running_world(deletion_timeout_seconds=60)
    world.flink.unavailable = True
    world.deletion_requested_at = world.now
    plan = world.step()
    assert plan.retry and not world.released
    world.now += datetime.timedelta(seconds=61)
    plan = world.step()
    assert world.released
    assert any(e.reason == "DeletionTimeout" and e.type == "Warning" for e in plan.events)


def test_flink_unreachable_sets_degraded_once_and_changes_nothing_else() -> None:
    world = running_world()
    world.flink.unavailable = True
    plan = world.step()
    assert plan.retry and plan.action is None
    assert degraded(world) == ("True", "FlinkClusterUnreachable")
    writes = world.writes
    world.step()
    assert world.writes == writes
    world.flink.unavailable = False
    world.settle()
    assert degraded(world)[0] == "False"
    assert world.status.phase == ExecutionPhase.RUNNING


def test_a_rejected_submission_fails_with_flinks_message_and_does_not_loop() -> None:
    world = World()
    world.flink.reject_runs = True
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert "ClassNotFoundException" in (world.status.error_message or "")
    assert world.step().action is None


def test_a_crash_after_the_run_call_resumes_without_a_second_job() -> None:
    world = World()
    world.step()  # upload
    world.step(lose_response=True)  # run applied, response lost
    world.settle()
    assert world.flink.runs == 1
    assert world.status.phase == ExecutionPhase.RUNNING


def test_periodic_savepoints_are_taken_on_schedule_and_never_doubled() -> None:
    world = running_world(savepoint_schedule="1m")
    for _ in range(200):
        world.step()
        world.tick(1)
    periodic = [s for s in world.status.savepoints if s.reason.value == "PERIODIC"]
    assert 2 <= len(periodic) <= 4
    in_flight = [t for t in world.flink.triggers.values() if t.kind == "savepoint"]
    assert len(in_flight) == len(periodic)


def test_retention_disposes_the_oldest_savepoints_but_never_the_last() -> None:
    world = running_world()
    world.spec = world.spec.model_copy(
        update={"savepoint_retention": world.spec.savepoint_retention.model_copy(update={"max_count": 2})}
    )
    for nonce in range(1, 5):
        world.edit(savepoint_nonce=nonce)
        world.settle()
    assert len(world.status.savepoints) == 2
    assert len(world.flink.disposed) == 2
    assert world.status.last_savepoint.path not in world.flink.disposed


def test_a_failed_disposal_keeps_the_entry_and_does_not_loop() -> None:
    world = running_world()
    world.spec = world.spec.model_copy(
        update={"savepoint_retention": world.spec.savepoint_retention.model_copy(update={"max_count": 1})}
    )
    world.flink.disposal_fails = True
    world.edit(savepoint_nonce=1)
    world.settle()
    world.edit(savepoint_nonce=2)
    world.settle()
    assert len(world.status.savepoints) == 2
    assert degraded(world) == ("True", "SavepointDisposalFailed")
    disposals = sum(1 for t in world.flink.triggers.values() if t.kind == "dispose")
    world.settle()
    assert sum(1 for t in world.flink.triggers.values() if t.kind == "dispose") == disposals


def test_a_failed_upgrade_is_rolled_back_to_the_last_stable_generation() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={"rollback": RollbackSpec(enabled=True, window_seconds=60)})
    world.settle()
    world.tick(120)
    world.step()  # the first configuration has now run stably
    assert world.status.stable_run_config is not None
    world.edit_job_spec(parallelism=5)
    world.settle()
    upgraded = world.flink.jobs[world.status.flink_job_id]
    assert upgraded.config["parallelism"] == 5
    upgraded.state, upgraded.failure = JobState.FAILED, "bad upgrade"
    world.settle()
    job = world.flink.jobs[world.status.flink_job_id]
    assert job.config["parallelism"] == 2
    assert world.actions()[-2:] == ["FAIL", "ROLLBACK"]
    assert degraded(world) == ("True", "RolledBack")
    runs = world.flink.runs
    world.settle()
    assert world.flink.runs == runs  # no loop back to the failed generation
    world.edit_job_spec(parallelism=3)
    world.settle()
    assert world.flink.jobs[world.status.flink_job_id].config["parallelism"] == 3
    assert degraded(world)[0] == "False"


def test_a_failed_upgrade_without_a_stable_configuration_is_degraded_not_looping() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={"rollback": RollbackSpec(enabled=True, window_seconds=600)})
    world.settle()
    world.edit_job_spec(parallelism=5)
    world.settle()
    job = world.flink.jobs[world.status.flink_job_id]
    job.state, job.failure = JobState.FAILED, "bad upgrade"
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert degraded(world) == ("True", "RolledBack")
    assert world.status.rollback is not None and world.status.rollback.reason == "NoStableConfiguration"


def test_a_changed_artifact_digest_upgrades_with_a_new_upload() -> None:
    world = running_world()
    world.artifact_sha = SHA_B
    world.settle()
    assert world.status.run_config.artifact_sha256 == SHA_B
    assert len(world.flink.jars) == 2
    assert world.actions() == ["START", "UPGRADE"]


def test_a_job_cancelled_outside_while_a_stop_was_in_flight_records_its_attempt_like_any_other_end() -> None:
    world = running_world()
    world.edit(state=DesiredState.STOPPED)
    world.step(crash_before_action=True)  # the stop is recorded; its call never reached Flink
    world.flink.jobs[world.status.flink_job_id].state = JobState.CANCELED  # someone cancelled the job meanwhile
    world.settle()
    assert world.status.phase == ExecutionPhase.CANCELLED
    assert world.actions() == ["START", "CANCEL"]
    assert world.status.history[-1].details.message == "the job was cancelled outside the operator"
    assert world.status.history[-1].details.attempt == world.status.attempt == 1


def test_a_job_that_failed_before_it_was_seen_running_records_its_start_even_when_the_run_answer_was_lost() -> None:
    world = World()
    world.step()  # upload
    world.step(lose_response=True)  # Flink took the job; its answer was lost
    job = world.flink.jobs[world.status.flink_job_id]
    job.state, job.failure = JobState.FAILED, "java.lang.RuntimeException: boom"  # it failed before the next look
    world.settle()
    assert world.status.phase == ExecutionPhase.FAILED
    assert world.actions() == ["START", "FAIL"]
    assert world.status.history[0].performed_by == "kubectl-client-side-apply"
    assert world.flink.runs == 1
