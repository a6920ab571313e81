"""Kinds served in two API groups from one storage: `events.k8s.io/v1` Events are views of core `v1` Events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# events.k8s.io/v1 field ← core/v1 field (k8s.io/kubernetes/pkg/apis/events/v1 conversion).
EVENT_RENAMES = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}


@dataclass(frozen=True)
class FieldRenames:
    """Converts between a served form and the stored form by renaming top-level fields."""

    served_to_stored: dict[str, str]
    stored_api_version: str
    stored_kind: str

    def to_stored(self, body: dict[str, Any]) -> dict[str, Any]:
        """The stored form of a served object."""
        out = {self.served_to_stored.get(k, k): v for k, v in body.items()}
        out["apiVersion"], out["kind"] = self.stored_api_version, self.stored_kind
        return out

    def from_stored(self, body: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
        """The served form of a stored object."""
        back = {v: k for k, v in self.served_to_stored.items()}
        out = {back.get(k, k): v for k, v in body.items()}
        out["apiVersion"], out["kind"] = api_version, kind
        return out


EVENTS_V1 = FieldRenames(EVENT_RENAMES, "v1", "Event")
