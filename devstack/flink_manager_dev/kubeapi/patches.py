"""PATCH bodies: JSON merge patch (RFC 7386, the operator's own `apply_merge_patch`), JSON patch (RFC 6902) and
strategic merge patch."""

from __future__ import annotations

from typing import Any

import jsonpatch

from flink_manager.kube.patches import apply_merge_patch
from flink_manager.schema.jsonvalues import json_copy
from flink_manager_dev.kubeapi.errors import ApiError, BadRequest

__all__ = ["apply_merge_patch", "json_patch", "strategic_merge_patch"]

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON, MERGE, STRATEGIC, APPLY)


class PatchFailed(ApiError):
    """422: a JSON patch that does not apply (a failed `test`, a missing path), worded as the apiserver's
    generic server response."""

    def __init__(self, cause: str = "") -> None:
        super().__init__(422, "Invalid", "the server rejected our request due to an error in our request", {})
        self.cause = cause


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 via the `jsonpatch` library; failures become 422 as on the apiserver."""
    if not isinstance(operations, list):
        raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError, IndexError) as exc:
        raise PatchFailed(str(exc)) from exc


# Lists whose elements are merged by key rather than replaced (from the built-in Go types' patch tags).
# The key is the dotted path with list indices dropped; the value is the merge key, or "" for a set of scalars.
MERGE_KEYS: dict[str, str] = {
    "metadata.finalizers": "",
    "metadata.ownerReferences": "uid",
    "spec.template.spec.containers": "name",
    "spec.template.spec.initContainers": "name",
    "spec.template.spec.volumes": "name",
    "spec.template.spec.containers.env": "name",
    "spec.template.spec.containers.ports": "containerPort",
    "spec.template.spec.containers.volumeMounts": "mountPath",
    "spec.containers": "name",
    "spec.volumes": "name",
    "spec.containers.env": "name",
    "spec.ports": "port",
    "spec.template.metadata.finalizers": "",
    "status.conditions": "type",
    "secrets": "name",
    "imagePullSecrets": "name",
}


def strategic_merge_patch(target: Any, patch: Any, path: str = "") -> Any:
    """Strategic merge patch for built-in kinds: merge keys from MERGE_KEYS, other lists replaced."""
    if not isinstance(patch, dict):
        return json_copy(patch)
    if patch.get("$patch") == "replace":
        return {k: json_copy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    deletions: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            deletions[key.split("/", 1)[1]] = list(value or [])
            continue
        child = f"{path}.{key}" if path else key
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and child in MERGE_KEYS:
            result[key] = _merge_list(result.get(key), value, MERGE_KEYS[child], child)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = json_copy(value)
    for key, removed in deletions.items():
        if isinstance(result.get(key), list):
            result[key] = [item for item in result[key] if item not in removed]
    return result


def _merge_list(current: Any, patch: list[Any], merge_key: str, path: str) -> list[Any]:
    merged = _merge_list_items(current, patch, merge_key, path)

    # The apiserver orders a merged list as the patch listed its items, then the server-only items.
    def identity(item: Any) -> Any:
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item

    patched = [identity(i) for i in patch if not (isinstance(i, dict) and i.get("$patch"))]
    first = [
        next(m for m in merged if identity(m) == key) for key in patched if any(identity(m) == key for m in merged)
    ]
    rest = [m for m in merged if identity(m) not in patched]
    return first + rest


def _merge_list_items(current: Any, patch: list[Any], merge_key: str, path: str) -> list[Any]:
    items = list(current) if isinstance(current, list) else []
    if not merge_key:  # a set of scalars: union
        for item in patch:
            if item not in items:
                items.append(item)
        return items
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [json_copy(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            items.append(json_copy(item))
            continue
        index = next(
            (i for i, old in enumerate(items) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                items.pop(index)
            continue
        if index is None:
            items.append(strategic_merge_patch({}, item, path))
        else:
            items[index] = strategic_merge_patch(items[index], item, path)
    return items
