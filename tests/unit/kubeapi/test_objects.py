"""Object semantics without HTTP: generation, resourceVersion, status subresource, deletion, GC, managedFields."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest

from flink_manager.schema.crds import resource_types
from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi import errors
from flink_manager_dev.kubeapi.builtins import builtin_types
from flink_manager_dev.kubeapi.collector import Collector
from flink_manager_dev.kubeapi.objects import ObjectApi, WriteOptions
from flink_manager_dev.kubeapi.peering import PEERING_CRDS
from flink_manager_dev.kubeapi.registry import Registry
from flink_manager_dev.kubeapi.storage import Storage
from flink_manager_dev.kubeapi.watching import Watcher, WatchFilter, WatchHub

REPO = pathlib.Path(__file__).resolve().parents[3]
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.example.io"},
    "spec": {
        "group": "example.io",
        "scope": "Namespaced",
        "names": {"kind": "Thing", "plural": "things"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer", "default": 1},
                                    "tags": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "x-kubernetes-list-type": "set",
                                    },
                                },
                            },
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}


class World:
    """The object API with one custom kind, and the garbage collector run on demand."""

    def __init__(self) -> None:
        self.registry = Registry()
        for rt in builtin_types():
            self.registry.add(rt)
        (self.things,) = resource_types(CRD)
        self.registry.add(self.things)
        self.storage = Storage(window=100)
        self.hub = WatchHub()
        self.api = ObjectApi(self.registry, self.storage, self.hub, clock=lambda: NOW)
        self.collector = Collector(self.api, lambda crd: None)
        self.cm = self.registry.get("", "v1", "configmaps")
        assert self.cm is not None
        self.api.create(
            self.registry.get("", "v1", "namespaces"),
            None,
            {"metadata": {"name": "ns"}},
            WriteOptions(field_manager="setup"),
        )

    def thing(self, name: str, manager: str = "tester", **meta: Any) -> dict[str, Any]:
        body = {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": name, **meta}, "spec": {}}
        return self.api.create(self.things, "ns", body, WriteOptions(field_manager=manager)).body

    def patch(
        self, name: str, patch: bytes, sub: str | None = None, rt: ResourceType | None = None, manager: str = "tester"
    ) -> dict[str, Any]:
        stored, _ = self.api.patch(
            rt or self.things,
            "ns",
            name,
            "application/merge-patch+json",
            patch,
            WriteOptions(field_manager=manager),
            sub,
        )
        return stored.body


@pytest.fixture
def world() -> World:
    return World()


def test_resource_versions_come_from_one_counter(world: World) -> None:
    a = world.thing("a")
    b = world.api.create(world.cm, "ns", {"metadata": {"name": "c"}}, WriteOptions()).body
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1


@pytest.mark.parametrize(
    ("patch", "sub", "generation", "new_version"),
    [
        pytest.param(b'{"spec":{"size":2}}', None, 2, True, id="spec"),
        pytest.param(b'{"metadata":{"labels":{"a":"b"}}}', None, 1, True, id="metadata"),
        pytest.param(b'{"status":{"x":1}}', "status", 1, True, id="status-subresource"),
        pytest.param(b'{"status":{"x":1}}', None, 1, False, id="status-via-main-resource-is-ignored"),
        pytest.param(b'{"spec":{"size":1}}', None, 1, False, id="no-op"),
    ],
)
def test_generation_rules(world: World, patch: bytes, sub: str | None, generation: int, new_version: bool) -> None:
    before = world.thing("a")
    after = world.patch("a", patch, sub)
    assert after["metadata"]["generation"] == generation
    assert (after["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]) is new_version


def test_deletion_waits_for_finalizers(world: World) -> None:
    world.thing("a", finalizers=["example.io/hold"])
    pending, status = world.api.delete(world.things, "ns", "a", {}, WriteOptions())
    assert status is None and pending is not None
    assert pending.meta["deletionTimestamp"] == "2025-01-01T00:00:00Z"
    assert pending.meta["deletionGracePeriodSeconds"] == 0 and pending.meta["generation"] == 2
    world.patch("a", b'{"metadata":{"finalizers":[]}}')
    assert world.storage.get(world.things.storage_key, "ns", "a") is None


def _owned_configmap(world: World, name: str, owner: dict[str, Any], block: bool = False) -> None:
    ref = {
        "apiVersion": "example.io/v1",
        "kind": "Thing",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": block,
    }
    world.api.create(world.cm, "ns", {"metadata": {"name": name, "ownerReferences": [ref]}}, WriteOptions())


@pytest.mark.parametrize(
    ("policy", "survives", "keeps_reference"),
    [
        pytest.param(None, False, False, id="background-default"),
        pytest.param("Foreground", False, False, id="foreground"),
        pytest.param("Orphan", True, False, id="orphan"),
    ],
)
def test_garbage_collection(world: World, policy: str | None, survives: bool, keeps_reference: bool) -> None:
    owner = world.thing("owner")
    _owned_configmap(world, "dep", owner, block=True)
    world.api.delete(world.things, "ns", "owner", {"propagationPolicy": policy} if policy else {}, WriteOptions())
    world.collector.run_pending()
    dependent = world.storage.get(world.cm.storage_key, "ns", "dep")
    assert (dependent is not None) is survives
    assert world.storage.get(world.things.storage_key, "ns", "owner") is None
    if dependent is not None:
        assert bool(dependent.meta.get("ownerReferences")) is keeps_reference


def test_dependent_with_another_owner_loses_only_the_dangling_reference(world: World) -> None:
    first, second = world.thing("first"), world.thing("second")
    refs = [
        {"apiVersion": "example.io/v1", "kind": "Thing", "name": o["metadata"]["name"], "uid": o["metadata"]["uid"]}
        for o in (first, second)
    ]
    world.api.create(world.cm, "ns", {"metadata": {"name": "dep", "ownerReferences": refs}}, WriteOptions())
    world.api.delete(world.things, "ns", "first", {}, WriteOptions())
    world.collector.run_pending()
    dependent = world.storage.get(world.cm.storage_key, "ns", "dep")
    assert dependent is not None
    assert [r["name"] for r in dependent.meta["ownerReferences"]] == ["second"]


def test_managed_fields_follow_each_manager(world: World) -> None:
    world.thing("a", manager="creator")
    world.patch("a", b'{"spec":{"size":3}}', manager="editor")
    world.patch("a", b'{"status":{"phase":"Up"}}', "status", manager="operator")
    entries = world.storage.get(world.things.storage_key, "ns", "a").meta["managedFields"]  # type: ignore[union-attr]
    assert [(e["manager"], e.get("subresource")) for e in entries] == [
        ("creator", None),
        ("editor", None),
        ("operator", "status"),
    ]
    by_manager = {e["manager"]: e["fieldsV1"] for e in entries}
    assert by_manager["creator"] == {"f:spec": {}}  # size moved to the editor
    assert by_manager["editor"] == {"f:spec": {"f:size": {}}}
    assert by_manager["operator"] == {"f:status": {".": {}, "f:phase": {}}}


def test_stale_resource_version_in_a_patch_conflicts(world: World) -> None:
    created = world.thing("a")
    world.patch("a", b'{"spec":{"size":2}}')
    with pytest.raises(errors.Conflict):
        world.patch(
            "a",
            b'{"metadata":{"resourceVersion":"%s"},"spec":{"size":3}}'
            % created["metadata"]["resourceVersion"].encode(),
        )


def test_create_in_a_missing_namespace_is_not_found(world: World) -> None:
    with pytest.raises(errors.NotFound) as failed:
        world.api.create(world.cm, "nowhere", {"metadata": {"name": "x"}}, WriteOptions())
    assert failed.value.message == 'namespaces "nowhere" not found'


def _lines(watcher: Watcher) -> list[str]:
    import json

    return [f"{json.loads(line)['type']} {json.loads(line)['object']['spec'].get('size')}" for line in watcher.lines]


def test_paused_watchers_get_the_latest_state_on_resume(world: World) -> None:
    watcher = Watcher(
        world.things.storage_key,
        WatchFilter(),
        lambda kind, stored, rv: b'{"type":"' + kind.encode() + b'","object":' + stored.json() + b"}",
    )
    world.hub.add(watcher)
    world.thing("a")
    world.hub.pause()
    for size in (2, 3, 4):
        world.patch("a", b'{"spec":{"size":%d}}' % size)
    world.thing("b")
    world.api.delete(world.things, "ns", "b", {}, WriteOptions())
    assert _lines(watcher) == ["ADDED 1"]
    world.hub.resume()
    assert _lines(watcher) == ["ADDED 1", "MODIFIED 4"]


def test_watch_window_is_bounded(world: World) -> None:
    world.thing("a")
    for size in range(200):
        world.patch("a", b'{"spec":{"size":%d}}' % (size + 2))
    assert len(world.storage.changes_after(0)) == 100
    assert world.storage.compacted_revision > 1


def test_peering_crds_are_valid_and_those_of_deploy() -> None:
    import yaml

    deploy = (REPO / "deploy" / "kopf-peering-crds.yaml").read_text()
    deployed = {crd["metadata"]["name"]: crd for crd in yaml.safe_load_all(deploy)}
    for crd in PEERING_CRDS:
        (rt,) = resource_types(crd)
        assert rt.group == "kopf.dev" and rt.custom
        assert crd["spec"] == deployed[crd["metadata"]["name"]]["spec"]
