"""Controllers the apiserver relies on: ownerReference garbage collection, namespace and CRD cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from flink_manager.schema import crds
from flink_manager.schema.jsonvalues import json_copy
from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi import errors
from flink_manager_dev.kubeapi.objects import GC_MANAGER, ObjectApi, WriteOptions
from flink_manager_dev.kubeapi.storage import Change, StorageKey, Stored

NAMESPACES: StorageKey = ("", "namespaces")
CRDS: StorageKey = ("apiextensions.k8s.io", "customresourcedefinitions")


class Collector:
    """Reacts to changes after each request, like kube-controller-manager's GC and namespace controllers."""

    def __init__(self, api: ObjectApi, on_crd_removed: Callable[[Stored], None]) -> None:
        self.api = api
        self.on_crd_removed = on_crd_removed
        self._pending: dict[tuple[str, ...], None] = {}
        self._scheduled = False
        api.after_change.append(self._observe)

    def _observe(self, change: Change) -> None:
        meta = change.new.meta
        uid = meta.get("uid", "")
        if change.type == "DELETED":
            self._queue(("orphaned-by", uid))
            if change.storage_key == CRDS:
                self.on_crd_removed(change.new)
        elif meta.get("deletionTimestamp"):
            self._queue(("terminating", uid))
        for ref in meta.get("ownerReferences") or ():
            self._queue(("terminating", ref.get("uid", "")))
        if change.type == "DELETED" and change.storage_key != NAMESPACES and meta.get("namespace"):
            ns = self.api.storage.get(NAMESPACES, "", meta["namespace"])
            if ns is not None and ns.meta.get("deletionTimestamp"):
                self._queue(("terminating", ns.meta["uid"]))
        if change.type == "DELETED" and change.storage_key[0] and change.storage_key != CRDS:
            self._queue(("crd-content", change.storage_key[0], change.storage_key[1]))
        if change.storage_key == CRDS and change.type != "DELETED" and not meta.get("deletionTimestamp"):
            status = change.new.body.get("status") or {}
            if status.get("acceptedNames") and status != crds.established_status(change.new.body, ""):
                self._queue(("crd-names", uid))

    def _queue(self, item: tuple[str, ...]) -> None:
        self._pending[item] = None
        if not self._scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: run_pending() is called explicitly
            self._scheduled = True
            loop.call_soon(self.run_pending)

    def run_pending(self) -> None:
        """Process everything queued (and whatever that queues in turn)."""
        self._scheduled = False
        for _ in range(10000):
            if not self._pending:
                return
            item = next(iter(self._pending))
            del self._pending[item]
            try:
                self._process(item)
            except errors.ApiError:
                pass  # a racing client changed the object; the next change re-queues the work

    def _process(self, item: tuple[str, ...]) -> None:
        if item[0] == "orphaned-by":
            self._collect_dependents(item[1])
        elif item[0] == "terminating":
            self._finish_terminating(item[1])
        elif item[0] == "crd-content":
            self._recheck_crd(item[1], item[2])
        elif item[0] == "crd-names":
            self._accept_names(item[1])

    def _locate(self, uid: str) -> tuple[ResourceType, Stored] | None:
        where = self.api.storage.by_uid(uid)
        if where is None:
            return None
        sk, ns, name = where
        stored = self.api.storage.get(sk, ns, name)
        rt = self._type_of(sk)
        if stored is None or rt is None:
            return None
        return rt, stored

    def _type_of(self, sk: StorageKey) -> ResourceType | None:
        versions = self.api.registry.storage_versions(*sk)
        for rt in versions:
            if rt.storage_version:
                return rt
        return versions[0] if versions else None

    def _collect_dependents(self, owner_uid: str) -> None:
        """The owner is gone: delete dependents with no owner left, drop dangling references from the others."""
        for sk, ns, name in self.api.storage.dependents(owner_uid):
            stored = self.api.storage.get(sk, ns, name)
            rt = self._type_of(sk)
            if stored is None or rt is None:
                continue
            refs = stored.meta.get("ownerReferences") or []
            alive = [r for r in refs if self.api.storage.by_uid(r.get("uid", "")) is not None]
            if alive:
                if len(alive) != len(refs):
                    body = json_copy(stored.body)
                    body["metadata"]["ownerReferences"] = alive
                    self.api.rewrite(rt, stored, body, GC_MANAGER)
                continue
            self.api.delete(
                rt, ns or None, name, {"propagationPolicy": "Background"}, WriteOptions(field_manager=GC_MANAGER)
            )

    def _finish_terminating(self, uid: str) -> None:
        found = self._locate(uid)
        if found is None:
            return
        rt, stored = found
        meta = stored.meta
        if not meta.get("deletionTimestamp"):
            return
        if rt.storage_key == NAMESPACES:
            self._empty_namespace(rt, stored)
            return
        if rt.storage_key == CRDS:
            self._empty_crd(rt, stored)
            return
        finalizers = meta.get("finalizers") or []
        dependents = self.api.storage.dependents(uid)
        if "orphan" in finalizers:
            for sk, ns, name in dependents:
                dependent = self.api.storage.get(sk, ns, name)
                drt = self._type_of(sk)
                if dependent is None or drt is None:
                    continue
                body = json_copy(dependent.body)
                body["metadata"]["ownerReferences"] = [
                    r for r in body["metadata"].get("ownerReferences") or () if r.get("uid") != uid
                ]
                if not body["metadata"]["ownerReferences"]:
                    del body["metadata"]["ownerReferences"]
                self.api.rewrite(drt, dependent, body, GC_MANAGER)
            self.api.remove_finalizer(rt, self.api.storage.get(*self._key(stored, rt)) or stored, "orphan")
            return
        if "foregroundDeletion" in finalizers:
            blocking = 0
            for sk, ns, name in dependents:
                dependent = self.api.storage.get(sk, ns, name)
                drt = self._type_of(sk)
                if dependent is None or drt is None:
                    continue
                ref: dict[str, Any] = next(
                    (r for r in dependent.meta.get("ownerReferences") or () if r.get("uid") == uid), {}
                )
                if ref.get("blockOwnerDeletion"):
                    blocking += 1
                if not dependent.meta.get("deletionTimestamp"):
                    policy = "Foreground" if ref.get("blockOwnerDeletion") else "Background"
                    self.api.delete(
                        drt, ns or None, name, {"propagationPolicy": policy}, WriteOptions(field_manager=GC_MANAGER)
                    )
            if blocking == 0:
                latest = self.api.storage.get(*self._key(stored, rt))
                if latest is not None:
                    self.api.remove_finalizer(rt, latest, "foregroundDeletion")

    @staticmethod
    def _key(stored: Stored, rt: ResourceType) -> tuple[StorageKey, str, str]:
        return (rt.storage_key, stored.meta.get("namespace", ""), stored.meta["name"])

    def _empty_namespace(self, rt: ResourceType, ns: Stored) -> None:
        name = ns.meta["name"]
        remaining = 0
        for sk in list(self.api.storage.namespaces_with_objects(name)):
            if sk == NAMESPACES:
                continue
            drt = self._type_of(sk)
            for stored in list(self.api.storage.iter(sk, name)):
                remaining += 1
                if drt is not None and not stored.meta.get("deletionTimestamp"):
                    self.api.delete(
                        drt,
                        name,
                        stored.meta["name"],
                        {"propagationPolicy": "Background"},
                        WriteOptions(field_manager="kube-controller-manager"),
                    )
        if remaining == 0 or not any(True for sk in self.api.storage.namespaces_with_objects(name) if sk != NAMESPACES):
            latest = self.api.storage.get(NAMESPACES, "", name)
            if latest is not None:
                self.api.finish_namespace(rt, latest)

    def _empty_crd(self, rt: ResourceType, crd: Stored) -> None:
        spec = crd.body.get("spec") or {}
        sk = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        crt = self._type_of(sk)
        for stored in list(self.api.storage.iter(sk)):
            if crt is not None and not stored.meta.get("deletionTimestamp"):
                self.api.delete(
                    crt,
                    stored.meta.get("namespace") or None,
                    stored.meta["name"],
                    {"propagationPolicy": "Background"},
                    WriteOptions(field_manager=GC_MANAGER),
                )
        if self.api.storage.count(sk) == 0:
            latest = self.api.storage.get(CRDS, "", crd.meta["name"])
            if latest is not None and crds.CLEANUP_FINALIZER in (latest.meta.get("finalizers") or ()):
                self.api.remove_finalizer(rt, latest, crds.CLEANUP_FINALIZER)

    def _accept_names(self, uid: str) -> None:
        """The naming controller: accept a CRD's changed names (and stored versions) into its status."""
        found = self._locate(uid)
        if found is None:
            return
        rt, crd = found
        status = crds.established_status(crd.body, self.api.now())
        if status != crd.body.get("status"):
            self.api.write_status(rt, crd, status, "kube-apiserver")

    def _recheck_crd(self, group: str, plural: str) -> None:
        for crd in self.api.storage.iter(CRDS):
            spec = crd.body.get("spec") or {}
            if (
                spec.get("group") == group
                and (spec.get("names") or {}).get("plural") == plural
                and crd.meta.get("deletionTimestamp")
            ):
                self._queue(("terminating", crd.meta["uid"]))
