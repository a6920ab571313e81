"""Writing what the operator decided: the one function that writes status, metadata patches, and Events; and what a
failed write means for the reconcile."""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flink_manager import API_VERSION
from flink_manager.api.common import HistoryEntry, WireModel
from flink_manager.controller.context import RESOURCES, OperatorContext, ref
from flink_manager.controller.queue import Outcome
from flink_manager.kube.client import (
    EVENTS,
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeNotFound,
    KubeUnavailable,
    Resource,
)
from flink_manager.kube.patches import merge_patch
from flink_manager.reconcile.plans import EventRecord

logger = logging.getLogger("flink_manager")

COMPONENT = "flink-manager"
WARNING_ACTIONS = frozenset({"FAIL", "ROLLBACK", "RECOVER"})
CONFLICT_REQUEUE = 0.2  # seconds: after a conflict a newer version exists, and is decided on at once
# What `after_write_error` maps; others propagate.
WRITE_ERRORS = (KubeConflict, KubeNotFound, KubeUnavailable, KubeForbidden)
WriteError = KubeConflict | KubeNotFound | KubeUnavailable | KubeForbidden


async def write_status(
    ctx: OperatorContext,
    kind: str,
    resource: Resource,
    body: dict[str, Any],
    status: WireModel,
) -> dict[str, Any]:
    """Write the status if it differs from the body's; returns the newest body. Raises KubeConflict on a stale body."""
    old = body.get("status") or {}
    new = status.to_wire()
    patch = merge_patch(old, new)
    if patch is None:
        return body
    metadata = body["metadata"]
    response = await ctx.kube.patch(
        resource,
        metadata.get("namespace"),
        metadata["name"],
        {"status": patch},
        subresource="status",
        resource_version=metadata.get("resourceVersion"),
    )
    ctx.cache.put(kind, response)
    return ctx.cache.get(kind, metadata.get("namespace") or "", metadata["name"]) or response


async def patch_metadata(
    ctx: OperatorContext,
    kind: str,
    resource: Resource,
    body: dict[str, Any],
    metadata_patch: Mapping[str, Any],
) -> dict[str, Any]:
    """Patch labels, finalizers or ownerReferences, guarded by the body's resourceVersion."""
    metadata = body["metadata"]
    response = await ctx.kube.patch(
        resource,
        metadata.get("namespace"),
        metadata["name"],
        {"metadata": dict(metadata_patch)},
        resource_version=metadata.get("resourceVersion"),
    )
    ctx.cache.put(kind, response)
    return ctx.cache.get(kind, metadata.get("namespace") or "", metadata["name"]) or response


async def after_write_error(ctx: OperatorContext, kind: str, namespace: str, name: str, error: WriteError) -> Outcome:
    """What the queue does after a write failed: decide again at once from the newer version after a conflict, nothing
    more when the object is gone, retry with backoff while the API is unavailable or refuses the write (403: a missing
    permission, or an API server still starting, whose authorizer has not read the roles yet), said in a warning
    naming the object rather than a traceback."""
    if isinstance(error, KubeForbidden):
        logger.warning(
            "the API server refused a write to %s %s/%s: %s",
            kind,
            namespace,
            name,
            error,
            extra=ref(kind, namespace, name),
        )
        return Outcome(retry=True)
    if isinstance(error, KubeConflict):
        await reread(ctx, kind, namespace, name)
        return Outcome(requeue_after=CONFLICT_REQUEUE)
    if isinstance(error, KubeNotFound):
        return Outcome()
    return Outcome(retry=True)


async def reread(ctx: OperatorContext, kind: str, namespace: str, name: str) -> None:
    """After a conflict, read the newer version: the cache may lag behind the API (a slow or stalled watch), and
    deciding again from it would only conflict again, every CONFLICT_REQUEUE seconds, until the watch catches up."""
    try:
        ctx.cache.put(kind, await ctx.kube.get(RESOURCES[kind], namespace, name))
    except KubeError:
        pass  # gone or unreachable: the watch or the next retry tells


