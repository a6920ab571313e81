"""Jars on Flink clusters: upload an artifact's verified content once per cluster, record its jar id in the
Artifact's status, and clean up the jars no JobSpec refers to any more."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flink_manager.api.artifact import ArtifactStatus, ArtifactUpload
from flink_manager.artifacts.errors import ArtifactError, DigestMismatch
from flink_manager.controller.artifacts import artifact_content
from flink_manager.controller.context import ARTIFACT, EXECUTION, FLINK_CLUSTER, JOB_SPEC, OperatorContext, ref
from flink_manager.controller.metadata import status_with_intent
from flink_manager.controller.recording import write_status
from flink_manager.controller.runtime import ClusterRuntime
from flink_manager.controller.views import artifact_view
from flink_manager.flink.errors import FlinkJarNotFound
from flink_manager.kube.client import ARTIFACTS, KubeConflict
from flink_manager.reconcile.artifact import failed, with_upload, without_uploads
from flink_manager.reconcile.jars import jar_file_name, own_jar_prefix, plan_housekeeping
from flink_manager.reconcile.observations import ActionError, ActionErrorKind
from flink_manager.reconcile.plans import UploadJar

logger = logging.getLogger("flink_manager")


class UploadFailed(Exception):
    def __init__(self, error: ActionError) -> None:
        super().__init__(error.message)
        self.error = error


def jar_ids(artifact_body: dict[str, Any] | None, cluster: str | None) -> dict[str, str]:
    """sha256 → jar id of the artifact's uploads to this cluster."""
    if not artifact_body or not cluster:
        return {}
    uploads = (artifact_body.get("status") or {}).get("uploads") or []
    return {u["sha256"]: u["jarId"] for u in uploads if u.get("cluster") == cluster and u.get("sha256")}


async def upload(ctx: OperatorContext, runtime: ClusterRuntime, action: UploadJar) -> str:
    """Upload the artifact content to the cluster (once, whatever the number of executions asking) and record it."""
    namespace = runtime.namespace
    async with runtime.upload_lock(action.sha256):
        body = ctx.cache.get(ARTIFACT, namespace, action.artifact)
        view = artifact_view(body)
        if body is None or view is None:
            raise UploadFailed(ActionError(ActionErrorKind.ARTIFACT, f"Artifact {action.artifact!r} does not exist"))
        known = jar_ids(body, runtime.name).get(action.sha256)
        replaced = known if known in runtime.missing_jars else action.replace_jar_id
        if known is not None and known != replaced:
            return known  # uploaded meanwhile for another execution
        try:
            path = await artifact_content(ctx, namespace, body, action.sha256)
        except ArtifactError as exc:
            if isinstance(exc, DigestMismatch):  # the content changed behind its pin: the Artifact says so too
                mismatch, generation = exc, view.generation
                await update_uploads(
                    ctx,
                    namespace,
                    action.artifact,
                    lambda status: failed(
                        status, mismatch.reason, mismatch.message, generation, ctx.clock(), key=status.fetch_key
                    ),
                )
            raise UploadFailed(
                ActionError(ActionErrorKind.ARTIFACT, f"Artifact {action.artifact!r}: {exc.message}")
            ) from exc
        jar_id = await runtime.client.upload_jar(
            path, jar_file_name(namespace, runtime.name, action.artifact, action.sha256)
        )
        record = ArtifactUpload(cluster=runtime.name, jar_id=jar_id, sha256=action.sha256, uploaded_at=ctx.clock())
        await _record_upload(ctx, namespace, action.artifact, record, replaced)
        logger.info(
            "uploaded Artifact %s/%s to FlinkCluster %s as %s",
            namespace,
            action.artifact,
            runtime.name,
            jar_id,
            extra=ref(ARTIFACT, namespace, action.artifact),
        )
        return jar_id


async def _record_upload(
    ctx: OperatorContext,
    namespace: str,
    artifact: str,
    record: ArtifactUpload,
    replaced: str | None,
) -> None:
    if not await update_uploads(ctx, namespace, artifact, lambda status: with_upload(status, record, replaced)):
        raise UploadFailed(ActionError(ActionErrorKind.UNAVAILABLE, f"could not record the upload of {artifact!r}"))


async def update_uploads(
    ctx: OperatorContext,
    namespace: str,
    artifact: str,
    change: Callable[[ArtifactStatus], ArtifactStatus],
) -> bool:
    """Apply `change` to an Artifact's status, again from a fresh read after a conflict (the Artifact's own
    reconcile writes the same status). False when it kept conflicting; True when written or the Artifact is gone."""
    for _ in range(5):
        body = ctx.cache.get(ARTIFACT, namespace, artifact)
        if body is None:
            return True
        try:
            await write_status(ctx, ARTIFACT, ARTIFACTS, body, change(ArtifactStatus.from_wire(body.get("status"))))
            return True
        except KubeConflict:
            ctx.cache.put(ARTIFACT, await ctx.kube.get(ARTIFACTS, namespace, artifact))
    return False


def jars_in_use(ctx: OperatorContext, namespace: str) -> set[tuple[str, str]]:
    """(artifact, sha256) pairs a JobSpec points at, or an Execution ran or may roll back to."""
    in_use: set[tuple[str, str]] = set()
    for job_spec in ctx.cache.items(JOB_SPEC, namespace):
        artifact_name = ((job_spec.get("spec") or {}).get("artifactRef") or {}).get("name") or ""
        artifact = ctx.cache.get(ARTIFACT, namespace, artifact_name)
        if artifact is not None:
            pinned = (artifact.get("spec") or {}).get("sha256") or (artifact.get("status") or {}).get("sha256")
            in_use.add((str(artifact_name), str(pinned or "")))
    for execution in ctx.cache.items(EXECUTION, namespace):
        status = status_with_intent(execution) or {}  # a first attempt's run config may be in its intent yet
        for config in (status.get("runConfig"), status.get("stableRunConfig")):
            if config:
                in_use.add((config.get("artifact", ""), config.get("artifactSha256", "")))
    return in_use


async def housekeep(ctx: OperatorContext, runtime: ClusterRuntime) -> None:
    """Delete the jars of this cluster that nothing uses any more (after a grace period); keep the records true."""
    namespace = runtime.namespace
    uploads = {
        body["metadata"]["name"]: [
            u for u in ArtifactStatus.from_wire(body.get("status")).uploads if u.cluster == runtime.name
        ]
        for body in ctx.cache.items(ARTIFACT, namespace)
    }
    listed = {jar.id: jar.name for jar in await runtime.client.list_jars()}
    state = ctx.unreferenced_jars.setdefault(runtime.key, {})
    plan = plan_housekeeping(
        uploads,
        jars_in_use(ctx, namespace),
        listed,
        state,
        now=runtime.now(),
        grace=float(ctx.settings.jar_grace_seconds),
        own_prefix=own_jar_prefix(namespace, runtime.name),
    )
    for jar_id in plan.delete:
        try:
            await runtime.client.delete_jar(jar_id)
        except FlinkJarNotFound:
            pass
        logger.info(
            "deleted unused jar %s from FlinkCluster %s/%s",
            jar_id,
            namespace,
            runtime.name,
            extra=ref(FLINK_CLUSTER, namespace, runtime.name),
        )
    for artifact, jar_ids in plan.forget.items():
        await update_uploads(
            ctx, namespace, artifact, functools.partial(without_uploads, cluster=runtime.name, jar_ids=jar_ids)
        )
    state.clear()
    state.update(plan.unreferenced_since)
