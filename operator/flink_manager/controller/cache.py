"""The operator's view of its resources: the newest body of each object, from watch events and own writes.

It is filled by one LIST per kind at start-up (before any reconcile, so no decision sees half a
cluster), then kept current by kopf's watch events; every write the operator makes updates it at once,
so the next reconcile does not act on the version it has just replaced. Bodies are slimmed: managedFields are
reduced to who last changed spec, and an Execution's first-attempt intent is dropped once its status records it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from flink_manager.controller.metadata import FIRST_ATTEMPT, records_no_attempt
from flink_manager.reconcile.performer import spec_manager

Body = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)

SPEC_MANAGER = "flinkmanager.io/spec-manager"  # where a slim body keeps the last spec writer


SHARED_STRING_LENGTH = 48  # strings up to this long are shared between cached bodies (names, enums, reasons)


def slim(body: Mapping[str, Any]) -> Body:
    """A copy of the body without managedFields (the spec writer is kept as an internal annotation), whose keys and
    short strings are shared with the other cached bodies (see `shared`)."""
    metadata = dict(body.get("metadata") or {})
    managed = metadata.pop("managedFields", None)
    if managed is not None:
        manager = spec_manager(managed)
        if manager:
            metadata["annotations"] = {**(metadata.get("annotations") or {}), SPEC_MANAGER: manager}
    annotations = metadata.get("annotations")
    if annotations and FIRST_ATTEMPT in annotations and not records_no_attempt(body.get("status")):
        metadata["annotations"] = {k: v for k, v in annotations.items() if k != FIRST_ATTEMPT}  # stale: never read
    result = {key: value for key, value in body.items() if key != "metadata"}
    result["metadata"] = metadata
    return cast(Body, shared(result))


def shared(value: Any) -> Any:
    """A deep copy of a JSON value whose keys and short strings are interned.

    Each JSON parse allocates its own copy of every field name and enum value; thousands of cached bodies repeat
    the same ones (an Execution's history alone repeats a dozen keys per entry). Interned, each string exists once
    while any body uses it."""
    if isinstance(value, dict):
        return {sys.intern(key): shared(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shared(item) for item in value]
    if type(value) is str and len(value) <= SHARED_STRING_LENGTH:
        return sys.intern(value)
    return value


def resource_version(body: Mapping[str, Any] | None) -> int:
    """The resourceVersion as a number (they are etcd revisions), or -1 when absent or opaque."""
    if not body:
        return -1
    value = (body.get("metadata") or {}).get("resourceVersion")
    if value is None:
        return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


IndexFn = Callable[[Body], Iterable[str]]
ChangeFn = Callable[[str, "Body | None", "Body | None"], None]


class Cache:
    """Bodies by kind and (namespace, name), keeping the newest version seen, with secondary indexes
    (e.g. the executions of a JobSpec) so that no lookup scans all objects."""

    def __init__(self) -> None:
        self._bodies: dict[str, dict[Key, Body]] = defaultdict(dict)
        self._index_fns: dict[str, dict[str, IndexFn]] = defaultdict(dict)
        self._indexes: dict[tuple[str, str], dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
        self.on_change: ChangeFn | None = None  # (kind, old, new): called for every stored change, own writes included
        # The uid of the last deleted object of each key: the answer to a write made just before the deletion can
        # arrive after the DELETED event (removing the last finalizer does: it answers with the version before the
        # deletion), and must not bring the object back. A uid is never reused, so nothing of it is news any more.
        self._deleted: dict[str, dict[Key, str]] = defaultdict(dict)

    def add_index(self, kind: str, index: str, fn: IndexFn) -> None:
        """Index bodies of `kind` by the values `fn` returns (within their namespace)."""
        self._index_fns[kind][index] = fn

    def lookup(self, kind: str, index: str, namespace: str, value: str) -> list[Body]:
        """Bodies of `kind` in `namespace` whose index `index` contains `value`."""
        names = self._indexes[(kind, index)].get((namespace, value), set())
        bodies = (self._bodies[kind].get((namespace, name)) for name in sorted(names))
        return [body for body in bodies if body is not None]

    def put(self, kind: str, body: Mapping[str, Any]) -> bool:
        """Store a body unless the same or a newer version is already known. True when it was news."""
        metadata = body.get("metadata") or {}
        key = (metadata.get("namespace") or "", metadata.get("name") or "")
        deleted_uid = self._deleted[kind].get(key)
        if deleted_uid is not None:
            if deleted_uid == metadata.get("uid"):
                return False  # a version of an object already deleted
            del self._deleted[kind][key]
        current = self._bodies[kind].get(key)
        if current is not None:
            old_uid = (current.get("metadata") or {}).get("uid")
            same_object = old_uid == metadata.get("uid")
            if same_object and 0 <= resource_version(body) <= resource_version(current):
                return False  # a late event about a version already known
            self._unindex(kind, key, current)
        slimmed = slim(body)
        self._bodies[kind][key] = slimmed
        self._reindex(kind, key, slimmed)
        if self.on_change is not None:
            self.on_change(kind, current, slimmed)
        return True

    def remove(self, kind: str, namespace: str, name: str, uid: str | None = None) -> None:
        """Forget a deleted object; later bodies of it (answers to writes made before the deletion) are ignored."""
        current = self._bodies[kind].get((namespace, name))
        current_uid = (current.get("metadata") or {}).get("uid") if current is not None else None
        if uid or current_uid:
            self._deleted[kind][(namespace, name)] = uid or current_uid  # type: ignore[assignment]
        if current is not None and (uid is None or current_uid == uid):
            self._unindex(kind, (namespace, name), current)
            del self._bodies[kind][(namespace, name)]
            if self.on_change is not None:
                self.on_change(kind, current, None)

    def _reindex(self, kind: str, key: Key, body: Body) -> None:
        for index, fn in self._index_fns[kind].items():
            for value in fn(body):
                self._indexes[(kind, index)][(key[0], value)].add(key[1])

    def _unindex(self, kind: str, key: Key, body: Body) -> None:
        for index, fn in self._index_fns[kind].items():
            for value in fn(body):
                names = self._indexes[(kind, index)].get((key[0], value))
                if names is not None:
                    names.discard(key[1])
                    if not names:
                        del self._indexes[(kind, index)][(key[0], value)]

    def get(self, kind: str, namespace: str, name: str) -> Body | None:
        return self._bodies[kind].get((namespace, name))

    def items(self, kind: str, namespace: str | None = None) -> Iterator[Body]:
        for (ns, _), body in list(self._bodies[kind].items()):
            if namespace is None or ns == namespace:
                yield body

    def count(self, kind: str) -> int:
        return len(self._bodies[kind])
