"""Reconciling one Execution, as a fixed pipeline of small stages; nothing is decided here.

gather   the Execution from the cache, its references validated into a run target (or the Blocker found)
observe  Flink, as far as the decision needs it (flinkio), and what the last Flink call left for it
decide   `reconcile.execution.decide`: the new status, at most one action, Events, when to look again
record   the status (only when it changed), the new history entries and Events
act      the Flink call (or the finalizer's release); what it returns is kept for the next decision
outcome  what the work queue does next
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flink_manager.api.execution import ExecutionSpec, ExecutionStatus
from flink_manager.controller import flinkio, jars
from flink_manager.controller.cache import SPEC_MANAGER
from flink_manager.controller.context import ARTIFACT, EXECUTION, FLINK_CLUSTER, JOB_SPEC, OperatorContext, WorkKey, ref
from flink_manager.controller.metadata import (
    FINALIZER,
    FIRST_ATTEMPT,
    first_attempt_intent,
    missing_metadata,
    status_with_intent,
)
from flink_manager.controller.queue import Outcome
from flink_manager.controller.recording import (
    WRITE_ERRORS,
    after_write_error,
    patch_metadata,
    post_events,
    post_history_events,
    write_status,
)
from flink_manager.controller.runtime import ClusterRuntime
from flink_manager.controller.views import artifact_view, cluster_view, job_spec_view, parse_timestamp
from flink_manager.flink.errors import FlinkError, FlinkJarNotFound
from flink_manager.kube.client import EXECUTIONS, KubeConflict, KubeError, KubeForbidden, KubeNotFound, KubeUnavailable
from flink_manager.reconcile import execution
from flink_manager.reconcile.observations import ActionError, ActionErrorKind, ActionOutcome, Observation
from flink_manager.reconcile.performer import OPERATOR, REQUESTED_BY_ANNOTATION
from flink_manager.reconcile.plans import Action, Plan, ReleaseFinalizer, RunJob, UploadJar, summarize
from flink_manager.reconcile.targets import Blocker, JobSpecView, RunTarget, resolve_target

logger = logging.getLogger("flink_manager")

MAX_INLINE_STEPS = 4  # steps taken back to back when one action's result is needed at once (upload → run)
POLLER_WAIT = 0.5  # seconds between looks for a cluster poller that has not started yet


@dataclass(frozen=True)
class Gathered:
    """One Execution as this step found it: its body, parsed spec and status, resolved target and cluster."""

    key: WorkKey
    body: dict[str, Any]
    spec: ExecutionSpec
    status: ExecutionStatus
    job_spec: JobSpecView | None
    target: RunTarget | Blocker
    cluster: str | None  # where the current attempt runs, or where a new one would
    runtime: ClusterRuntime | None
    missing_metadata: dict[str, Any]  # the finalizer, label or owner reference still to write (record does)
    intent_pending: bool  # the status is read through the first attempt's intent, which it does not record yet

    @property
    def metadata(self) -> dict[str, Any]:
        return self.body["metadata"]

    @property
    def deleting(self) -> bool:
        return bool(self.metadata.get("deletionTimestamp"))

    @property
    def attempt_live(self) -> bool:
        return _attempt_live(self.status)


async def reconcile_execution(ctx: OperatorContext, namespace: str, name: str) -> Outcome:
    """One reconcile of an Execution (a few steps when an upload must precede the run)."""
    outcome = Outcome()
    for _ in range(MAX_INLINE_STEPS):
        outcome, again = await _step(ctx, namespace, name)
        if not again:
            break
    return outcome


async def _step(ctx: OperatorContext, namespace: str, name: str) -> tuple[Outcome, bool]:
    """One pass of the pipeline; True when the next step should follow at once. A stage that ends the step early
    returns the Outcome to end it with."""
    gathered = await gather(ctx, namespace, name)
    if isinstance(gathered, Outcome):
        return gathered, False
    observation = await observe(gathered)
    if isinstance(observation, Outcome):
        return observation, False
    plan = execution.decide(inputs_of(ctx, gathered, observation, ctx.last_actions.take(gathered.key)))
    body = await record(ctx, gathered, plan)
    if isinstance(body, Outcome):
        return body, False
    return await act(ctx, gathered, plan, body)


# ---------------------------------------------------------------------------------------------------------- gather


async def gather(ctx: OperatorContext, namespace: str, name: str) -> Gathered | Outcome:
    """The Execution from the cache (its status seen through a first attempt's intent not recorded in it yet, and
    the metadata it lacks), its target, its cluster's runtime."""
    key = (EXECUTION, namespace, name)
    body = ctx.cache.get(EXECUTION, namespace, name)
    if body is None:
        ctx.last_actions.take(key)  # gone: nothing is decided about it any more
        return Outcome()
    metadata = body["metadata"]
    deleting = bool(metadata.get("deletionTimestamp"))
    if deleting and FINALIZER not in (metadata.get("finalizers") or []):
        return Outcome()
    try:
        spec = ExecutionSpec.from_wire(body.get("spec"))
        seen = status_with_intent(body)
        status = ExecutionStatus.from_wire(seen)
    except ValidationError as exc:  # the CRD schema should have refused it; say so instead of crashing
        logger.error("Execution %s/%s cannot be read: %s", namespace, name, exc, extra=ref(EXECUTION, namespace, name))
        return Outcome()
    job_spec_body = ctx.cache.get(JOB_SPEC, namespace, spec.job_spec_ref.name)
    job_spec = job_spec_view(job_spec_body)
    missing = {} if deleting else missing_metadata(body, spec.job_spec_ref.name, job_spec_body)
    target = validate(ctx, namespace, spec, job_spec)
    cluster = (
        status.cluster
        if (_attempt_live(status) and status.cluster)
        else (target.cluster if isinstance(target, RunTarget) else status.cluster)
    )
    runtime = ctx.runtimes.get((namespace, cluster)) if cluster else None
    if runtime is None and cluster and _poller_not_started(ctx, namespace, cluster):
        # Just started (or resumed): deciding now would call Flink unreachable, or give up restarting a failed
        # job whose checkpoints it has not read. The poller queues this execution when it starts.
        return Outcome(requeue_after=POLLER_WAIT)
    return Gathered(
        key, body, spec, status, job_spec, target, cluster, runtime, missing, seen is not body.get("status")
    )


