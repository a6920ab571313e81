"""Artifact status: when to fetch, what the content must match, the verification outcome, the upload records.

When to fetch. An Artifact is verified once per generation. One that failed for a reason a Secret can fix is
fetched again when a Secret it names changes: the fetch key is the generation with the resourceVersion of each
named Secret (None while it is missing), recorded in status.fetchKey; the operator re-reads those Secrets every
FLINK_MANAGER_ARTIFACT_SECRET_RECHECK_SECONDS while the Artifact is not Ready (a `get` of each, as RBAC grants,
rather than a watch on every Secret of the cluster). A retryable failure (5xx, connection) retries with backoff.

A -SNAPSHOT version is resolved to its newest build when a generation is verified, and only then: a newer build
never replaces the one running behind the user's back; bumping spec.maven.resolveNonce (or any spec change)
resolves again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from flink_manager.api.artifact import ArtifactPhase, ArtifactStatus, ArtifactUpload, ResolvedSource
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.targets import ArtifactView, verified_digest

# Failures a change of a named Secret may fix (the others wait for a spec change, or retry with backoff).
SECRET_REASONS = frozenset(
    {"AuthenticationFailed", "SecretNotFound", "SecretKeyMissing", "InvalidCA", "NotFound", "FetchFailed"}
)


@dataclass(frozen=True)
class Pin:
    """What fetched content must match: spec.sha256, and the digest recorded for a resolved URL before."""

    sha256: str | None = None
    previous_url: str | None = None
    previous_sha256: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching and verifying an artifact: what it resolved to, its digest and size, or a failure."""

    sha256: str | None = None
    size_bytes: int | None = None
    resolved: ResolvedSource | None = None
    failure_reason: str | None = None  # DigestMismatch | AuthenticationFailed | SecretNotFound | FetchFailed | ...
    failure: str | None = None
    retryable: bool = False


def may_need_fetch(artifact: ArtifactView) -> bool:
    """False when the current spec is verified: nothing to read, not even its Secrets."""
    return verified_digest(artifact) is None


def fetch_key(generation: int, secret_versions: Mapping[str, str | None]) -> str:
    """The generation and the resourceVersions of the named Secrets, as a short digest."""
    material = json.dumps([generation, sorted(secret_versions.items())], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def needs_fetch(artifact: ArtifactView, key: str) -> bool:
    """Fetch: a spec not tried yet, a retryable failure, or a failure of another spec or Secret version."""
    status = artifact.status
    if verified_digest(artifact) is not None:
        return False
    if status.observed_generation != artifact.generation or status.phase == ArtifactPhase.PENDING:
        return True
    return status.fetch_key != key


def waits_for_secrets(artifact: ArtifactView, status: ArtifactStatus) -> bool:
    """A failed Artifact that names Secrets: re-read them from time to time, and fetch again when one changed."""
    if status.phase != ArtifactPhase.FAILED or not artifact.spec.secret_names():
        return False
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    return ready is not None and ready.reason in SECRET_REASONS


def pin_for(artifact: ArtifactView) -> Pin:
    """spec.sha256; without it, the digest last verified and the URL it was read from."""
    status = artifact.status
    if artifact.spec.sha256 is not None:
        return Pin(sha256=artifact.spec.sha256)
    if status.sha256 is not None and status.resolved is not None:
        return Pin(previous_url=status.resolved.url, previous_sha256=status.sha256)
    return Pin()


def decide_artifact(
    artifact: ArtifactView, result: FetchResult, key: str | None, now: datetime.datetime
) -> ArtifactStatus:
    """The status after a verification attempt made with fetch key `key`."""
    status, generation = artifact.status, artifact.generation
    if result.failure is not None:
        return failed(
            status,
            result.failure_reason or "FetchFailed",
            result.failure,
            generation,
            now,
            retryable=result.retryable,
            key=key,
        )
    message = f"sha256 {result.sha256} verified ({result.size_bytes} bytes)"
    if result.resolved is not None:
        if (
            result.resolved.version is not None
            and artifact.spec.maven is not None
            and result.resolved.version != artifact.spec.maven.version
        ):
            message += f"; {artifact.spec.maven.version} resolved to build {result.resolved.version}"
        if result.resolved.verified_by:
            message += f" against {result.resolved.verified_by}"
    conditions = set_condition(status.conditions, "Ready", True, "Verified", message, now=now, generation=generation)
    conditions = set_condition(
        conditions, "Degraded", False, "AsExpected", "no problem known", now=now, generation=generation
    )
    return status.model_copy(
        update={
            "phase": ArtifactPhase.READY,
            "sha256": result.sha256,
            "size_bytes": result.size_bytes,
            "resolved": result.resolved,
            "fetch_key": key,
            "conditions": conditions,
            "observed_generation": generation,
        }
    )


def failed(
    status: ArtifactStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime.datetime,
    *,
    retryable: bool = False,
    key: str | None = None,
) -> ArtifactStatus:
    """Not verified: Pending while a retry may pass, else Failed and Degraded. The digest and source last verified
    stay recorded: they pin what a later fetch of the same resolved URL must bring."""
    conditions = set_condition(status.conditions, "Ready", False, reason, message, now=now, generation=generation)
    degraded = (True, reason, message) if not retryable else (False, "AsExpected", f"retried with backoff: {message}")
    conditions = set_condition(
        conditions, "Degraded", degraded[0], degraded[1], degraded[2], now=now, generation=generation
    )
    return status.model_copy(
        update={
            "phase": ArtifactPhase.PENDING if retryable else ArtifactPhase.FAILED,
            "conditions": conditions,
            "observed_generation": generation,
            "fetch_key": key,
        }
    )


def with_upload(status: ArtifactStatus, upload: ArtifactUpload, replaced_jar_id: str | None) -> ArtifactStatus:
    """Record an upload to a cluster, replacing the record of the same content (or of a jar the cluster lost)."""
    kept = tuple(
        u
        for u in status.uploads
        if not (u.cluster == upload.cluster and (u.sha256 == upload.sha256 or u.jar_id == replaced_jar_id))
    )
    return status.model_copy(update={"uploads": (*kept, upload)})


def without_uploads(status: ArtifactStatus, cluster: str, jar_ids: Collection[str]) -> ArtifactStatus:
    """Forget uploads that were deleted from (or lost by) a cluster."""
    return status.model_copy(
        update={
            "uploads": tuple(u for u in status.uploads if not (u.cluster == cluster and u.jar_id in jar_ids)),
        }
    )
