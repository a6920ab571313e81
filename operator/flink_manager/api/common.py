"""Shared pieces of every resource: the wire-format base model, references, conditions, history entries."""

from __future__ import annotations

import datetime
import enum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields ignored (the CRD schema prunes them anyway)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        use_enum_values=False,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready form written to the Kubernetes API (aliases, no unset optionals)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: dict[str, Any] | None) -> Self:
        """Parse what the Kubernetes API returned (None and {} give the defaults)."""
        return cls.model_validate(data or {})


class ObjectRef(WireModel):
    """A reference to another resource by name, in the same namespace."""

    name: str = Field(min_length=1, max_length=253)


class SecretKeyRef(WireModel):
    """A key in a Secret of the same namespace."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(default="ca.crt", min_length=1)


class ConditionStatus(str, enum.Enum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionType(str, enum.Enum):
    READY = "Ready"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"


class Condition(WireModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str
    status: ConditionStatus
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    message: str = Field(default="", max_length=32768)
    last_transition_time: datetime.datetime
    observed_generation: int | None = Field(default=None, ge=0)


class HistoryAction(str, enum.Enum):
    START = "START"
    STOP = "STOP"
    CANCEL = "CANCEL"
    RESTART = "RESTART"
    UPGRADE = "UPGRADE"
    SAVEPOINT = "SAVEPOINT"
    FAIL = "FAIL"
    FINISH = "FINISH"
    RECOVER = "RECOVER"
    ROLLBACK = "ROLLBACK"
    DELETE = "DELETE"


class RestoreKind(str, enum.Enum):
    """What a job was restored from: a savepoint, or a retained checkpoint (a last-state upgrade)."""

    SAVEPOINT = "savepoint"
    CHECKPOINT = "checkpoint"


class HistoryDetails(WireModel):
    """What explains one history entry; every field optional."""

    attempt: int | None = None
    savepoint_path: str | None = None
    restored_from: str | None = None
    restore_kind: RestoreKind | None = None
    error: str | None = None
    reason: str | None = None
    job_spec_generation: int | None = None
    message: str | None = None


class HistoryEntry(WireModel):
    """One transition of an Execution (the ExecutionHistory record of the original REST design)."""

    seq: int = Field(ge=1, description="1-based position among all entries ever recorded (status.historyTotal)")
    action: HistoryAction
    performed_by: str
    performed_at: datetime.datetime
    old_status: str | None = None
    new_status: str
    flink_job_id: str | None = None
    details: HistoryDetails = Field(default_factory=HistoryDetails)


def utc(ts: datetime.datetime) -> datetime.datetime:
    """Normalise a timestamp to timezone-aware UTC with whole seconds, as Kubernetes stores them."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=datetime.UTC)
    return ts.astimezone(datetime.UTC).replace(microsecond=0)
