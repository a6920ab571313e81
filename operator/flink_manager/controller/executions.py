"""Reconciling one Execution: gather inputs, observe Flink, decide, record, act. Nothing is decided here."""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

from pydantic import ValidationError

from flink_manager.api.execution import ExecutionSpec, ExecutionStatus
from flink_manager.controller import flinkio, jars
from flink_manager.controller.cache import SPEC_MANAGER
from flink_manager.controller.context import ARTIFACT, EXECUTION, FLINK_CLUSTER, JOB_SPEC, OperatorContext, ref
from flink_manager.controller.queue import Outcome
from flink_manager.controller.recording import patch_metadata, post_events, post_history_events, write_status
from flink_manager.controller.views import artifact_view, cluster_view, job_spec_view, parse_timestamp
from flink_manager.flink.errors import FlinkError
from flink_manager.kube.client import EXECUTIONS, KubeConflict, KubeError, KubeNotFound, KubeUnavailable
from flink_manager.reconcile import execution
from flink_manager.reconcile.observations import ActionError, ActionErrorKind, ActionOutcome, Observation
from flink_manager.reconcile.performer import REQUESTED_BY_ANNOTATION
from flink_manager.reconcile.plans import ReleaseFinalizer, UploadJar, summarize
from flink_manager.reconcile.targets import RunTarget, resolve_target

logger = logging.getLogger("flink_manager")

FINALIZER = "flinkmanager.io/stop-job"
JOB_SPEC_LABEL = "flinkmanager.io/job-spec"
MAX_INLINE_STEPS = 4  # steps taken back to back when one action's result is needed at once (upload → run)
POLLER_WAIT = 0.5  # seconds between looks for a cluster poller that has not started yet


async def reconcile_execution(ctx: OperatorContext, namespace: str, name: str) -> Outcome:
    """One reconcile of an Execution (a few steps when an upload must precede the run)."""
    outcome = Outcome()
    for _ in range(MAX_INLINE_STEPS):
        outcome, again = await _step(ctx, namespace, name)
        if not again:
            break
    return outcome


