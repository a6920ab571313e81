"""Upgrades of a running Execution: the savepoint and restore options a JobSpec sets, and upgradeMode last-state."""

from __future__ import annotations

from flink_manager.api.common import HistoryAction, RestoreKind
from flink_manager.api.execution import RestartPolicy
from flink_manager.api.flinkjob import JobState
from flink_manager.api.jobspec import ClaimMode, LastStateSpec, SavepointFormatType, UpgradeMode
from flink_manager.reconcile.plans import CancelJob, RunJob, StopJob, TriggerSavepoint
from tests.unit.reconcile.world import World


def _actions(world: World, kind: type) -> list:
    return [plan.action for plan in world.plans if isinstance(plan.action, kind)]


def test_the_job_specs_savepoint_format_and_claim_mode_reach_the_stop_and_the_restoring_run() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(
        update={"savepoint_format_type": SavepointFormatType.NATIVE, "claim_mode": ClaimMode.CLAIM}
    )
    world.settle()
    world.edit_job_spec(parallelism=4)
    world.settle()
    assert [stop.format_type for stop in _actions(world, StopJob)] == ["NATIVE"]
    runs = _actions(world, RunJob)
    assert [(run.savepoint_path is not None, run.claim_mode) for run in runs] == [(False, None), (True, "CLAIM")]
    assert world.actions() == ["START", "UPGRADE"]


def test_without_options_flinks_defaults_apply_and_nothing_is_sent() -> None:
    world = World()
    world.settle()
    world.edit(savepoint_nonce=1)
    world.settle()
    world.edit_job_spec(parallelism=4)
    world.settle()
    assert [action.format_type for action in _actions(world, StopJob) + _actions(world, TriggerSavepoint)] == [
        None,
        None,
    ]
    assert all(run.claim_mode is None for run in _actions(world, RunJob))


def _last_state_world(**last_state: object) -> World:
    world = World()
    world.job_spec = world.job_spec.model_copy(
        update={"upgrade_mode": UpgradeMode.LAST_STATE, "last_state": LastStateSpec(**last_state)}
    )
    world.settle()
    world.tick(3)
    return world


def test_last_state_cancels_and_restores_from_the_newest_checkpoint_without_a_savepoint() -> None:
    world = _last_state_world()
    old = world.flink.jobs[world.status.flink_job_id]
    world.edit_job_spec(parallelism=4)
    world.settle()
    new = world.flink.jobs[world.status.flink_job_id]
    assert new.job_id != old.job_id and old.state == JobState.CANCELED
    assert new.restored_from == old.checkpoints[-1].path  # the newest
    assert _actions(world, StopJob) == [] and _actions(world, TriggerSavepoint) == []
    assert len(_actions(world, CancelJob)) == 1
    assert _actions(world, RunJob)[-1].claim_mode == "CLAIM"
    upgrade = world.status.history[-1]
    assert upgrade.action == HistoryAction.UPGRADE
    assert upgrade.details.restored_from == new.restored_from and upgrade.details.restore_kind == RestoreKind.CHECKPOINT
    assert world.status.restored_from == new.restored_from


def _steps(world: World, count: int) -> None:
    for _ in range(count):
        world.step()
        world.tick(10)


def test_last_state_without_a_usable_checkpoint_leaves_the_job_running_degraded_until_one_completes() -> None:
    world = _last_state_world()
    world.flink.checkpointing = False
    world.spec = world.spec.model_copy(update={"restart_policy": RestartPolicy(max_state_age_seconds=20)})
    job_id = world.status.flink_job_id
    world.tick(30)  # the checkpoints the job completed are now older than 20 s
    world.edit_job_spec(parallelism=4)
    _steps(world, 6)
    assert world.status.flink_job_id == job_id and world.flink.jobs[job_id].state == JobState.RUNNING
    assert _actions(world, CancelJob) == [] and world.actions() == ["START"]
    degraded = next(c for c in world.status.conditions if c.type == "Degraded")
    assert (degraded.status.value, degraded.reason) == ("True", "NoUsableCheckpoint")
    assert "maxStateAgeSeconds (20s)" in degraded.message
    world.flink.checkpointing = True
    world.tick(1)
    world.settle()
    assert world.actions() == ["START", "UPGRADE"]
    assert world.flink.jobs[world.status.flink_job_id].restored_from.startswith(f"file:/chk/{job_id}/")


def test_last_state_falls_back_to_a_savepoint_only_when_the_job_spec_allows_it() -> None:
    world = _last_state_world(savepoint_fallback=True)
    world.flink.jobs[world.status.flink_job_id].checkpoints.clear()
    world.flink.checkpointing = False
    world.edit_job_spec(parallelism=4)
    world.settle()
    assert world.actions() == ["START", "UPGRADE"]
    assert len(_actions(world, StopJob)) == 1 and _actions(world, CancelJob) == []
    assert world.status.restored_from == world.status.last_savepoint.path
    assert world.status.history[-1].details.restore_kind is None
