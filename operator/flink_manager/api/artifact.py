"""Artifact: a job JAR fetched by URL and verified by its sha256."""

from __future__ import annotations

import datetime
import enum

from pydantic import Field

from flink_manager.api.common import Condition, WireModel

SHA256_PATTERN = r"^[a-f0-9]{64}$"


class ArtifactSpec(WireModel):
    url: str = Field(pattern=r"^(https?|file|s3)://.+$")
    sha256: str = Field(pattern=SHA256_PATTERN)
    version: str | None = None
    entry_classes: tuple[str, ...] = ()


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


class ArtifactStatus(WireModel):
    phase: ArtifactPhase = ArtifactPhase.PENDING
    sha256: str | None = None
    size_bytes: int | None = None
    uploads: tuple[ArtifactUpload, ...] = ()
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