def _attempt_live(status: ExecutionStatus) -> bool:
    """An operation is in flight, or the current attempt's job may be alive: its cluster is the one to ask."""
    return status.pending is not None or status.phase in execution.LIVE_PHASES


def validate(
    ctx: OperatorContext, namespace: str, spec: ExecutionSpec, job_spec: JobSpecView | None
) -> RunTarget | Blocker:
    """What a new attempt would run (JobSpec + Artifact + FlinkCluster), or the first problem with the references."""
    artifact = cluster = None
    if job_spec is not None:
        artifact = artifact_view(ctx.cache.get(ARTIFACT, namespace, job_spec.spec.artifact_ref.name))
        cluster = cluster_view(ctx.cache.get(FLINK_CLUSTER, namespace, job_spec.spec.cluster_ref.name))
    return resolve_target(spec.job_spec_ref.name, job_spec, artifact, cluster)


def _poller_not_started(ctx: OperatorContext, namespace: str, cluster: str) -> bool:
    """The FlinkCluster exists but its poller has not started in this process yet."""
    body = ctx.cache.get(FLINK_CLUSTER, namespace, cluster)
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (namespace, cluster) not in ctx.pollers_started


# --------------------------------------------------------------------------------------------------------- observe


async def observe(g: Gathered) -> Observation | Outcome:
    """Flink, as far as the decision needs it; waits for the next poll when the last is older than the last action."""
    if g.runtime is not None:
        try:
            return await flinkio.observe(g.runtime, g.key, g.status)
        except flinkio.NotYetObserved:
            return Outcome(requeue_after=g.runtime.transition_poll_interval)
    if g.attempt_live or (g.deleting and g.status.phase in execution.LIVE_PHASES):
        return Observation(unavailable=f"FlinkCluster {g.cluster!r} is not available to this operator")
    return Observation()