async def _step(ctx: OperatorContext, namespace: str, name: str) -> tuple[Outcome, bool]:
    key = (EXECUTION, namespace, name)
    body = ctx.cache.get(EXECUTION, namespace, name)
    if body is None:
        ctx.action_errors.pop(key, None)
        return Outcome(), False
    metadata = body["metadata"]
    deleting = bool(metadata.get("deletionTimestamp"))
    if deleting and FINALIZER not in (metadata.get("finalizers") or []):
        return Outcome(), False
    try:
        spec = ExecutionSpec.from_wire(body.get("spec"))
        status = ExecutionStatus.from_wire(body.get("status"))
    except ValidationError as exc:  # the CRD schema should have refused it; say so instead of crashing
        logger.error("Execution %s/%s cannot be read: %s", namespace, name, exc, extra=ref(EXECUTION, namespace, name))
        return Outcome(), False

    job_spec = job_spec_view(ctx.cache.get(JOB_SPEC, namespace, spec.job_spec_ref.name))
    if not deleting:
        body = await _ensure_metadata(ctx, body, spec.job_spec_ref.name)
        if body is None:
            await _refresh(ctx, namespace, name)
            return Outcome(requeue_after=0.2), False

    artifact = cluster = None
    if job_spec is not None:
        artifact = artifact_view(ctx.cache.get(ARTIFACT, namespace, job_spec.spec.artifact_ref.name))
        cluster = cluster_view(ctx.cache.get(FLINK_CLUSTER, namespace, job_spec.spec.cluster_ref.name))
    target = resolve_target(spec.job_spec_ref.name, job_spec, artifact, cluster)

    attempt_live = status.pending is not None or status.phase in execution.LIVE_PHASES
    cluster_name = status.cluster if (attempt_live and status.cluster) else (
        target.cluster if isinstance(target, RunTarget) else status.cluster)
    runtime = ctx.runtimes.get((namespace, cluster_name)) if cluster_name else None
    if runtime is None and cluster_name and _poller_not_started(ctx, namespace, cluster_name):
        # Just started (or resumed): deciding now would call Flink unreachable, or give up restarting a failed
        # job whose checkpoints it has not read. The poller queues this execution when it starts.
        return Outcome(requeue_after=POLLER_WAIT), False
    if runtime is not None:
        try:
            observation = await flinkio.observe(runtime, key, status)
        except flinkio.NotYetObserved:
            return Outcome(requeue_after=runtime.transition_poll_interval), False
    elif attempt_live or (deleting and status.phase in execution.LIVE_PHASES):
        observation = Observation(unavailable=f"FlinkCluster {cluster_name!r} is not available to this operator")
    else:
        observation = Observation()
    error = ctx.action_errors.pop(key, None)
    result = ctx.action_results.pop(key, None)
    last_action = ActionOutcome(error, result) if error is not None or result is not None else None

    artifact_body = ctx.cache.get(ARTIFACT, namespace, status.run_config.artifact if status.run_config else
                                  (job_spec.spec.artifact_ref.name if job_spec else ""))
    jar_ids = jars.jar_ids(artifact_body, cluster_name)
    if isinstance(target, RunTarget) and target.run_config.artifact != (status.run_config.artifact if status.run_config else None):
        jar_ids = {**jars.jar_ids(ctx.cache.get(ARTIFACT, namespace, target.run_config.artifact), target.cluster),
                   **jar_ids}
    annotations = metadata.get("annotations") or {}
    inputs = execution.ExecutionInputs(
        uid=metadata["uid"],
        generation=int(metadata.get("generation") or 1),
        spec=spec,
        status=status,
        requested_by=annotations.get(REQUESTED_BY_ANNOTATION) or annotations.get(SPEC_MANAGER) or "flink-manager",
        target=target,
        jar_ids=jar_ids,
        observation=observation,
        now=ctx.clock(),
        deletion_requested_at=parse_timestamp(metadata.get("deletionTimestamp")),
        deleted_by=annotations.get(REQUESTED_BY_ANNOTATION) or "unknown",
        history_limit=ctx.settings.history_limit,
        last_action=last_action,
    )
    plan = execution.decide(inputs)

    try:
        new_body = await write_status(ctx, EXECUTION, EXECUTIONS, body, plan.status)
    except KubeConflict:
        await _refresh(ctx, namespace, name)
        return Outcome(requeue_after=0.2), False  # a newer version exists: decide again from it
    except KubeNotFound:
        return Outcome(), False
    except KubeUnavailable:
        return Outcome(retry=True), False
    uid = metadata["uid"]
    if uid not in ctx.history_events_checked and status.history:
        # The first reconcile in this process: the Events of the last write before a crash may never have been
        # posted. Post those of that decision's entries that are missing (read first: a quiet start writes nothing).
        newest = status.history[-1].performed_at
        await post_history_events(ctx, EXECUTION, new_body, [h for h in status.history if h.performed_at == newest],
                                  repeat=True)
    ctx.history_events_checked.add(uid)
    new_entries = [h for h in plan.status.history if h.seq > status.history_total]
    await post_history_events(ctx, EXECUTION, new_body, new_entries)
    await post_events(ctx, EXECUTION, new_body, plan.events)
    _track(ctx, key, runtime, plan.status)

    again = False
    if isinstance(plan.action, ReleaseFinalizer):
        try:
            await _release(ctx, new_body)
        except KubeConflict:
            await _refresh(ctx, namespace, name)
            return Outcome(requeue_after=0.2), False  # changed meanwhile: decide again from the newer version
        except KubeUnavailable:
            return Outcome(retry=True), False
        ctx.job_owners_forget(plan.status)
        ctx.history_events_checked.discard(uid)
        return Outcome(), False
    if plan.action is not None:
        if runtime is None:
            ctx.action_errors[key] = ActionError(ActionErrorKind.UNAVAILABLE, f"FlinkCluster {cluster_name!r} is not available")
            return Outcome(retry=True), False
        again = await _act(ctx, key, runtime, plan.action)
    requeue = plan.requeue_after
    if plan.action is not None and runtime is not None and requeue is not None:
        requeue = max(requeue, runtime.transition_poll_interval + 0.05)  # see the effect in the next poll
    return Outcome(requeue_after=requeue, retry=plan.retry), again


