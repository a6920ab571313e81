"""Random sequences of spec edits, Flink events, crashes and re-runs always converge, safely.

Invariants checked after every step: at most one live Flink job per execution; history entries are
numbered without gaps or duplicates. At the end, with faults cleared: the execution converges to its
desired state, and every savepoint Flink completed for it is recorded in status (or was disposed).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from flink_manager.api import DesiredState, ExecutionPhase
from flink_manager.api.execution import RestartPolicy, RestartPolicyType
from flink_manager.api.flinkjob import JobState
from flink_manager.api.jobspec import UpgradeMode
from flink_manager.reconcile.observations import TriggerState
from tests.unit.reconcile.world import World


class ExecutionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.world.spec = self.world.spec.model_copy(
            update={
                "restart_policy": RestartPolicy(type=RestartPolicyType.ON_FAILURE, backoff_seconds=0, max_restarts=2),
                "savepoint_retries": 1,
            }
        )

    @initialize(started=st.booleans())
    def start(self, started: bool) -> None:
        if started:  # most interesting paths begin with a running job
            self.world.settle()

    # ---- spec edits
    @rule(state=st.sampled_from(list(DesiredState)))
    def set_state(self, state: DesiredState) -> None:
        self.world.edit(state=state)

    @rule()
    def bump_restart_nonce(self) -> None:
        self.world.edit(restart_nonce=self.world.spec.restart_nonce + 1)

    @rule()
    def bump_savepoint_nonce(self) -> None:
        self.world.edit(savepoint_nonce=self.world.spec.savepoint_nonce + 1)

    @rule(parallelism=st.integers(1, 4), mode=st.sampled_from(list(UpgradeMode)))
    def edit_job_spec(self, parallelism: int, mode: UpgradeMode) -> None:
        self.world.edit_job_spec(parallelism=parallelism, upgrade_mode=mode)

    # ---- Flink events
    @rule()
    def fail_current_job(self) -> None:
        job = self.world.flink.jobs.get(self.world.status.flink_job_id or "")
        if job is not None and not job.state.is_globally_terminal:
            job.state, job.failure = JobState.FAILED, "boom"

    @rule()
    def finish_current_job(self) -> None:
        job = self.world.flink.jobs.get(self.world.status.flink_job_id or "")
        if job is not None and job.state == JobState.RUNNING:
            job.state = JobState.FINISHED

    @rule(flag=st.booleans())
    def current_jobs_tasks_run(self, flag: bool) -> None:
        """The job's tasks are (not) all running: deploying, or waiting for slots (savepoints are refused then)."""
        job = self.world.flink.jobs.get(self.world.status.flink_job_id or "")
        if job is not None:
            job.tasks_running = flag

    @rule()
    def restart_cluster(self) -> None:
        self.world.flink.restart_cluster()

    @rule(flag=st.booleans())
    def flink_reachable(self, flag: bool) -> None:
        self.world.flink.unavailable = not flag

    @rule(flag=st.booleans())
    def savepoints_fail(self, flag: bool) -> None:
        self.world.flink.savepoint_fails = flag

    @rule(seconds=st.sampled_from([0.5, 1, 5, 30]))
    def time_passes(self, seconds: float) -> None:
        self.world.tick(seconds)

    # ---- reconciles, including interrupted ones
    @precondition(lambda self: not self.world.released)
    @rule(how=st.sampled_from(["normal", "normal", "crash_before_action", "lose_response", "twice"]))
    def reconcile(self, how: str) -> None:
        if how == "twice":
            first = self.world.decide()
            second = self.world.decide()
            assert first.status == second.status and first.action == second.action, "a re-run decided differently"
            self.world.step()
        else:
            self.world.step(crash_before_action=how == "crash_before_action", lose_response=how == "lose_response")

    @precondition(lambda self: not self.world.released)
    @rule(steps=st.integers(1, 6))
    def reconcile_and_let_time_pass(self, steps: int) -> None:
        for _ in range(steps):
            self.world.step()
            self.world.tick(1)
            if self.world.released:
                return

    # ---- invariants
    @invariant()
    def at_most_one_live_job(self) -> None:
        live = self.world.flink.live_jobs()
        assert len(live) <= 1, f"{len(live)} live jobs: {[(j.job_id, j.state) for j in live]}"

    @invariant()
    def history_is_numbered_without_gaps_or_duplicates(self) -> None:
        status = self.world.status
        seqs = [h.seq for h in status.history]
        assert seqs == list(range(status.history_total - len(seqs) + 1, status.history_total + 1))

    def teardown(self) -> None:
        world = self.world
        if world.released:
            return
        world.flink.unavailable = False
        world.flink.savepoint_fails = False
        for job in world.flink.jobs.values():
            job.tasks_running = True
        world.edit(savepoint_retries=world.spec.savepoint_retries)  # a spec change retries what was given up
        world.settle(max_steps=300)
        status = world.status
        live = world.flink.live_jobs()
        desired = world.spec.state
        if desired == DesiredState.RUNNING:
            assert status.phase in (
                ExecutionPhase.RUNNING,
                ExecutionPhase.FAILED,
                ExecutionPhase.FINISHED,
                ExecutionPhase.CANCELLED,
            ), status.phase
            if status.phase == ExecutionPhase.RUNNING:
                assert [j.job_id for j in live] == [status.flink_job_id]
        else:
            assert not live, f"desired {desired.value} but {len(live)} job(s) live"
        recorded = {s.path for s in status.savepoints} | set(world.flink.disposed)
        if status.last_savepoint is not None:
            recorded.add(status.last_savepoint.path)
        completed = {
            t.location
            for t in world.flink.triggers.values()
            if t.kind in ("stop", "savepoint") and t.state == TriggerState.COMPLETED
        }
        assert completed <= recorded, f"savepoints lost: {completed - recorded}"


ExecutionMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "500")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestExecutionMachine = ExecutionMachine.TestCase
