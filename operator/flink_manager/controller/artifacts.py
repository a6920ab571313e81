"""Reconciling one Artifact: read the Secrets it names, fetch and verify it; keep it while a JobSpec uses it; clean
up its jars. Also the content of a verified Artifact for an upload to Flink (fetched again if the cache lost it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flink_manager.api.artifact import ArtifactSpec, ArtifactStatus, ResolvedSource
from flink_manager.artifacts.credentials import decode_secret_data, http_credentials, s3_keys
from flink_manager.artifacts.errors import (
    ArtifactError,
    ContentUnavailable,
    FetchFailed,
    SecretKeyMissing,
    SecretNotFound,
)
from flink_manager.artifacts.sources import Resolved, SourceAccess, open_source
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
from flink_manager.kube.client import (
    ARTIFACTS,
    SECRETS,
    KubeError,
    KubeNotFound,
    KubeUnavailable,
)
from flink_manager.reconcile.artifact import (
    FetchResult,
    decide_artifact,
    fetch_key,
    may_need_fetch,
    needs_fetch,
    pin_for,
    waits_for_secrets,
    without_uploads,
)
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.plans import EventRecord
from flink_manager.reconcile.targets import ArtifactView

logger = logging.getLogger("flink_manager")

FINALIZER = "flinkmanager.io/artifact-in-use"


@dataclass(frozen=True)
class SecretRead:
    """A Secret as read for one fetch: its resourceVersion (the fetch key) and its decoded data, or why not."""

    resource_version: str | None
    data: dict[str, str]
    problem: str | None = None  # set when it is missing or cannot be read


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
        if not may_need_fetch(view):
            return Outcome()
        secrets = await read_secrets(ctx, namespace, view.spec)
        key = fetch_key(view.generation, {n: s.resource_version for n, s in secrets.items()})
        if not needs_fetch(view, key):
            return _recheck(ctx, view, view.status)
        result = await _verify(ctx, namespace, view, secrets)
        status = await _record(ctx, body, view, result, key)
        return Outcome(retry=True) if result.retryable else _recheck(ctx, view, status)
    except WRITE_ERRORS as exc:
        return await after_write_error(ctx, ARTIFACT, namespace, name, exc)


async def _record(
    ctx: OperatorContext, body: dict[str, Any], view: ArtifactView, result: FetchResult, key: str
) -> ArtifactStatus:
    """Write the status a verification gives; a failure is also a Warning Event, a success a log line."""
    status = decide_artifact(view, result, key, ctx.clock())
    body = await write_status(ctx, ARTIFACT, ARTIFACTS, body, status)
    namespace = body["metadata"].get("namespace") or ""
    if result.failure is not None:
        reason = result.failure_reason or "FetchFailed"
        await post_events(ctx, ARTIFACT, body, [EventRecord("Warning", reason, result.failure)])
    else:
        source = result.resolved.url if result.resolved else "?"
        logger.info(
            "verified Artifact %s/%s: sha256 %s, %s bytes, from %s",
            namespace,
            view.name,
            result.sha256,
            result.size_bytes,
            source,
            extra=ref(ARTIFACT, namespace, view.name),
        )
    return status


def _recheck(ctx: OperatorContext, view: ArtifactView, status: ArtifactStatus) -> Outcome:
    """A failed Artifact whose Secrets may fix it is looked at again after a while (its Secrets re-read)."""
    if waits_for_secrets(view, status):
        return Outcome(requeue_after=float(ctx.settings.artifact_secret_recheck_seconds))
    return Outcome()


async def read_secrets(ctx: OperatorContext, namespace: str, spec: ArtifactSpec) -> dict[str, SecretRead]:
    """Each Secret the spec names, read once (`get`: the operator reads only the Secrets it is told about).
    KubeUnavailable propagates (retry); a missing or forbidden Secret is recorded as such."""
    reads: dict[str, SecretRead] = {}
    for name in spec.secret_names():
        try:
            secret = await ctx.kube.get(SECRETS, namespace, name)
        except KubeNotFound:
            reads[name] = SecretRead(None, {}, f"Secret {name!r} does not exist")
            continue
        except KubeUnavailable:
            raise
        except KubeError as exc:
            reads[name] = SecretRead(None, {}, f"Secret {name!r} cannot be read: {exc.status} {exc.reason}")
            continue
        reads[name] = SecretRead(
            str((secret.get("metadata") or {}).get("resourceVersion") or ""), decode_secret_data(secret.get("data"))
        )
    return reads


def source_access(spec: ArtifactSpec, secrets: dict[str, SecretRead]) -> SourceAccess:
    """The credentials and CA of the Secrets the spec names; SecretNotFound or SecretKeyMissing otherwise."""
    http, keys, ca_pem, ca_secret = None, None, None, None
    if spec.credentials_secret_ref is not None:
        name = spec.credentials_secret_ref.name
        read = _present(secrets, name, "spec.credentialsSecretRef")
        if (spec.url or "").startswith("s3://"):
            keys = s3_keys(name, read.data)
        else:
            http = http_credentials(name, read.data)
    if spec.ca_secret_ref is not None:
        ca_secret, key = spec.ca_secret_ref.name, spec.ca_secret_ref.key
        read = _present(secrets, ca_secret, "spec.caSecretRef")
        if not read.data.get(key):
            raise SecretKeyMissing(f"Secret {ca_secret!r} has no key {key!r} (spec.caSecretRef.key)")
        ca_pem = read.data[key]
    return SourceAccess(http_credentials=http, s3_keys=keys, ca_pem=ca_pem, ca_secret=ca_secret)


def _present(secrets: dict[str, SecretRead], name: str, field: str) -> SecretRead:
    read = secrets.get(name)
    if read is None or read.problem is not None:
        problem = read.problem if read is not None else f"Secret {name!r} was not read"
        raise SecretNotFound(f"{problem} (named in {field})")
    return read


async def _verify(
    ctx: OperatorContext, namespace: str, view: ArtifactView, secrets: dict[str, SecretRead]
) -> FetchResult:
    store = ctx.artifact_store
    try:
        source = open_source(view.spec, source_access(view.spec, secrets), store.options)
        verified = await store.verify(source, pin_for(view))
    except ArtifactError as exc:
        logger.debug(
            "fetching Artifact %s/%s failed: %s: %s",
            namespace,
            view.name,
            exc.reason,
            exc.message,
            extra=ref(ARTIFACT, namespace, view.name),
        )
        return FetchResult(failure_reason=exc.reason, failure=exc.message, retryable=exc.retryable)
    resolved = ResolvedSource(
        url=verified.resolved.url, version=verified.resolved.version, verified_by=verified.verified_by
    )
    return FetchResult(sha256=verified.sha256, size_bytes=verified.size_bytes, resolved=resolved)


async def artifact_content(ctx: OperatorContext, namespace: str, body: dict[str, Any], sha256: str) -> Path:
    """The verified content `sha256` of an Artifact, for an upload to Flink: from the cache, or fetched again from
    what it resolved to when verified (same credentials, same pins). ArtifactError when it cannot be had."""
    store = ctx.artifact_store
    cached = store.cached(sha256)
    if cached is not None:
        return cached
    view = artifact_view(body)
    name = (body.get("metadata") or {}).get("name", "")
    if view is None or view.status.sha256 != sha256 or view.status.resolved is None:
        current = view.status.sha256 if view is not None else None
        raise ContentUnavailable(f"Artifact {name!r} now has sha256 {current}; content {sha256} is no longer available")
    try:
        secrets = await read_secrets(ctx, namespace, view.spec)
    except KubeError as exc:
        raise FetchFailed(f"the Secrets of Artifact {name!r} cannot be read: {exc.reason}", retryable=True) from None
    source = open_source(view.spec, source_access(view.spec, secrets), store.options)
    resolved = view.status.resolved
    return await store.ensure(source, Resolved(resolved.url, resolved.version), sha256)


async def _deleting(ctx: OperatorContext, body: dict[str, Any]) -> Outcome:
    """Deletion waits while a JobSpec refers to the artifact; then its jars are deleted from the clusters."""
    metadata = body["metadata"]
    namespace, name = metadata.get("namespace") or "", metadata["name"]
    users = [j["metadata"]["name"] for j in ctx.cache.lookup(JOB_SPEC, "artifact", namespace, name)]
    status = ArtifactStatus.from_wire(body.get("status"))
    generation = int(metadata.get("generation") or 1)
    if users:
        message = f"deletion waits: used by JobSpec {', '.join(users)}"
        updated = status.model_copy(
            update={
                "conditions": set_condition(
                    status.conditions, "Ready", False, "InUse", message, now=ctx.clock(), generation=generation
                )
            }
        )
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
            logger.warning(
                "could not delete jar %s of Artifact %s/%s: %s",
                upload.jar_id,
                namespace,
                name,
                exc.message,
                extra=ref(ARTIFACT, namespace, name),
            )
        else:
            body = await write_status(
                ctx, ARTIFACT, ARTIFACTS, body, without_uploads(status, upload.cluster, [upload.jar_id])
            )
    finalizers = [f for f in metadata.get("finalizers") or [] if f != FINALIZER]
    await patch_metadata(ctx, ARTIFACT, ARTIFACTS, body, {"finalizers": finalizers})
    return Outcome()
