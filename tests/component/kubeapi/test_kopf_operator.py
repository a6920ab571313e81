"""A toy kopf operator run in-process against the embedded API: list/watch, status patches, events, finalizers, peering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import kopf
import pytest

from flink_manager_dev.kubeapi import EmbeddedKubernetes
from tests.component.kubeapi.conftest import WIDGETS_CRD
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(90)
GROUP_VERSION = "test.flinkmanager.io/v1"


@dataclass
class ToyOperator:
    """What the toy operator's handlers observed."""

    created: list[str] = field(default_factory=list)
    updated: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def toy_registry(seen: ToyOperator, url: str) -> kopf.OperatorRegistry:
    """Handlers for widgets: status on create/update, an event, and a deletion handler (so, a finalizer)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=url, default_namespace="default")

    @kopf.on.create("test.flinkmanager.io", "v1", "widgets", registry=registry)
    def created(name: str, spec: Any, patch: kopf.Patch, body: kopf.Body, **_: Any) -> None:
        seen.created.append(name)
        patch.status["phase"] = "Created"
        patch.status["observedGeneration"] = body["metadata"]["generation"]
        kopf.info(body, reason="Created", message=f"widget of size {spec['size']}")

    @kopf.on.update("test.flinkmanager.io", "v1", "widgets", field="spec", registry=registry)
    def updated(name: str, spec: Any, patch: kopf.Patch, body: kopf.Body, **_: Any) -> None:
        seen.updated.append((name, spec["size"]))
        patch.status["phase"] = "Updated"
        patch.status["observedGeneration"] = body["metadata"]["generation"]

    @kopf.on.delete("test.flinkmanager.io", "v1", "widgets", registry=registry)
    def deleted(name: str, **_: Any) -> None:
        seen.deleted.append(name)

    return registry


@contextlib.asynccontextmanager
async def running(api: EmbeddedKubernetes, seen: ToyOperator, *, peering: str | None = None) -> AsyncIterator[None]:
    """Run the toy operator until the block ends."""
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 10
    settings.posting.level = logging.INFO
    settings.persistence.finalizer = "test.flinkmanager.io/toy"
    if peering:
        settings.peering.name = peering
        settings.peering.mandatory = True
        settings.peering.lifetime = 30
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=toy_registry(seen, api.url),
            settings=settings,
            namespaces=["default"],
            stop_flag=stop,
            ready_flag=ready,
            standalone=peering is None,
            peering_name=peering,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(task, 30)


@pytest.fixture
async def api() -> AsyncIterator[EmbeddedKubernetes]:
    """The embedded API with the Widget CRD, on the test's event loop."""
    server = EmbeddedKubernetes(crds=[WIDGETS_CRD])
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _widget(name: str, size: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"owner": "alice", "size": size},
    }


async def test_kopf_handles_create_update_delete_with_status_events_and_finalizers(api: EmbeddedKubernetes) -> None:
    seen = ToyOperator()
    async with running(api, seen):
        api.create(_widget("w1", size=2))
        status = await wait_for(
            lambda: (api.get(GROUP_VERSION, "Widget", "w1") or {}).get("status"), what="status patched by the operator"
        )
        assert status == {"phase": "Created", "observedGeneration": 1}
        widget = api.get(GROUP_VERSION, "Widget", "w1")
        assert widget is not None and "test.flinkmanager.io/toy" in widget["metadata"]["finalizers"]
        events = await wait_for(
            lambda: [e for e in api.list("v1", "Event", "default") if e["involvedObject"].get("name") == "w1"],
            what="event posted",
        )
        assert events[0]["reason"] == "Created" and events[0]["message"] == "widget of size 2"

        current = api.get(GROUP_VERSION, "Widget", "w1")
        assert current is not None
        current["spec"]["size"] = 5
        api.apply(current)
        await wait_for(lambda: ("w1", 5) in seen.updated, what="update handled")
        await wait_for(
            lambda: (api.get(GROUP_VERSION, "Widget", "w1") or {}).get("status", {}).get("observedGeneration") == 2,
            what="observedGeneration 2",
        )

        api.delete(GROUP_VERSION, "Widget", "w1")
        await wait_for(lambda: api.get(GROUP_VERSION, "Widget", "w1") is None, what="finalizer released")
        assert seen.deleted == ["w1"]
    assert seen.created == ["w1"]


async def test_kopf_status_writes_are_recorded_under_its_manager(api: EmbeddedKubernetes) -> None:
    seen = ToyOperator()
    async with running(api, seen):
        api.create(_widget("w2"))
        await wait_for(lambda: (api.get(GROUP_VERSION, "Widget", "w2") or {}).get("status"), what="status")
    widget = api.get(GROUP_VERSION, "Widget", "w2")
    assert widget is not None
    managers = {(e["manager"], e.get("subresource", "")) for e in widget["metadata"]["managedFields"]}
    assert ("kopf", "status") in managers and ("kopf", "") in managers


async def test_kopf_peering_announces_itself(api: EmbeddedKubernetes) -> None:
    api.create(
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "toy", "namespace": "default"}}
    )
    seen = ToyOperator()
    async with running(api, seen, peering="toy"):
        peers = await wait_for(
            lambda: (api.get("kopf.dev/v1", "KopfPeering", "toy", "default") or {}).get("status"),
            what="the operator's peering record",
        )
        assert len(peers) == 1
        api.create(_widget("w3"))
        await wait_for(lambda: "w3" in seen.created, what="handled while peering")
    left = await wait_for(
        lambda: (api.get("kopf.dev/v1", "KopfPeering", "toy", "default") or {}).get("status") in (None, {}),
        what="the operator left the peering",
    )
    assert left
