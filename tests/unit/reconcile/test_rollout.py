"""Rollouts: the JobSpec admits at most maxConcurrent Executions to upgrade at once, and pauses on a failure."""

from __future__ import annotations

import datetime

from flink_manager.api import ExecutionPhase
from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import (
    DesiredState,
    ExecutionStatus,
    OperationType,
    PendingOperation,
    RollbackStatus,
)
from flink_manager.api.jobspec import JobSpecSpec, JobSpecStatus, RolloutSpec
from flink_manager.reconcile.rollout import RolloutMember, decide_rollout
from flink_manager.reconcile.targets import RunTarget
from tests.unit.reconcile.world import T0, World

MAX = 5


def _target(world: World) -> RunTarget:
    target = world.inputs().target
    assert isinstance(target, RunTarget)
    return target


class Fleet:
    """50 Executions running generation 1 of one JobSpec; each admitted one upgrades in two steps (stop, run)."""

    def __init__(self, size: int = 50, max_concurrent: int | None = MAX) -> None:
        self.world = World()
        self.world.job_spec = self.world.job_spec.model_copy(
            update={"rollout": RolloutSpec(max_concurrent=max_concurrent)}
        )
        self.world.settle()
        running = self.world.status
        self.statuses = {f"e-{i:02d}": running for i in range(size)}
        self.job_spec_status = JobSpecStatus()
        self.generation = 1
        self.failing: set[str] = set()

    @property
    def spec(self) -> JobSpecSpec:
        return self.world.job_spec

    def change(self, **changes: object) -> None:
        self.world.edit_job_spec(**changes)
        self.generation = self.world.job_spec_generation

    def decide(self, resume: str | None = None) -> None:
        members = [RolloutMember(name, DesiredState.RUNNING, status) for name, status in self.statuses.items()]
        rollout = decide_rollout(
            self.spec,
            self.job_spec_status,
            self.generation,
            _target(self.world),
            members,
            resume,
            T0 + datetime.timedelta(minutes=1),
        )
        self.job_spec_status = self.job_spec_status.model_copy(update={"rollout": rollout})

    def step(self) -> int:
        """Each admitted Execution makes one step of its upgrade; returns how many have their job stopped after it."""
        target = _target(self.world)
        for name in self.job_spec_status.rollout.admitted:
            status = self.statuses[name]
            if status.pending is None and status.rollback is None and not target.run_config.same_job(status.run_config):
                self.statuses[name] = status.model_copy(
                    update={
                        "phase": ExecutionPhase.STOPPING,
                        "pending": PendingOperation(
                            operation=OperationType.STOP,
                            action=HistoryAction.UPGRADE,
                            requested_by="operator",
                            from_phase=ExecutionPhase.RUNNING,
                            since=T0,
                        ),
                    }
                )
            elif status.pending is not None and name in self.failing:
                self.statuses[name] = status.model_copy(
                    update={
                        "phase": ExecutionPhase.RUNNING,
                        "pending": None,
                        "rollback": RollbackStatus(failed_generation=self.generation, reason="UpgradeFailed", at=T0),
                    }
                )
            elif status.pending is not None:
                self.statuses[name] = status.model_copy(
                    update={
                        "phase": ExecutionPhase.RUNNING,
                        "pending": None,
                        "run_config": target.run_config,
                        "job_spec_generation": self.generation,
                    }
                )
        return sum(1 for status in self.statuses.values() if status.pending is not None)


def test_at_most_max_concurrent_executions_upgrade_at_once_until_all_are_updated() -> None:
    fleet = Fleet()
    fleet.decide()
    assert fleet.job_spec_status.rollout.progress == "50/50" and fleet.job_spec_status.rollout.admitted == ()
    fleet.change(parallelism=4)
    stopped_at_once = []
    for _ in range(100):
        fleet.decide()
        assert len(fleet.job_spec_status.rollout.admitted) <= MAX
        stopped_at_once.append(fleet.step())
        if fleet.job_spec_status.rollout.updated == 50:
            break
    fleet.decide()
    rollout = fleet.job_spec_status.rollout
    assert rollout.progress == "50/50" and rollout.admitted == () and rollout.paused is None
    assert max(stopped_at_once) == MAX  # the bound is used, and never passed
    assert len(stopped_at_once) >= 50 // MAX * 2


