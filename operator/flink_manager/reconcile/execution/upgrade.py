"""Restarts on request, upgrades to a changed JobSpec, and the rollback of an upgrade that failed.

- A bumped `restartNonce` stops the running job (with a savepoint, unless the JobSpec's upgradeMode is stateless)
  and starts the next attempt from it.
- A JobSpec whose effective configuration differs from the running job's (or a changed Artifact digest) is applied
  per `upgradeMode`: `savepoint` stops with a savepoint and restarts from it, `stateless` cancels and restarts
  without state, `manual` waits for a restartNonce (reported as Degraded UpgradePending). With the JobSpec's
  rollout.maxConcurrent, an upgrade begins only once the JobSpec admits this Execution (reconcile/rollout.py).
- The configuration that has run for the rollback window is remembered as stable; when a job fails within that
  window after an upgrade, it is rolled back to the stable configuration, once per failed JobSpec generation.
"""

from __future__ import annotations

from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import ExecutionPhase, ExecutionStatus, OperationType, RollbackStatus, RunConfig
from flink_manager.api.flinkjob import JobState
from flink_manager.api.jobspec import UpgradeMode
from flink_manager.reconcile.execution import laststate
from flink_manager.reconcile.execution.attempts import start_attempt
from flink_manager.reconcile.execution.decision import (
    RECHECK_WHILE_QUEUED,
    BlockedBy,
    Decision,
    RolloutWaiting,
    UpgradePending,
)
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import begin_stop, gave_up
from flink_manager.reconcile.execution.phases import keeps_running
from flink_manager.reconcile.performer import OPERATOR
from flink_manager.reconcile.targets import Blocker, RunTarget

DEFAULT_ROLLBACK_WINDOW = 120  # seconds; the JobSpec's own window applies when it resolves


def restart_on_request(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: the job runs and `restartNonce` was bumped: stop it (with a savepoint unless stateless) to restart."""
    if not keeps_running(inp.spec.state, d.status.phase) or inp.spec.restart_nonce <= d.status.observed_restart_nonce:
        return d
    d = d.update(observed_restart_nonce=inp.spec.restart_nonce)
    target = inp.target
    mode = target.upgrade_mode if isinstance(target, RunTarget) else UpgradeMode.SAVEPOINT
    return begin_stop(inp, d, HistoryAction.RESTART, inp.requested_by, savepoint=mode != UpgradeMode.STATELESS).done()


def apply_job_spec_change(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy: the job runs and the JobSpec now resolves to another job: upgrade per upgradeMode. A JobSpec that
    does not resolve (any more) is reported; the running job is left alone."""
    target, status = inp.target, d.status
    if not keeps_running(inp.spec.state, status.phase):
        return d
    if isinstance(target, Blocker):
        return d.find(BlockedBy(target))
    if target.run_config.same_job(status.run_config):
        return d
    if status.rollback is not None and status.rollback.failed_generation == target.run_config.job_spec_generation:
        return d  # this JobSpec generation was rolled back; wait for the next change
    if target.upgrade_mode == UpgradeMode.MANUAL:
        return d.find(
            UpgradePending(
                f"JobSpec generation {target.run_config.job_spec_generation} differs from the running job "
                f"(generation {status.job_spec_generation}); bump restartNonce to apply it"
            )
        )
    savepoint = target.upgrade_mode == UpgradeMode.SAVEPOINT
    if gave_up(d, OperationType.STOP if savepoint else OperationType.CANCEL):
        return d
    waits = target.rollout.waits(inp.name)
    if waits is not None:
        return d.find(RolloutWaiting(*waits)).requeue(RECHECK_WHILE_QUEUED)
    if target.upgrade_mode == UpgradeMode.LAST_STATE:
        return laststate.begin_last_state(inp, d)
    return begin_stop(inp, d, HistoryAction.UPGRADE, inp.requested_by, savepoint=savepoint).done()


def track_stability(inp: ExecutionInputs, d: Decision) -> Decision:
    """Policy (a note): remember the configuration that has run for the rollback window as the stable one."""
    status, target = d.status, inp.target
    job = inp.job
    if not keeps_running(inp.spec.state, status.phase) or job is None or job.state != JobState.RUNNING:
        return d
    window = target.rollback.window_seconds if isinstance(target, RunTarget) else DEFAULT_ROLLBACK_WINDOW
    if status.run_config is None or status.started_at is None:
        return d
    if status.stable_run_config is not None and status.stable_run_config.same_job(status.run_config):
        return d
    ran_for = (inp.now - status.started_at).total_seconds()
    return d.update(stable_run_config=status.run_config) if ran_for >= window else d.requeue(window - ran_for)


def roll_back_failed_upgrade(inp: ExecutionInputs, d: Decision) -> Decision:
    """A job failed within the rollback window on a configuration that never ran stably: roll back (decided).

    The configuration that last ran for the whole window is `stableRunConfig`; the attempt that failed was restored
    from the upgrade savepoint, which the rolled-back attempt restores from too. Runs once per failed generation: the
    rollback is remembered in status until the JobSpec changes. Without a stable configuration this is only noted.
    """
    target, status = inp.target, d.status
    failed = _failed_upgrade(inp, status)
    if failed is None or not isinstance(target, RunTarget):
        return d
    generation, stable = failed.job_spec_generation, status.stable_run_config
    if stable is None:
        d = d.update(rollback=RollbackStatus(failed_generation=generation, reason="NoStableConfiguration", at=inp.now))
        return d.warn(
            "RollbackImpossible",
            f"JobSpec generation {generation} failed after its upgrade and no earlier configuration ran stably",
        )
    d = d.update(rollback=RollbackStatus(failed_generation=generation, reason="UpgradeFailed", at=inp.now))
    d = d.warn(
        "RollingBack",
        f"JobSpec generation {generation} failed within {target.rollback.window_seconds}s of "
        f"its upgrade; rolling back to generation {stable.job_spec_generation}",
    )
    restore = status.restored_from or (status.last_savepoint.path if status.last_savepoint else None)
    return start_attempt(
        inp, d, HistoryAction.ROLLBACK, OPERATOR, ExecutionPhase.FAILED, restore=restore, run_config=stable
    ).done()


def _failed_upgrade(inp: ExecutionInputs, status: ExecutionStatus) -> RunConfig | None:
    """The configuration of the failed job when its failure is an upgrade's to roll back (None: it is not)."""
    target = inp.target
    if not isinstance(target, RunTarget) or not target.rollback.enabled or status.rollback is not None:
        return None
    current, stable = status.run_config, status.stable_run_config
    if current is None or (stable is not None and stable.same_job(current)):
        return None  # the failed configuration is the stable one: not an upgrade's fault
    if stable is None and status.attempt_action != HistoryAction.UPGRADE:
        return None
    failed_at = status.finished_at or inp.now
    ran_for = (failed_at - status.started_at).total_seconds() if status.started_at else 0.0
    return None if ran_for > target.rollback.window_seconds else current


def clear_rollback_if_spec_changed(status: ExecutionStatus, target: RunTarget | Blocker) -> ExecutionStatus:
    """A rollback is reported until the JobSpec moves past the generation that failed."""
    if status.rollback is None or not isinstance(target, RunTarget):
        return status
    if target.run_config.job_spec_generation != status.rollback.failed_generation:
        return status.model_copy(update={"rollback": None})
    return status