def inputs_of(
    ctx: OperatorContext, g: Gathered, observation: Observation, last_action: ActionOutcome | None
) -> execution.ExecutionInputs:
    """Everything the decision reads, with `now` from the operator's clock."""
    annotations = g.metadata.get("annotations") or {}
    return execution.ExecutionInputs(
        uid=g.metadata["uid"],
        generation=int(g.metadata.get("generation") or 1),
        spec=g.spec,
        status=g.status,
        requested_by=annotations.get(REQUESTED_BY_ANNOTATION) or annotations.get(SPEC_MANAGER) or OPERATOR,
        target=g.target,
        jar_ids=_jar_ids(ctx, g),
        observation=observation,
        now=ctx.clock(),
        deletion_requested_at=parse_timestamp(g.metadata.get("deletionTimestamp")),
        deleted_by=annotations.get(REQUESTED_BY_ANNOTATION) or "unknown",
        history_limit=ctx.settings.history_limit,
        name=g.key[2],
        last_action=last_action,
    )


def _jar_ids(ctx: OperatorContext, g: Gathered) -> dict[str, str]:
    """sha256 → jar id of the current attempt's artifact on its cluster, and of the target's artifact on its own."""
    namespace, status, target = g.key[1], g.status, g.target
    current = status.run_config.artifact if status.run_config else None
    fallback = g.job_spec.spec.artifact_ref.name if g.job_spec else ""
    found = jars.jar_ids(ctx.cache.get(ARTIFACT, namespace, current or fallback), g.cluster)
    missing = g.runtime.missing_jars if g.runtime is not None else set()
    if isinstance(target, RunTarget) and target.run_config.artifact != current:
        found = {
            **jars.jar_ids(ctx.cache.get(ARTIFACT, namespace, target.run_config.artifact), target.cluster),
            **found,
        }
        other = ctx.runtimes.get((namespace, target.cluster))
        missing = missing | (other.missing_jars if other is not None else set())
    return {sha: jar_id for sha, jar_id in found.items() if jar_id not in missing}


# ---------------------------------------------------------------------------------------------------------- record


async def record(ctx: OperatorContext, g: Gathered, plan: Plan[ExecutionStatus]) -> dict[str, Any] | Outcome:
    """Write the status when it changed, post the new history entries and Events, keep the poller's maps current."""
    try:
        body, intent_written = await write_metadata(ctx, g, plan)
        if not intent_written and not (g.intent_pending and plan.status == g.status):
            body = await write_status(ctx, EXECUTION, EXECUTIONS, body, plan.status)
    except WRITE_ERRORS as exc:
        return await after_write_error(ctx, EXECUTION, g.key[1], g.key[2], exc)
    uid = g.metadata["uid"]
    if uid not in ctx.history_events_checked and g.status.history:
        # The first reconcile in this process: the Events of the last write before a crash may never have been
        # posted. Post those of that decision's entries that are missing (read first: a quiet start writes nothing).
        newest = g.status.history[-1].performed_at
        await post_history_events(
            ctx, EXECUTION, body, [h for h in g.status.history if h.performed_at == newest], repeat=True
        )
    if uid not in ctx.history_events_checked:
        ctx.history_events_checked.add(uid)
        ctx.metrics.executions_decided.inc()
    await post_history_events(ctx, EXECUTION, body, [h for h in plan.status.history if h.seq > g.status.history_total])
    await post_events(ctx, EXECUTION, body, plan.events)
    for job_id in (plan.status.flink_job_id, plan.status.pending.job_id if plan.status.pending else None):
        if job_id:
            ctx.job_owners[job_id] = g.key  # the poller wakes this execution when the job changes
    if g.runtime is not None:
        g.runtime.track_transition(g.key, plan.status.pending is not None)
    return body


async def write_metadata(ctx: OperatorContext, g: Gathered, plan: Plan[ExecutionStatus]) -> tuple[dict[str, Any], bool]:
    """Add the missing finalizer, label and owner reference in one write, before any Flink call; when the plan starts
    the first attempt, its intent rides on that write (metadata.py) instead of a status write of its own. Returns the
    body as written and whether the intent was. A conflict or an unavailable API propagates (the step ends); refused
    for another reason, the step goes on without the metadata (and the status records the intent)."""
    if not g.missing_metadata:
        return g.body, False
    patch = dict(g.missing_metadata)
    intent = first_attempt_intent(g.body.get("status"), g.status, plan.status)
    if intent is not None:
        patch["annotations"] = {FIRST_ATTEMPT: intent}
    try:
        return await patch_metadata(ctx, EXECUTION, EXECUTIONS, g.body, patch), intent is not None
    except WRITE_ERRORS:
        raise
    except KubeError as exc:
        logger.warning("could not set metadata of Execution %s: %s", g.key[2], exc, extra=ref(*g.key))
        return g.body, False


