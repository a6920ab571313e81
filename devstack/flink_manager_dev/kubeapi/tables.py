"""`meta.k8s.io/v1 Table` output, as `kubectl get` asks for it (printer columns, NAME, AGE)."""

from __future__ import annotations

import datetime
import json
from typing import Any

from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi import jsonpath

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_COLUMN = {
    "name": "Age",
    "type": "date",
    "jsonPath": ".metadata.creationTimestamp",
    "description": "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
    "#metadata",
}

# Columns of built-in kinds (what the apiserver's printers show).
BUILTIN_COLUMNS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("", "namespaces"): [{"name": "Status", "type": "string", "jsonPath": ".status.phase"}, AGE_COLUMN],
    ("", "configmaps"): [{"name": "Data", "type": "integer", "jsonPath": "__count:data,binaryData"}, AGE_COLUMN],
    ("", "secrets"): [
        {"name": "Type", "type": "string", "jsonPath": ".type"},
        {"name": "Data", "type": "integer", "jsonPath": "__count:data"},
        AGE_COLUMN,
    ],
    ("", "serviceaccounts"): [{"name": "Secrets", "type": "integer", "jsonPath": "__count:secrets"}, AGE_COLUMN],
    ("", "events"): [
        {"name": "Last Seen", "type": "string", "jsonPath": ".lastTimestamp"},
        {"name": "Type", "type": "string", "jsonPath": ".type"},
        {"name": "Reason", "type": "string", "jsonPath": ".reason"},
        {"name": "Object", "type": "string", "jsonPath": "__object"},
        {"name": "Message", "type": "string", "jsonPath": ".message"},
    ],
    ("coordination.k8s.io", "leases"): [
        {"name": "Holder", "type": "string", "jsonPath": ".spec.holderIdentity"},
        AGE_COLUMN,
    ],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [
        {"name": "Created At", "type": "date", "jsonPath": ".metadata.creationTimestamp", "format": "date-time"}
    ],
}


def human_duration(seconds: float) -> str:
    """apimachinery's `duration.HumanDuration`."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(value: Any, now: datetime.datetime) -> Any:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            return "<invalid>"
    except ValueError:
        return "<invalid>"
    return human_duration((now - moment).total_seconds())


def columns_for(rt: ResourceType) -> list[dict[str, Any]]:
    """The column definitions after NAME."""
    if rt.custom:
        return list(rt.printer_columns) or [AGE_COLUMN]
    return BUILTIN_COLUMNS.get(rt.storage_key, [AGE_COLUMN])


def _cell(column: dict[str, Any], obj: dict[str, Any], now: datetime.datetime) -> Any:
    path = column.get("jsonPath", "")
    if path.startswith("__count:"):
        return sum(len(obj.get(k) or {}) for k in path.split(":", 1)[1].split(","))
    if path == "__object":
        ref = obj.get("involvedObject") or {}
        return f"{(ref.get('kind') or '').lower()}/{ref.get('name', '')}"
    found = jsonpath.find(obj, path)
    if not found:
        return None
    value = found[0]
    kind = column.get("type", "string")
    if kind == "date":
        return _age(value, now)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    resource_version: str | None,
    include_object: str,
    now: datetime.datetime,
    continue_token: str | None = None,
    remaining: int | None = None,
) -> dict[str, Any]:
    """A Table of objects with NAME first, then the resource's printer columns."""
    columns = columns_for(rt)
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}]
    for column in columns:
        description = column.get("description") or (
            f"Custom resource definition column (in JSONPath format): {column.get('jsonPath', '')}" if rt.custom else ""
        )
        definitions.append(
            {
                "name": column.get("name", ""),
                "type": column.get("type", "string"),
                "format": column.get("format", ""),
                "description": description,
                "priority": column.get("priority", 0),
            }
        )
    rows = []
    for obj in objects:
        row: dict[str, Any] = {
            "cells": [obj["metadata"].get("name")] + [_cell(c, obj, now) for c in columns],
        }
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    }
