"""Starting a new attempt: the intent (its deterministic job id) and the call that carries it out (the jar's upload
when the cluster does not have it yet, then the run). Every concern that starts a job comes here: a start, a restart,
an upgrade, a rollback, the resubmission of a job its cluster lost."""

from __future__ import annotations

from typing import Any

from flink_manager.api.common import HistoryAction, RestoreKind
from flink_manager.api.execution import ExecutionPhase, OperationType, PendingOperation, RunConfig
from flink_manager.api.jobspec import ClaimMode
from flink_manager.reconcile.execution.decision import BlockedBy, Decision
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.operations import begin
from flink_manager.reconcile.execution.phases import LIVE_PHASES
from flink_manager.reconcile.ids import derive_job_id
from flink_manager.reconcile.performer import OPERATOR
from flink_manager.reconcile.plans import RunJob, UploadJar
from flink_manager.reconcile.targets import Blocker, RunTarget


def start_attempt(
    inp: ExecutionInputs,
    d: Decision,
    action: HistoryAction,
    by: str,
    old: ExecutionPhase,
    restore: str | None,
    run_config: RunConfig | None = None,
    restore_kind: RestoreKind | None = None,
    reason: str | None = None,
) -> Decision:
    """Record the intent of a new attempt (its deterministic job id) and ask for the jar or the run; `reason` says
    why the operator started it on its own (JobLost), in the history entry that records it.

    Automatic restarts count against restartPolicy.maxRestarts; anything a user asked for resets the count.
    """
    target = inp.target
    if isinstance(target, Blocker):
        d = d.find(BlockedBy(target))
        return d.update(phase=old) if d.status.phase in LIVE_PHASES else d
    config = run_config or target.run_config
    attempt = d.status.attempt + 1
    job_id = derive_job_id(inp.uid, attempt)
    d, pending = begin(
        inp,
        d,
        PendingOperation(
            operation=OperationType.SUBMIT,
            action=action,
            job_id=job_id,
            attempt=attempt,
            restore_from=restore,
            requested_by=by,
            from_phase=old,
            since=inp.now,
            restore_kind=restore_kind if restore is not None else None,
            reason=reason,
        ),
    )
    d = d.update(**_fresh_attempt(inp, action, attempt, job_id, target.cluster, config, restore))
    if by != OPERATOR:
        d = d.update(observed_restart_nonce=inp.spec.restart_nonce, restarts=0)
    return run_or_upload(inp, d, pending)


def _fresh_attempt(
    inp: ExecutionInputs,
    action: HistoryAction,
    attempt: int,
    job_id: str,
    cluster: str,
    config: RunConfig,
    restore: str | None,
) -> dict[str, Any]:
    """The status fields of a new attempt: what it runs where, and nothing left of the attempt before."""
    return {
        "phase": ExecutionPhase.SUBMITTING if action == HistoryAction.START else ExecutionPhase.RESTARTING,
        "attempt": attempt,
        "flink_job_id": job_id,
        "cluster": cluster,
        "run_config": config,
        "job_spec_generation": config.job_spec_generation,
        "jar_id": inp.jar_ids.get(config.artifact_sha256),
        "restored_from": restore,
        "attempt_action": action,
        "started_at": None,
        "finished_at": None,
        "error_message": None,
        "failed_operation": None,
        "flink_restarts": 0,
    }


def run_or_upload(inp: ExecutionInputs, d: Decision, pending: PendingOperation) -> Decision:
    """Run the attempt's job, or first upload its jar when the cluster does not have it."""
    config, cluster = d.status.run_config, d.status.cluster
    assert config is not None and pending.job_id is not None and cluster is not None
    jar_id = inp.jar_ids.get(config.artifact_sha256)
    if jar_id is None:
        return d.act(UploadJar(cluster=cluster, artifact=config.artifact, sha256=config.artifact_sha256))
    return d.update(jar_id=jar_id).act(
        RunJob(
            cluster=cluster,
            jar_id=jar_id,
            job_id=pending.job_id,
            entry_class=config.entry_class,
            parallelism=config.parallelism,
            program_args=config.program_args,
            flink_config=tuple(sorted(config.flink_config.items())),
            savepoint_path=pending.restore_from,
            allow_non_restored_state=config.allow_non_restored_state,
            claim_mode=claim_mode(inp, pending),
        )
    )


def claim_mode(inp: ExecutionInputs, pending: PendingOperation) -> str | None:
    """Who owns the files the attempt restores from: the JobSpec's claimMode; without it CLAIM for the job's own
    retained checkpoint (a last-state upgrade) and Flink's default (NO_CLAIM) for a savepoint. None without a restore."""
    if pending.restore_from is None:
        return None
    if isinstance(inp.target, RunTarget) and inp.target.claim_mode is not None:
        return inp.target.claim_mode
    return ClaimMode.CLAIM.value if pending.restore_kind == RestoreKind.CHECKPOINT else None


def reupload(d: Decision) -> Decision:
    """The cluster no longer has the attempt's jar (a restart without HA): upload it again, replacing the record."""
    config, cluster = d.status.run_config, d.status.cluster
    assert config is not None and cluster is not None
    return d.act(
        UploadJar(
            cluster=cluster, artifact=config.artifact, sha256=config.artifact_sha256, replace_jar_id=d.status.jar_id
        )
    )
