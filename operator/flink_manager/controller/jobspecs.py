"""Reconciling one JobSpec: validate its references, summarise its executions."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flink_manager.api.execution import ExecutionSpec, ExecutionStatus
from flink_manager.controller.context import ARTIFACT, EXECUTION, FLINK_CLUSTER, JOB_SPEC, OperatorContext
from flink_manager.controller.queue import Outcome
from flink_manager.controller.recording import CONFLICT_REQUEUE, WRITE_ERRORS, after_write_error, write_status
from flink_manager.controller.views import artifact_view, cluster_view, job_spec_view
from flink_manager.kube.client import JOB_SPECS, KubeConflict
from flink_manager.reconcile.jobspec import ExecutionSummary, decide_job_spec
from flink_manager.reconcile.rollout import RESUME_ANNOTATION
from flink_manager.reconcile.targets import resolve_target


async def reconcile_job_spec(ctx: OperatorContext, namespace: str, name: str) -> Outcome:
    body = ctx.cache.get(JOB_SPEC, namespace, name)
    view = job_spec_view(body)
    if body is None or view is None:
        return Outcome()
    artifact = artifact_view(ctx.cache.get(ARTIFACT, namespace, view.spec.artifact_ref.name))
    cluster = cluster_view(ctx.cache.get(FLINK_CLUSTER, namespace, view.spec.cluster_ref.name))
    target = resolve_target(name, view, artifact, cluster)
    executions = [_summary(e) for e in ctx.cache.lookup(EXECUTION, "job-spec", namespace, name)]
    resume = (body["metadata"].get("annotations") or {}).get(RESUME_ANNOTATION)
    status = decide_job_spec(view, target, [e for e in executions if e is not None], ctx.clock(), resume)
    try:
        await write_status(ctx, JOB_SPEC, JOB_SPECS, body, status)
    except KubeConflict:
        # Decided again from the cache, not re-read: a JobSpec read ahead of the watch would show its Executions a
        # spec the watch has not delivered yet, and they would skip an upgrade under way (the stale-state tier).
        return Outcome(requeue_after=CONFLICT_REQUEUE)
    except WRITE_ERRORS as exc:
        return await after_write_error(ctx, JOB_SPEC, namespace, name, exc)
    return Outcome()


def _summary(body: dict[str, Any]) -> ExecutionSummary | None:
    """One Execution of the JobSpec as its status and rollout see it; None when it cannot be read (the CRD schema
    should have refused it; the Execution's own reconcile says so)."""
    try:
        spec = ExecutionSpec.from_wire(body.get("spec"))
        status = ExecutionStatus.from_wire(body.get("status"))
    except ValidationError:
        return None
    metadata = body["metadata"]
    return ExecutionSummary(
        name=metadata["name"],
        created=metadata.get("creationTimestamp") or "",
        phase=status.phase,
        desired=spec.state,
        status=status,
    )