async def _act(ctx: OperatorContext, key: Any, runtime: Any, action: Any) -> bool:
    """Perform one action; its error is kept for the next decision. True when the next step should follow at once."""
    started = time.monotonic()
    logger.info("Execution %s/%s on FlinkCluster %s: %s", key[1], key[2], runtime.name, summarize(action),
                extra=ref(EXECUTION, key[1], key[2]))
    try:
        if isinstance(action, UploadJar):
            await jars.upload(ctx, runtime, action)
            return True
        result = await flinkio.perform(runtime, action)
        if result is not None:
            ctx.action_results[key] = result
        runtime.poke()
    except FlinkError as exc:
        ctx.action_errors[key] = flinkio.action_error(exc)
        logger.info("%s for Execution %s/%s on FlinkCluster %s failed: %s", type(action).__name__, key[1], key[2],
                    runtime.name, exc.message, extra=ref(EXECUTION, key[1], key[2]))
        return False
    except jars.UploadFailed as exc:
        ctx.action_errors[key] = exc.error
        return True
    finally:
        runtime.last_action_at[key] = time.monotonic() if not isinstance(action, UploadJar) else started
    return False


async def _refresh(ctx: OperatorContext, namespace: str, name: str) -> None:
    """After a conflict, read the newer version: the cache may lag behind the API (a slow or stalled watch), and
    deciding again from it would only conflict again, every 0.2 s, until the watch catches up."""
    try:
        ctx.cache.put(EXECUTION, await ctx.kube.get(EXECUTIONS, namespace, name))
    except KubeError:
        pass  # gone or unreachable: the watch or the next retry tells


def _poller_not_started(ctx: OperatorContext, namespace: str, cluster: str) -> bool:
    """The FlinkCluster exists but its poller has not started in this process yet."""
    body = ctx.cache.get(FLINK_CLUSTER, namespace, cluster)
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (namespace, cluster) not in ctx.pollers_started


def _track(ctx: OperatorContext, key: Any, runtime: Any, status: ExecutionStatus) -> None:
    """Keep the poller's job-id → execution map and the set of executions in transition current."""
    for job_id in (status.flink_job_id, status.pending.job_id if status.pending else None):
        if job_id:
            ctx.job_owners[job_id] = key
    if runtime is not None:
        if status.pending is not None:
            runtime.in_transition.add(key)
        else:
            runtime.in_transition.discard(key)


async def _ensure_metadata(ctx: OperatorContext, body: dict[str, Any], job_spec_name: str) -> dict[str, Any] | None:
    """The finalizer, the job-spec label and the owner reference to the JobSpec, in one write when missing."""
    metadata = body["metadata"]
    patch: dict[str, Any] = {}
    finalizers = list(metadata.get("finalizers") or [])
    if FINALIZER not in finalizers:
        patch["finalizers"] = [*finalizers, FINALIZER]
    if (metadata.get("labels") or {}).get(JOB_SPEC_LABEL) != job_spec_name:
        patch["labels"] = {JOB_SPEC_LABEL: job_spec_name}
    owner = ctx.cache.get(JOB_SPEC, metadata.get("namespace") or "", job_spec_name)
    owners = list(metadata.get("ownerReferences") or [])
    if owner is not None:
        owner_uid = owner["metadata"]["uid"]
        if not any(ref.get("uid") == owner_uid for ref in owners):
            patch["ownerReferences"] = [*owners, {
                "apiVersion": owner.get("apiVersion", "flinkmanager.io/v1alpha1"), "kind": "JobSpec",
                "name": job_spec_name, "uid": owner_uid, "blockOwnerDeletion": True,
            }]
    if not patch:
        return body
    try:
        return await patch_metadata(ctx, EXECUTION, EXECUTIONS, body, patch)
    except (KubeConflict, KubeUnavailable):
        return None
    except KubeError as exc:
        logger.warning("could not set metadata of Execution %s: %s", metadata.get("name"), exc,
                       extra=ref(EXECUTION, metadata.get("namespace"), metadata.get("name")))
        return body


async def _release(ctx: OperatorContext, body: dict[str, Any]) -> None:
    metadata = body["metadata"]
    finalizers = [f for f in metadata.get("finalizers") or [] if f != FINALIZER]
    try:
        await patch_metadata(ctx, EXECUTION, EXECUTIONS, body, {"finalizers": finalizers})
    except KubeNotFound:
        pass


def deletion_time(body: dict[str, Any]) -> datetime.datetime | None:
    return parse_timestamp((body.get("metadata") or {}).get("deletionTimestamp"))