async def post_history_events(
    ctx: OperatorContext,
    kind: str,
    body: Mapping[str, Any],
    entries: Iterable[HistoryEntry],
    *,
    repeat: bool = False,
) -> None:
    """Post one Event per new history entry; each has a deterministic name, so a repeat is a no-op. With `repeat`
    (entries that may have been posted already) an Event is only read, unless it is missing, and not counted again."""
    for entry in entries:
        if not repeat:
            ctx.metrics.history_actions.labels(entry.action.value).inc()
        details = entry.details.to_wire()
        extra = ", ".join(f"{k}={v}" for k, v in details.items())
        message = (
            f"{entry.action.value}: {entry.old_status or '-'} → {entry.new_status} "
            f"by {entry.performed_by}"
            + (f" (Flink job {entry.flink_job_id})" if entry.flink_job_id else "")
            + (f"; {extra}" if extra else "")
        )
        event_type = "Warning" if entry.action.value in WARNING_ACTIONS or entry.details.error else "Normal"
        reason = entry.action.value.capitalize()
        await _post_event(
            ctx,
            kind,
            body,
            event_type,
            reason,
            message,
            suffix=f"h{entry.seq}",
            when=entry.performed_at,
            missing_only=repeat,
        )


async def post_events(ctx: OperatorContext, kind: str, body: Mapping[str, Any], events: Iterable[EventRecord]) -> None:
    """Post Events that are not history entries (warnings about retries, timeouts, disposal)."""
    for event in events:
        digest = hashlib.sha256(f"{event.reason}\x1f{event.message}".encode()).hexdigest()[:10]
        await _post_event(ctx, kind, body, event.type, event.reason, event.message, suffix=digest)


async def _post_event(
    ctx: OperatorContext,
    kind: str,
    body: Mapping[str, Any],
    event_type: str,
    reason: str,
    message: str,
    *,
    suffix: str,
    when: datetime.datetime | None = None,
    missing_only: bool = False,
) -> None:
    metadata = body["metadata"]
    namespace = metadata.get("namespace") or "default"
    uid = metadata.get("uid") or ""
    name = f"{metadata['name']}.{uid[:8]}.{suffix}"[:253]
    if missing_only:
        try:
            await ctx.kube.get(EVENTS, namespace, name)
            return  # posted: reading it costs no write
        except KubeNotFound:
            pass
        except KubeError:
            pass  # cannot tell: post it (a duplicate is refused)
    event = _event(ctx, kind, metadata, name, event_type, reason, message, when or ctx.clock())
    try:
        await ctx.kube.create(EVENTS, namespace, event)
        logger.log(
            logging.WARNING if event_type == "Warning" else logging.INFO,
            "%s %s/%s: %s: %s",
            kind,
            namespace,
            metadata["name"],
            reason,
            event["message"],
            extra=ref(kind, namespace, metadata["name"]),
        )
    except KubeConflict:
        pass  # already posted by an earlier run of this step
    except KubeError as exc:  # an Event is a notification: never fail a reconcile over it
        logger.warning(
            "could not post event %s for %s/%s: %s",
            reason,
            namespace,
            metadata["name"],
            exc,
            extra=ref(kind, namespace, metadata["name"]),
        )


def _event(
    ctx: OperatorContext,
    kind: str,
    metadata: Mapping[str, Any],
    name: str,
    event_type: str,
    reason: str,
    message: str,
    when: datetime.datetime,
) -> dict[str, Any]:
    """The core/v1 Event about the object of this metadata."""
    namespace = metadata.get("namespace") or "default"
    timestamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {
            "apiVersion": API_VERSION,
            "kind": kind,
            "name": metadata["name"],
            "namespace": namespace,
            "uid": metadata.get("uid") or "",
            "resourceVersion": metadata.get("resourceVersion"),
        },
        "type": event_type,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": ctx.identity,
        "firstTimestamp": timestamp,
        "lastTimestamp": timestamp,
        "count": 1,
    }