# ------------------------------------------------------------------------------------------------ act and outcome


async def act(
    ctx: OperatorContext, g: Gathered, plan: Plan[ExecutionStatus], body: dict[str, Any]
) -> tuple[Outcome, bool]:
    """Make the plan's call; the step's outcome, and whether the next step should follow at once."""
    if isinstance(plan.action, ReleaseFinalizer):
        return await release(ctx, g, plan.status, body), False
    again = False
    if plan.action is not None:
        if g.runtime is None:
            error = ActionError(ActionErrorKind.UNAVAILABLE, f"FlinkCluster {g.cluster!r} is not available")
            ctx.last_actions.keep(g.key, ActionOutcome(error=error))
            return Outcome(retry=True), False
        again = await call_flink(ctx, g.key, g.runtime, plan.action)
    return outcome(g, plan), again


def outcome(g: Gathered, plan: Plan[ExecutionStatus]) -> Outcome:
    """When to look again: as the plan asks, but after an action not before the poll that can show its effect."""
    requeue = plan.requeue_after
    if plan.action is not None and g.runtime is not None and requeue is not None:
        requeue = max(requeue, g.runtime.transition_poll_interval + 0.05)
    return Outcome(requeue_after=requeue, retry=plan.retry)


async def call_flink(ctx: OperatorContext, key: WorkKey, runtime: ClusterRuntime, action: Action) -> bool:
    """Make one Flink call (or the jar's upload), keeping what it left for the next decision. True when the next step
    should follow at once (after an upload, the run)."""
    started = runtime.now()
    logger.info(
        "Execution %s/%s on FlinkCluster %s: %s",
        key[1],
        key[2],
        runtime.name,
        summarize(action),
        extra=ref(EXECUTION, key[1], key[2]),
    )
    try:
        if isinstance(action, UploadJar):
            await jars.upload(ctx, runtime, action)
            return True
        trigger_id = await flinkio.perform(runtime, action)
        if trigger_id is not None:
            ctx.last_actions.keep(key, ActionOutcome(disposal_trigger_id=trigger_id))
        runtime.poke()
    except FlinkError as exc:
        if isinstance(exc, FlinkJarNotFound) and isinstance(action, RunJob):
            runtime.missing_jars.add(action.jar_id)  # the others wanting it upload first, instead of failing too
        ctx.last_actions.keep(key, ActionOutcome(error=flinkio.action_error(exc)))
        logger.info(
            "%s for Execution %s/%s on FlinkCluster %s failed: %s",
            type(action).__name__,
            key[1],
            key[2],
            runtime.name,
            exc.message,
            extra=ref(EXECUTION, key[1], key[2]),
        )
        return False
    except jars.UploadFailed as exc:
        ctx.last_actions.keep(key, ActionOutcome(error=exc.error))
        return True
    finally:
        # An upload's effect (a run) follows; any other call's effect shows in polls that began after it returned.
        runtime.mark_action(key, started if isinstance(action, UploadJar) else None)
    return False


async def release(ctx: OperatorContext, g: Gathered, status: ExecutionStatus, body: dict[str, Any]) -> Outcome:
    """Remove the operator's finalizer: the deletion may complete. The execution's job ids are forgotten."""
    finalizers = [f for f in body["metadata"].get("finalizers") or [] if f != FINALIZER]
    try:
        await patch_metadata(ctx, EXECUTION, EXECUTIONS, body, {"finalizers": finalizers})
    except KubeNotFound:
        pass  # gone already: what releasing wanted
    except (KubeConflict, KubeUnavailable, KubeForbidden) as exc:
        return await after_write_error(ctx, EXECUTION, g.key[1], g.key[2], exc)
    ctx.job_owners_forget(status)
    ctx.history_events_checked.discard(g.metadata["uid"])
    return Outcome()
