"""`metadata.managedFields`: which manager set which fields, as FieldsV1 tries, maintained on every write."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flink_manager_dev.kubeapi.patches import MERGE_KEYS

Path = tuple[str, ...]
MAP = object()  # marks a map node in a flattened object
ITEM = object()  # marks a keyed list item node

# Fields that are the server's, never a manager's.
IGNORED: frozenset[Path] = frozenset(
    {
        ("f:apiVersion",),
        ("f:kind",),
        ("f:metadata", "f:name"),
        ("f:metadata", "f:namespace"),
        ("f:metadata", "f:uid"),
        ("f:metadata", "f:resourceVersion"),
        ("f:metadata", "f:generation"),
        ("f:metadata", "f:creationTimestamp"),
        ("f:metadata", "f:deletionTimestamp"),
        ("f:metadata", "f:deletionGracePeriodSeconds"),
        ("f:metadata", "f:managedFields"),
        ("f:metadata", "f:selfLink"),
    }
)

ListTypeOf = Callable[[tuple[str, ...]], tuple[str, list[str]]]  # dotted names → ("atomic"|"set"|"map", keys)


def list_types_from_schema(schema: dict[str, Any] | None) -> ListTypeOf:
    """List semantics from a CRD schema (x-kubernetes-list-type), plus ObjectMeta's own lists."""

    def lookup(names: tuple[str, ...]) -> tuple[str, list[str]]:
        dotted = ".".join(names)
        if dotted == "metadata.finalizers":
            return ("set", [])
        if dotted == "metadata.ownerReferences":
            return ("map", ["uid"])
        node: Any = schema
        for name in names:
            if not isinstance(node, dict):
                return ("atomic", [])
            if name == "[]":
                node = node.get("items")
                continue
            properties = node.get("properties") or {}
            if name in properties:
                node = properties[name]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return ("atomic", [])
        if not isinstance(node, dict):
            return ("atomic", [])
        kind = node.get("x-kubernetes-list-type", "atomic")
        return (kind, list(node.get("x-kubernetes-list-map-keys") or []))

    return lookup


def list_types_builtin(names: tuple[str, ...]) -> tuple[str, list[str]]:
    """List semantics of built-in kinds, from the strategic-merge keys we know."""
    dotted = ".".join(n for n in names if n != "[]")
    if dotted in MERGE_KEYS:
        key = MERGE_KEYS[dotted]
        return ("set", []) if not key else ("map", [key])
    return ("atomic", [])


def flatten(obj: Any, list_type_of: ListTypeOf) -> dict[Path, Any]:
    """Every node path of an object (maps as MAP, keyed list items as ITEM, leaves with their value)."""
    out: dict[Path, Any] = {}
    _flatten(obj, (), (), list_type_of, out)
    return out


def _flatten(value: Any, path: Path, names: tuple[str, ...], lt: ListTypeOf, out: dict[Path, Any]) -> None:
    if isinstance(value, dict):
        if path:
            out[path] = MAP
        for k, v in value.items():
            _flatten(v, path + (f"f:{k}",), names + (k,), lt, out)
        return
    if isinstance(value, list) and path:
        kind, keys = lt(names)
        if kind == "set":
            out[path] = MAP
            for item in value:
                out[path + ("v:" + json.dumps(item, separators=(",", ":")),)] = item
            return
        if kind == "map" and keys:
            out[path] = MAP
            for item in value:
                if not isinstance(item, dict):
                    continue
                key = {k: item[k] for k in keys if k in item}
                item_path = path + ("k:" + json.dumps(key, separators=(",", ":"), sort_keys=True),)
                out[item_path] = ITEM
                for k, v in item.items():
                    _flatten(v, item_path + (f"f:{k}",), names + ("[]", k), lt, out)
            return
    out[path] = value


def _ignored(path: Path, exclude_status: bool, only_status: bool) -> bool:
    if path[:2] in IGNORED or path[:1] in IGNORED:
        return True
    if path == ("f:metadata",):
        return True
    top = path[0]
    if only_status:
        return top != "f:status"
    return exclude_status and top == "f:status"


