"""Artifact: a job JAR from one source (a URL or Maven coordinates), verified by its sha256."""

from __future__ import annotations

import datetime
import enum

from pydantic import Field

from flink_manager.api.common import Condition, SecretKeyRef, WireModel

SHA256_PATTERN = r"^[a-f0-9]{64}$"


class MavenSource(WireModel):
    """Maven coordinates in a repository; a -SNAPSHOT version resolves to its newest timestamped build."""

    repository: str = Field(max_length=2048, pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")
    group_id: str = Field(max_length=256, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    artifact_id: str = Field(max_length=256, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    version: str = Field(max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
    classifier: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    resolve_nonce: int = Field(default=0, ge=0)

    @property
    def is_snapshot(self) -> bool:
        return self.version.endswith("-SNAPSHOT")


class S3Options(WireModel):
    """How to reach the bucket of an s3:// URL."""

    endpoint: str | None = Field(default=None, max_length=2048, pattern=r"^https?://[^\s/?#@]+/?$")
    region: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9-]+$")
    path_style: bool = False


class SecretRef(WireModel):
    """A Secret in the same namespace; the keys read depend on the source."""

    name: str = Field(min_length=1, max_length=253)


class ArtifactSpec(WireModel):
    url: str | None = Field(default=None, max_length=2048, pattern=r"^(https?|file|s3)://.+$")
    maven: MavenSource | None = None
    s3: S3Options | None = None
    sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)
    credentials_secret_ref: SecretRef | None = None
    ca_secret_ref: SecretKeyRef | None = None
    version: str | None = Field(default=None, max_length=128)
    entry_classes: tuple[str, ...] = ()

    def secret_names(self) -> tuple[str, ...]:
        """The Secrets this spec reads, each once."""
        names = [ref.name for ref in (self.credentials_secret_ref, self.ca_secret_ref) if ref is not None]
        return tuple(dict.fromkeys(names))


class ArtifactPhase(str, enum.Enum):
    PENDING = "Pending"
    READY = "Ready"
    FAILED = "Failed"


class ArtifactUpload(WireModel):
    """The jar id this artifact's content was uploaded as, on one cluster."""

    cluster: str
    jar_id: str
    sha256: str = Field(pattern=SHA256_PATTERN)
    uploaded_at: datetime.datetime


class ResolvedSource(WireModel):
    """What a source resolved to when the JAR was verified: the URL read, and a Maven source's version."""

    url: str
    version: str | None = None
    verified_by: str | None = None


class ArtifactStatus(WireModel):
    phase: ArtifactPhase = ArtifactPhase.PENDING
    sha256: str | None = None
    size_bytes: int | None = None
    resolved: ResolvedSource | None = None
    fetch_key: str | None = None
    uploads: tuple[ArtifactUpload, ...] = ()
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
