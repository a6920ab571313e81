"""Artifact status: URL policy, verification outcome, and the per-cluster upload records."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlparse

from flink_manager.api.artifact import ArtifactPhase, ArtifactStatus, ArtifactUpload
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.targets import ArtifactView

SECURE_SCHEMES = frozenset({"https", "s3"})
INSECURE_SCHEMES = frozenset({"http", "file"})


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching and verifying an artifact: its digest and size, or a failure."""

    sha256: str | None = None
    size_bytes: int | None = None
    failure_reason: str | None = None  # ChecksumMismatch | TooLarge | FetchFailed | ...
    failure: str | None = None
    retryable: bool = False


def needs_fetch(artifact: ArtifactView) -> bool:
    """True when the current spec has not been verified yet."""
    status = artifact.status
    return not (
        status.observed_generation == artifact.generation
        and status.phase in (ArtifactPhase.READY, ArtifactPhase.FAILED)
        and (status.phase == ArtifactPhase.FAILED or status.sha256 == artifact.spec.sha256)
    )


def url_refusal(url: str, allow_insecure: bool) -> str | None:
    """Why the operator refuses to fetch this URL (None when allowed)."""
    scheme = urlparse(url).scheme
    if scheme in SECURE_SCHEMES:
        return None
    if scheme in INSECURE_SCHEMES:
        return None if allow_insecure else (
            f"{scheme}:// artifact URLs are refused unless the operator runs with --allow-insecure-artifacts")
    return f"unsupported URL scheme {scheme!r}"


def decide_artifact(artifact: ArtifactView, result: FetchResult, now: datetime.datetime) -> ArtifactStatus:
    """The status after a verification attempt."""
    status, generation = artifact.status, artifact.generation
    if result.failure is not None:
        phase = ArtifactPhase.PENDING if result.retryable else ArtifactPhase.FAILED
        conditions = set_condition(status.conditions, "Ready", False, result.failure_reason or "FetchFailed",
                                   result.failure, now=now, generation=generation)
        return status.model_copy(update={"phase": phase, "conditions": conditions, "observed_generation": generation})
    conditions = set_condition(status.conditions, "Ready", True, "Verified",
                               f"sha256 {result.sha256} verified ({result.size_bytes} bytes)",
                               now=now, generation=generation)
    return status.model_copy(update={
        "phase": ArtifactPhase.READY, "sha256": result.sha256, "size_bytes": result.size_bytes,
        "conditions": conditions, "observed_generation": generation,
    })


def with_upload(status: ArtifactStatus, upload: ArtifactUpload, replaced_jar_id: str | None) -> ArtifactStatus:
    """Record an upload to a cluster, replacing the record of the same content (or of a jar the cluster lost)."""
    kept = tuple(
        u for u in status.uploads
        if not (u.cluster == upload.cluster and (u.sha256 == upload.sha256 or u.jar_id == replaced_jar_id))
    )
    return status.model_copy(update={"uploads": (*kept, upload)})


def without_uploads(status: ArtifactStatus, cluster: str, jar_ids: Collection[str]) -> ArtifactStatus:
    """Forget uploads that were deleted from (or lost by) a cluster."""
    return status.model_copy(update={
        "uploads": tuple(u for u in status.uploads if not (u.cluster == cluster and u.jar_id in jar_ids)),
    })
