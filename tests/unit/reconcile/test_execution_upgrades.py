"""Upgrades of a running Execution: the savepoint and restore options a JobSpec sets."""

from __future__ import annotations

from flink_manager.api.jobspec import ClaimMode, SavepointFormatType
from flink_manager.reconcile.plans import RunJob, StopJob, TriggerSavepoint
from tests.unit.reconcile.world import World


def _actions(world: World, kind: type) -> list:
    return [plan.action for plan in world.plans if isinstance(plan.action, kind)]


def test_the_job_specs_savepoint_format_and_claim_mode_reach_the_stop_and_the_restoring_run() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={
        "savepoint_format_type": SavepointFormatType.NATIVE, "claim_mode": ClaimMode.CLAIM})
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
        None, None]
    assert all(run.claim_mode is None for run in _actions(world, RunJob))