def test_without_max_concurrent_nobody_waits() -> None:
    fleet = Fleet(max_concurrent=None)
    fleet.change(parallelism=4)
    fleet.decide()
    assert fleet.job_spec_status.rollout.admitted == ()
    assert fleet.job_spec_status.rollout.progress == "0/50"
    assert _target(fleet.world).rollout.waits("e-00") is None


def test_a_failed_upgrade_pauses_the_rollout_until_resumed_and_a_new_generation_starts_afresh() -> None:
    fleet = Fleet()
    fleet.change(parallelism=4)
    fleet.failing = {"e-02"}
    for _ in range(10):
        fleet.decide()
        fleet.step()
    rollout = fleet.job_spec_status.rollout
    assert rollout.paused is not None and rollout.paused.execution == "e-02"
    assert rollout.failed == ("e-02",) and rollout.admitted == ()
    assert rollout.updated == 4  # the four admitted with it finished; nobody more began
    fleet.decide()
    fleet.step()
    assert fleet.job_spec_status.rollout.updated == 4
    fleet.decide(resume="1")
    rollout = fleet.job_spec_status.rollout
    assert rollout.paused is None and rollout.resumed_with == "1" and len(rollout.admitted) == MAX
    assert "e-02" not in rollout.admitted
    fleet.change(parallelism=6)
    fleet.failing = set()
    fleet.decide(resume="1")
    rollout = fleet.job_spec_status.rollout
    assert rollout.generation == fleet.generation and rollout.failed == () and rollout.paused is None


def test_an_execution_waits_for_its_admission_then_upgrades() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={"rollout": RolloutSpec(max_concurrent=1)})
    world.settle()
    world.edit_job_spec(parallelism=4)
    world.settle()
    assert world.status.attempt == 1 and world.status.pending is None  # not admitted: the job is left running
    progressing = next(c for c in world.status.conditions if c.type == "Progressing")
    assert (progressing.status.value, progressing.reason) == ("True", "RolloutQueued")
    rollout = world.job_spec_status.rollout.model_copy(
        update={"generation": world.job_spec_generation, "admitted": ("other",), "paused": None}
    )
    world.job_spec_status = world.job_spec_status.model_copy(update={"rollout": rollout})
    world.settle()
    assert world.status.attempt == 1
    world.job_spec_status = world.job_spec_status.model_copy(
        update={"rollout": rollout.model_copy(update={"admitted": (world.name,)})}
    )
    world.settle()
    assert world.actions() == ["START", "UPGRADE"]
    assert world.flink.jobs[world.status.flink_job_id].config["parallelism"] == 4


def test_an_execution_of_a_paused_rollout_says_so_and_is_not_progressing() -> None:
    world = World()
    world.job_spec = world.job_spec.model_copy(update={"rollout": RolloutSpec(max_concurrent=1)})
    world.settle()
    world.edit_job_spec(parallelism=4)
    members = [
        RolloutMember(
            "failed-one",
            DesiredState.RUNNING,
            ExecutionStatus(
                phase=ExecutionPhase.RUNNING,
                rollback=RollbackStatus(failed_generation=world.job_spec_generation, reason="UpgradeFailed", at=T0),
            ),
        )
    ]
    status = JobSpecStatus.model_validate(
        {"rollout": {"generation": world.job_spec_generation, "admitted": ["failed-one"]}}
    )
    rollout = decide_rollout(world.job_spec, status, world.job_spec_generation, _target(world), members, None, T0)
    assert rollout.paused is not None and rollout.paused.reason == "UpgradeFailed"
    world.job_spec_status = world.job_spec_status.model_copy(update={"rollout": rollout})
    world.settle()
    progressing = next(c for c in world.status.conditions if c.type == "Progressing")
    assert (progressing.status.value, progressing.reason) == ("False", "RolloutPaused")
    assert "failed-one was rolled back" in progressing.message
    assert world.status.attempt == 1
