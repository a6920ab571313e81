"""Reconciling one Artifact: fetch and verify it; keep it while a JobSpec uses it; clean up its jars."""

from __future__ import annotations

import logging
from typing import Any

from flink_manager.api.artifact import ArtifactStatus
from flink_manager.artifacts.fetch import ArtifactError
from flink_manager.controller.context import ARTIFACT, JOB_SPEC, OperatorContext, ref
from flink_manager.controller.queue import Outcome
from flink_manager.controller.recording import (
    WRITE_ERRORS,
    after_write_error,
    patch_metadata,
    post_events,
    write_status,
)
from flink_manager.controller.views import artifact_view
from flink_manager.flink.errors import FlinkError, FlinkJarNotFound
from flink_manager.kube.client import ARTIFACTS
from flink_manager.reconcile.artifact import FetchResult, decide_artifact, needs_fetch, url_refusal, without_uploads
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.plans import EventRecord

logger = logging.getLogger("flink_manager")

FINALIZER = "flinkmanager.io/artifact-in-use"


async def reconcile_artifact(ctx: OperatorContext, namespace: str, name: str) -> Outcome:
    body = ctx.cache.get(ARTIFACT, namespace, name)
    view = artifact_view(body)
    if body is None or view is None:
        return Outcome()
    metadata = body["metadata"]
    try:
        if metadata.get("deletionTimestamp"):
            return await _deleting(ctx, body)
        finalizers = list(metadata.get("finalizers") or [])
        if FINALIZER not in finalizers:
            body = await patch_metadata(ctx, ARTIFACT, ARTIFACTS, body, {"finalizers": [*finalizers, FINALIZER]})
        if not needs_fetch(view):
            return Outcome()
        result = await _verify(ctx, view.spec.url, view.spec.sha256)
        status = decide_artifact(view, result, ctx.clock())
        body = await write_status(ctx, ARTIFACT, ARTIFACTS, body, status)
        if result.failure is not None:
            await post_events(ctx, ARTIFACT, body, [EventRecord("Warning", result.failure_reason or "FetchFailed", result.failure)])
        return Outcome(retry=result.retryable)
    except WRITE_ERRORS as exc:
        return await after_write_error(ctx, ARTIFACT, namespace, name, exc)


async def _verify(ctx: OperatorContext, url: str, sha256: str) -> FetchResult:
    refusal = url_refusal(url, ctx.settings.allow_insecure_artifacts)
    if refusal is not None:
        return FetchResult(failure_reason="InsecureURL", failure=refusal)
    try:
        fetched = await ctx.artifact_store.ensure(url, sha256)
    except ArtifactError as exc:
        return FetchResult(failure_reason=exc.reason, failure=exc.message, retryable=exc.retryable)
    return FetchResult(sha256=fetched.sha256, size_bytes=fetched.size_bytes)


async def _deleting(ctx: OperatorContext, body: dict[str, Any]) -> Outcome:
    """Deletion waits while a JobSpec refers to the artifact; then its jars are deleted from the clusters."""
    metadata = body["metadata"]
    namespace, name = metadata.get("namespace") or "", metadata["name"]
    users = [j["metadata"]["name"] for j in ctx.cache.lookup(JOB_SPEC, "artifact", namespace, name)]
    status = ArtifactStatus.from_wire(body.get("status"))
    generation = int(metadata.get("generation") or 1)
    if users:
        message = f"deletion waits: used by JobSpec {', '.join(users)}"
        updated = status.model_copy(update={"conditions": set_condition(
            status.conditions, "Ready", False, "InUse", message, now=ctx.clock(), generation=generation)})
        await write_status(ctx, ARTIFACT, ARTIFACTS, body, updated)
        return Outcome()
    for upload in status.uploads:
        runtime = ctx.runtimes.get((namespace, upload.cluster))
        if runtime is None:
            continue
        try:
            await runtime.client.delete_jar(upload.jar_id)
        except FlinkJarNotFound:
            pass
        except FlinkError as exc:
            logger.warning("could not delete jar %s of Artifact %s/%s: %s", upload.jar_id, namespace, name, exc.message,
                           extra=ref(ARTIFACT, namespace, name))
        else:
            body = await write_status(ctx, ARTIFACT, ARTIFACTS, body,
                                      without_uploads(status, upload.cluster, [upload.jar_id]))
    finalizers = [f for f in metadata.get("finalizers") or [] if f != FINALIZER]
    await patch_metadata(ctx, ARTIFACT, ARTIFACTS, body, {"finalizers": finalizers})
    return Outcome()
