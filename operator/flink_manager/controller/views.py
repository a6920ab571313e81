"""Bodies from the cache → the typed views the reconcile core reads."""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from flink_manager.api.artifact import ArtifactSpec, ArtifactStatus
from flink_manager.api.cluster import FlinkClusterSpec, FlinkClusterStatus
from flink_manager.api.common import WireModel
from flink_manager.api.jobspec import JobSpecSpec, JobSpecStatus
from flink_manager.reconcile.targets import ArtifactView, ClusterView, JobSpecView, View

SpecT = TypeVar("SpecT", bound=WireModel)
StatusT = TypeVar("StatusT", bound=WireModel)


def _view(
    body: dict[str, Any] | None,
    spec_type: type[SpecT],
    status_type: type[StatusT],
) -> View[SpecT, StatusT] | None:
    if body is None:
        return None
    metadata = body.get("metadata") or {}
    try:
        spec = spec_type.from_wire(body.get("spec"))
        status = status_type.from_wire(body.get("status"))
    except ValidationError:
        return None  # unreadable (the schema should prevent it): treated as absent, with the reason logged elsewhere
    return View(
        name=metadata.get("name", ""),
        generation=int(metadata.get("generation") or 1),
        spec=spec,
        status=status,
        deleting=bool(metadata.get("deletionTimestamp")),
    )


def job_spec_view(body: dict[str, Any] | None) -> JobSpecView | None:
    return _view(body, JobSpecSpec, JobSpecStatus)


def artifact_view(body: dict[str, Any] | None) -> ArtifactView | None:
    return _view(body, ArtifactSpec, ArtifactStatus)


def cluster_view(body: dict[str, Any] | None) -> ClusterView | None:
    return _view(body, FlinkClusterSpec, FlinkClusterStatus)


def parse_timestamp(value: str | None) -> datetime.datetime | None:
    """A Kubernetes timestamp (RFC 3339) as an aware datetime."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(datetime.UTC)