def changed_paths(
    old: Any, new: Any, lt: ListTypeOf, exclude_status: bool, only_status: bool
) -> tuple[set[Path], set[Path]]:
    """(added or modified paths, removed paths) between two versions, as an Update operation owns them."""
    before, after = flatten(old or {}, lt), flatten(new, lt)
    changed: set[Path] = set()
    for path, value in after.items():
        if _ignored(path, exclude_status, only_status):
            continue
        if (
            path not in before
            or (value is not MAP and value is not ITEM and before[path] != value)
            or (value is MAP) != (before[path] is MAP)
        ):
            changed.add(path)
    removed = {p for p in before if p not in after and not _ignored(p, exclude_status, only_status)}
    return changed, removed


def applied_paths(config: Any, lt: ListTypeOf, exclude_status: bool, only_status: bool) -> set[Path]:
    """The fields an apply configuration sets: leaves, list items and empty maps (not non-empty maps)."""
    flat = flatten(config, lt)
    result: set[Path] = set()
    for path, value in flat.items():
        if _ignored(path, exclude_status, only_status):
            continue
        if value is MAP:
            has_children = any(len(p) > len(path) and p[: len(path)] == path for p in flat)
            if has_children:
                continue
        result.add(path)
    return result


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    """Render a set of paths as a FieldsV1 trie (a node that is itself owned and has children gets `.`)."""
    trie: dict[str, Any] = {}
    for path in sorted(paths):
        node = trie
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = trie
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return _sorted(trie)


def _sorted(node: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted(node[k]) for k in sorted(node)}


def from_fields_v1(trie: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """The set of paths a FieldsV1 trie lists."""
    paths: set[Path] = set()
    for element, sub in (trie or {}).items():
        if element == ".":
            paths.add(prefix)
            continue
        path = prefix + (element,)
        if not sub:
            paths.add(path)
        else:
            paths |= from_fields_v1(sub, path)
    return paths


def update_entries(
    entries: list[dict[str, Any]],
    *,
    manager: str,
    operation: str,
    api_version: str,
    subresource: str | None,
    time: str,
    owned: set[Path] | None = None,
    added: set[Path] = frozenset(),  # type: ignore[assignment]
    removed: set[Path] = frozenset(),  # type: ignore[assignment]
    take_from_others: bool = True,
) -> list[dict[str, Any]]:
    """Record a write: the manager owns `owned` (apply) or gains `added` (update); others lose what it took."""
    result: list[dict[str, Any]] = []
    mine: dict[str, Any] | None = None
    taken = (owned if owned is not None else set(added)) | set(removed)
    for entry in entries:
        same = (
            entry.get("manager") == manager
            and entry.get("operation") == operation
            and (entry.get("subresource") or None) == subresource
            and (operation == "Apply" or entry.get("apiVersion") == api_version)
        )
        if same:
            mine = entry
            continue
        if take_from_others and taken:
            paths = from_fields_v1(entry.get("fieldsV1") or {}) - _covered(taken, entry)
            if not paths:
                continue
            entry = dict(entry, fieldsV1=to_fields_v1(paths))
        result.append(entry)
    if owned is not None:
        paths = set(owned)
    else:
        previous = from_fields_v1(mine.get("fieldsV1") or {}) if mine else set()
        paths = (previous - set(removed)) | set(added)
    if paths:
        new_entry: dict[str, Any] = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(paths),
        }
        if subresource:
            new_entry["subresource"] = subresource
        if mine is not None and owned is None and not added:
            new_entry["time"] = mine.get("time", time)  # the time moves only when this manager set something
        result.append(new_entry)
    return sort_entries(result)


def _covered(taken: set[Path], entry: dict[str, Any]) -> set[Path]:
    return set(taken)


def sort_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The apiserver's order: Apply before Update, then by time, manager, apiVersion, subresource."""
    return sorted(
        entries,
        key=lambda e: (
            e.get("operation", ""),
            e.get("time", ""),
            e.get("manager", ""),
            e.get("apiVersion", ""),
            e.get("subresource", ""),
        ),
    )


def manager_from_user_agent(user_agent: str | None) -> str:
    """The default field manager: the User-Agent up to its first `/` (at most 128 characters)."""
    if not user_agent:
        return ""
    return "".join(ch for ch in user_agent.split("/", 1)[0] if ch.isprintable())[:128]
