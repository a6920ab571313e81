"""A crash at any step of any flow — before a Flink call, or after it with the response lost — changes nothing
a user can see: the same history, the same end state, one live job at most."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flink_manager.api import DesiredState
from flink_manager.api.common import RestoreKind
from flink_manager.api.jobspec import UpgradeMode
from tests.unit.reconcile.world import World

Flow = Callable[[World], None]


def start(world: World) -> None:
    pass


def stop(world: World) -> None:
    world.edit(state=DesiredState.STOPPED)


def cancel(world: World) -> None:
    world.edit(state=DesiredState.CANCELLED)


def restart(world: World) -> None:
    world.edit(restart_nonce=1)


def savepoint(world: World) -> None:
    world.edit(savepoint_nonce=1)


def upgrade(world: World) -> None:
    world.edit_job_spec(parallelism=3)


def last_state_upgrade(world: World) -> None:
    world.job_spec = world.job_spec.model_copy(update={"upgrade_mode": UpgradeMode.LAST_STATE})
    world.edit_job_spec(parallelism=3)


def delete(world: World) -> None:
    world.deletion_requested_at = world.now


FLOWS: dict[str, tuple[bool, Flow]] = {  # name: (starts from a running execution, change)
    "start": (False, start),
    "stop": (True, stop),
    "cancel": (True, cancel),
    "restart": (True, restart),
    "savepoint": (True, savepoint),
    "upgrade": (True, upgrade),
    "last-state-upgrade": (True, last_state_upgrade),
    "delete": (True, delete),
}


def run_flow(name: str, crash_at: int | None = None, mode: str = "") -> tuple[World, int]:
    prepared, change = FLOWS[name]
    world = World()
    if prepared:
        world.settle()
    change(world)
    steps = 0
    for _ in range(80):
        if world.released:
            break
        before = world.status
        crash = steps == crash_at
        plan = world.step(crash_before_action=crash and mode == "before", lose_response=crash and mode == "lost")
        steps += 1
        assert len(world.flink.live_jobs()) <= 1
        if plan.action is None and plan.status == before and plan.status.pending is None and not plan.retry:
            break
        world.tick(1)
    return world, steps


def observable(world: World) -> tuple[object, ...]:
    """What a user can compare between two runs: actions, phases and outcome (not times, ids or paths)."""
    status = world.status
    history = [
        (h.action.value, h.old_status, h.new_status, h.performed_by, h.details.error is None) for h in status.history
    ]
    return (status.phase, world.released, history, status.attempt, len(status.savepoints), len(world.flink.live_jobs()))


@pytest.mark.parametrize("mode", ["before", "lost"])
@pytest.mark.parametrize("flow", list(FLOWS))
def test_a_crash_at_every_step_converges_to_the_reference(flow: str, mode: str) -> None:
    reference, steps = run_flow(flow)
    assert steps >= 2
    for crash_at in range(steps):
        world, _ = run_flow(flow, crash_at=crash_at, mode=mode)
        assert observable(world) == observable(reference), f"crash {mode} step {crash_at} of {flow}"
        completed = {t.location for t in world.flink.triggers.values() if t.location and t.kind != "dispose"}
        assert completed <= {s.path for s in world.status.savepoints} | set(world.flink.disposed) | (
            {world.status.history[-1].details.savepoint_path} if world.released else set()
        )


def test_the_last_state_flow_upgrades_from_a_checkpoint_with_one_cancel() -> None:
    world, _ = run_flow("last-state-upgrade")
    assert world.actions() == ["START", "UPGRADE"]
    assert world.status.history[-1].details.restore_kind == RestoreKind.CHECKPOINT
    assert world.status.restored_from is not None and world.status.restored_from.startswith("file:/chk/")
    assert not [t for t in world.flink.triggers.values() if t.kind != "dispose"]  # no savepoint was taken
