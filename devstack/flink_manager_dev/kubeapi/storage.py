"""In-memory object storage: one revision counter, current objects only, and a bounded window of changes."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

StorageKey = tuple[str, str]  # (group, plural)


@dataclass
class Stored:
    """One version of an object; never mutated after it is stored, so it can be shared with watchers."""

    body: dict[str, Any]
    schema_epoch: int = 0
    _json: bytes | None = field(default=None, repr=False)

    def json(self) -> bytes:
        """The object serialised once and reused for every reader and watcher."""
        if self._json is None:
            self._json = json.dumps(self.body, separators=(",", ":")).encode()
        return self._json

    @property
    def meta(self) -> dict[str, Any]:
        """`metadata`."""
        meta: dict[str, Any] = self.body["metadata"]
        return meta


@dataclass
class Change:
    """One committed change: what watchers see, and what watch resumption replays."""

    revision: int
    storage_key: StorageKey
    type: str  # ADDED | MODIFIED | DELETED
    new: Stored
    old: Stored | None


class Storage:
    """Current objects keyed by resource, namespace and name; writes are O(1) and keep no history but `window`."""

    def __init__(self, window: int = 2000) -> None:
        self.revision = 1
        self._objects: dict[StorageKey, dict[str, dict[str, Stored]]] = {}
        self._changes: deque[Change] = deque(maxlen=window)
        self._compacted = 1  # the oldest revision a watch can resume after
        self._owners: dict[str, set[tuple[StorageKey, str, str]]] = {}  # owner uid → dependents
        self._by_uid: dict[str, tuple[StorageKey, str, str]] = {}

    def get(self, sk: StorageKey, namespace: str, name: str) -> Stored | None:
        """The current version of one object."""
        return self._objects.get(sk, {}).get(namespace, {}).get(name)

    def iter(self, sk: StorageKey, namespace: str | None = None) -> Iterator[Stored]:
        """Objects of one resource, in one namespace or all, ordered by namespace and name like etcd keys."""
        by_namespace = self._objects.get(sk, {})
        namespaces = [namespace] if namespace is not None else sorted(by_namespace)
        for ns in namespaces:
            objects = by_namespace.get(ns, {})
            for name in sorted(objects):
                yield objects[name]

    def count(self, sk: StorageKey, namespace: str | None = None) -> int:
        """How many objects a resource has (in one namespace or all)."""
        by_namespace = self._objects.get(sk, {})
        if namespace is not None:
            return len(by_namespace.get(namespace, {}))
        return sum(len(v) for v in by_namespace.values())

    def namespaces_with_objects(self, namespace: str) -> Iterator[StorageKey]:
        """Resources that still have objects in a namespace."""
        for sk, by_namespace in self._objects.items():
            if by_namespace.get(namespace):
                yield sk

    def next_revision(self) -> int:
        """Allocate the next revision (every write takes one, as etcd's revision)."""
        self.revision += 1
        return self.revision

    def put(self, sk: StorageKey, new: Stored, old: Stored | None, revision: int) -> Change:
        """Store a created or updated version; return the change to publish."""
        meta = new.meta
        namespace, name = meta.get("namespace", ""), meta["name"]
        self._objects.setdefault(sk, {}).setdefault(namespace, {})[name] = new
        self._by_uid[meta["uid"]] = (sk, namespace, name)
        self._reindex_owners(sk, namespace, name, old, new)
        change = Change(revision, sk, "ADDED" if old is None else "MODIFIED", new, old)
        self._record(change)
        return change

    def remove(self, sk: StorageKey, final: Stored, old: Stored, revision: int) -> Change:
        """Delete an object; `final` is its last state with the deletion's revision."""
        meta = final.meta
        namespace, name = meta.get("namespace", ""), meta["name"]
        by_namespace = self._objects.get(sk, {})
        objects = by_namespace.get(namespace, {})
        objects.pop(name, None)
        if not objects:
            by_namespace.pop(namespace, None)
        self._by_uid.pop(meta.get("uid", ""), None)
        self._reindex_owners(sk, namespace, name, old, None)
        change = Change(revision, sk, "DELETED", final, old)
        self._record(change)
        return change

    def _record(self, change: Change) -> None:
        if len(self._changes) == self._changes.maxlen and self._changes:
            self._compacted = self._changes[0].revision
        self._changes.append(change)

    def compact(self) -> None:
        """Forget every recorded change: watches resuming from before now get 410 Gone."""
        self._changes.clear()
        self._compacted = self.revision

    @property
    def compacted_revision(self) -> int:
        """Watches can resume from this revision or later."""
        return self._compacted

    def changes_after(self, revision: int) -> list[Change]:
        """Recorded changes newer than a revision (the caller checks `compacted_revision` first)."""
        if not self._changes or revision >= self._changes[-1].revision:
            return []
        # Binary search over the deque's revisions (they increase monotonically).
        lo, hi = 0, len(self._changes)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._changes[mid].revision <= revision:
                lo = mid + 1
            else:
                hi = mid
        return [self._changes[i] for i in range(lo, len(self._changes))]

    def by_uid(self, uid: str) -> tuple[StorageKey, str, str] | None:
        """Where the object with this uid is stored, if it exists."""
        return self._by_uid.get(uid)

    def dependents(self, owner_uid: str) -> list[tuple[StorageKey, str, str]]:
        """Objects with an ownerReference to this uid."""
        return sorted(self._owners.get(owner_uid, ()))

    def _reindex_owners(
        self, sk: StorageKey, namespace: str, name: str, old: Stored | None, new: Stored | None
    ) -> None:
        old_uids = {r.get("uid") for r in (old.meta.get("ownerReferences") or ())} if old else set()
        new_uids = {r.get("uid") for r in (new.meta.get("ownerReferences") or ())} if new else set()
        ref = (sk, namespace, name)
        for uid in old_uids - new_uids:
            dependents = self._owners.get(uid)
            if dependents is not None:
                dependents.discard(ref)
                if not dependents:
                    del self._owners[uid]
        for uid in new_uids - old_uids:
            if uid:
                self._owners.setdefault(uid, set()).add(ref)

    def drop_resource(self, sk: StorageKey) -> None:
        """Forget every object of a resource (its CRD is gone)."""
        for objects in self._objects.pop(sk, {}).values():
            for stored in objects.values():
                self._by_uid.pop(stored.meta.get("uid", ""), None)
