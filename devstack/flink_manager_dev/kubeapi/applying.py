"""Server-side apply, simplified: merge the applied configuration, track ownership, report conflicts.

The simplification: values are merged by the list semantics we know (CRD `x-kubernetes-list-type`, ObjectMeta's
finalizers and ownerReferences, the strategic-merge keys of built-ins); everything else is atomic. Fields the
manager applied before and no longer applies are removed unless another manager also owns them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flink_manager.schema.jsonvalues import json_copy
from flink_manager_dev.kubeapi.errors import ApplyConflict
from flink_manager_dev.kubeapi.managedfields import (
    ITEM,
    MAP,
    ListTypeOf,
    Path,
    applied_paths,
    flatten,
    from_fields_v1,
    update_entries,
)


@dataclass
class ApplyResult:
    """The merged object and its new managedFields entries."""

    obj: dict[str, Any]
    entries: list[dict[str, Any]]


def server_side_apply(
    current: dict[str, Any],
    config: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    subresource: str | None,
    list_type_of: ListTypeOf,
    exclude_status: bool,
    only_status: bool,
    force: bool,
    now: str,
    allowed_conflicts: set[Path] = frozenset(),  # type: ignore[assignment]
) -> ApplyResult:
    """Apply `config` as `manager` over `current` (an empty object when creating)."""
    entries = list((current.get("metadata") or {}).get("managedFields") or ())
    applied = applied_paths(config, list_type_of, exclude_status, only_status)
    current_flat = flatten(current, list_type_of)
    config_flat = flatten(config, list_type_of)

    conflicts: list[tuple[str, str, str]] = []
    conflicting: set[Path] = set()
    previous_apply: set[Path] = set()
    for entry in entries:
        is_mine = (
            entry.get("manager") == manager
            and entry.get("operation") == "Apply"
            and ((entry.get("subresource") or None) == subresource)
        )
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        if is_mine:
            previous_apply = owned
            continue
        for path in sorted(owned & applied):
            here, there = current_flat.get(path, MAP), config_flat.get(path, MAP)
            if here is MAP or here is ITEM or there is MAP or there is ITEM or here == there:
                continue
            if path in allowed_conflicts:
                conflicting.add(path)  # taken over without a conflict
                continue
            conflicts.append((entry.get("manager", ""), entry.get("apiVersion", ""), _dotted(path)))
            conflicting.add(path)
    if conflicts and not force:
        raise ApplyConflict(conflicts)

    merged = _merge(json_copy(current), config, (), list_type_of)
    others: set[Path] = set()
    for entry in entries:
        if not (entry.get("manager") == manager and entry.get("operation") == "Apply"):
            others |= from_fields_v1(entry.get("fieldsV1") or {})
    for path in sorted(previous_apply - applied, key=len, reverse=True):
        still_used = any(o[: len(path)] == path for o in others | applied)  # a map that keeps other fields
        if path not in others and not still_used:
            _remove(merged, path)

    new_entries = update_entries(
        entries,
        manager=manager,
        operation="Apply",
        api_version=api_version,
        subresource=subresource,
        time=now,
        owned=applied,
        take_from_others=False,
    )
    if conflicting:
        new_entries = update_entries(
            new_entries,
            manager=manager,
            operation="Apply",
            api_version=api_version,
            subresource=subresource,
            time=now,
            owned=applied,
            removed=conflicting,
        )
    return ApplyResult(merged, new_entries)


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def last_applied_takeover(current: dict[str, Any], list_type_of: ListTypeOf) -> set[Path]:
    """Fields `kubectl apply --server-side` may take from client-side apply without a conflict: those the
    last-applied annotation lists with the value they still have (the apiserver's CSA-to-SSA upgrade path)."""
    annotation = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not annotation:
        return set()
    try:
        last = json.loads(annotation)
    except ValueError:
        return set()
    live = flatten(current, list_type_of)
    return {
        path
        for path, value in flatten(last, list_type_of).items()
        if value is not MAP and value is not ITEM and live.get(path, MAP) == value
    }


def _dotted(path: Path) -> str:
    parts = []
    for element in path:
        kind, _, value = element.partition(":")
        parts.append("." + value if kind == "f" else f"[{value}]" if kind == "k" else f"[={value}]")
    return "".join(parts)


def _merge(target: Any, config: Any, names: tuple[str, ...], lt: ListTypeOf) -> Any:
    if isinstance(config, dict):
        result = target if isinstance(target, dict) else {}
        for key, value in config.items():
            if key == "metadata" and not names and isinstance(value, dict):
                meta = result.setdefault("metadata", {})
                for meta_key, meta_value in value.items():
                    if meta_key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
                        continue
                    meta[meta_key] = _merge(meta.get(meta_key), meta_value, ("metadata", meta_key), lt)
                continue
            result[key] = _merge(result.get(key), value, names + (key,), lt)
        return result
    if isinstance(config, list):
        kind, keys = lt(names)
        existing = target if isinstance(target, list) else []
        if kind == "set":
            return existing + [json_copy(i) for i in config if i not in existing]
        if kind == "map" and keys:
            merged = list(existing)
            for item in config:
                if not isinstance(item, dict):
                    continue
                key = {k: item.get(k) for k in keys}
                index = next(
                    (
                        i
                        for i, old in enumerate(merged)
                        if isinstance(old, dict) and {k: old.get(k) for k in keys} == key
                    ),
                    None,
                )
                if index is None:
                    merged.append(json_copy(item))
                else:
                    merged[index] = _merge(merged[index], item, names + ("[]",), lt)
            return merged
    return json_copy(config)


def _remove(obj: Any, path: Path) -> None:
    node = obj
    for element in path[:-1]:
        node = _step(node, element)
        if node is None:
            return
    last = path[-1]
    kind, _, value = last.partition(":")
    if kind == "f" and isinstance(node, dict):
        node.pop(value, None)
    elif kind == "v" and isinstance(node, list):
        item = json.loads(value)
        if item in node:
            node.remove(item)
    elif kind == "k" and isinstance(node, list):
        key = json.loads(value)
        node[:] = [i for i in node if not (isinstance(i, dict) and all(i.get(k) == v for k, v in key.items()))]


def _step(node: Any, element: str) -> Any:
    kind, _, value = element.partition(":")
    if kind == "f":
        return node.get(value) if isinstance(node, dict) else None
    if kind == "k" and isinstance(node, list):
        key = json.loads(value)
        return next((i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in key.items())), None)
    return None
