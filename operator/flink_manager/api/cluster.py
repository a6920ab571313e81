"""FlinkCluster: a Flink session cluster the operator talks to over REST."""

from __future__ import annotations

import datetime
import enum

from pydantic import Field

from flink_manager.api.common import Condition, SecretKeyRef, WireModel


class AuthType(str, enum.Enum):
    BASIC = "basic"
    BEARER = "bearer"


class SecretRef(WireModel):
    """A Secret in the same namespace; the keys read depend on the auth type."""

    name: str = Field(min_length=1, max_length=253)


class ClusterAuth(WireModel):
    """Credentials for the Flink REST endpoint: basic (keys `username`, `password`) or bearer (key `token`)."""

    type: AuthType
    secret_ref: SecretRef


class ClusterTLS(WireModel):
    """How to trust the Flink REST endpoint's certificate."""

    ca_secret_ref: SecretKeyRef | None = None
    insecure_skip_verify: bool = False


class FlinkClusterSpec(WireModel):
    rest_url: str = Field(pattern=r"^https?://[^\s/$.?#].[^\s]*$")
    auth: ClusterAuth | None = None
    tls: ClusterTLS | None = None
    poll_interval_seconds: int = Field(default=5, ge=1, le=3600)
    request_timeout_seconds: int = Field(default=10, ge=1, le=600)
    savepoint_directory: str | None = None


class ClusterPhase(str, enum.Enum):
    PENDING = "Pending"
    READY = "Ready"
    UNREACHABLE = "Unreachable"


class FlinkClusterStatus(WireModel):
    phase: ClusterPhase = ClusterPhase.PENDING
    flink_version: str | None = None
    task_managers: int | None = None
    slots_total: int | None = None
    slots_available: int | None = None
    jobs_running: int | None = None
    last_probe_time: datetime.datetime | None = None
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
