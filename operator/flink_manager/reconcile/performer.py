"""Who asked for a change: the `performedBy` of history entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

REQUESTED_BY_ANNOTATION = "flinkmanager.io/requested-by"
OPERATOR = "flink-manager"


def spec_manager(managed_fields: Sequence[Mapping[str, Any]]) -> str | None:
    """The field manager that most recently wrote any field under `spec` (not through the status subresource)."""
    latest: tuple[str, str] | None = None
    for entry in managed_fields or ():
        if entry.get("subresource"):
            continue
        fields = entry.get("fieldsV1") or {}
        if "f:spec" not in fields:
            continue
        manager, time = entry.get("manager"), entry.get("time") or ""
        if manager and (latest is None or time >= latest[1]):
            latest = (manager, time)
    return latest[0] if latest else None
