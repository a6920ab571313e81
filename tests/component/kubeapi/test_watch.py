"""Watch streams on the embedded API: bookmarks, server-side timeouts, initial events, namespaces, fan-out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from flink_manager_dev.kubeapi import EmbeddedKubernetes
from tests.component.kubeapi.conftest import WIDGETS_CRD
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(60)
GV = "test.flinkmanager.io/v1"
CLUSTER_WIDGETS = "/apis/test.flinkmanager.io/v1/widgets"


@pytest.fixture
async def api() -> AsyncIterator[EmbeddedKubernetes]:
    server = EmbeddedKubernetes(crds=[WIDGETS_CRD], bookmark_interval=0.2)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http(api: EmbeddedKubernetes) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(api.url, timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


def _widget(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": GV,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"owner": "alice"},
    }


async def _events(http: aiohttp.ClientSession, path: str, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with http.get(path) as response:
        async for line in response.content:
            events.append(json.loads(line))
            if len(events) >= count:
                break
    return events


async def test_bookmarks_are_sent_when_allowed(api: EmbeddedKubernetes, http: aiohttp.ClientSession) -> None:
    api.create(_widget("w1"))
    events = await _events(
        http, f"{CLUSTER_WIDGETS}?watch=true&allowWatchBookmarks=true&resourceVersion={api.revision}", 1
    )
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"] == {
        "kind": "Widget",
        "apiVersion": GV,
        "metadata": {"resourceVersion": str(api.revision)},
    }


async def test_timeout_seconds_ends_the_stream(http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    events = await _events(http, f"{CLUSTER_WIDGETS}?watch=true&timeoutSeconds=1", 100)
    elapsed = time.monotonic() - started
    print(f"a watch with timeoutSeconds=1 ended after {elapsed:.2f}s")
    assert events == [] and elapsed < 10


async def test_send_initial_events_ends_with_a_marked_bookmark(
    api: EmbeddedKubernetes, http: aiohttp.ClientSession
) -> None:
    api.create(_widget("w1"))
    api.create(_widget("w2"))
    events = await _events(
        http,
        f"{CLUSTER_WIDGETS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
        f"&resourceVersionMatch=NotOlderThan",
        3,
    )
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_namespaced_watch_sees_only_its_namespace(api: EmbeddedKubernetes, http: aiohttp.ClientSession) -> None:
    api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    since = api.revision
    api.create(_widget("elsewhere", "other"))
    api.create(_widget("here"))
    events = await _events(http, f"/apis/{GV}/namespaces/default/widgets?watch=true&resourceVersion={since}", 1)
    assert [e["object"]["metadata"]["name"] for e in events] == ["here"]


async def test_one_change_reaches_every_watcher(api: EmbeddedKubernetes, http: aiohttp.ClientSession) -> None:
    for i in range(500):
        api.create(_widget(f"bulk-{i}"))
    since = api.revision
    readers = [
        asyncio.create_task(_events(http, f"{CLUSTER_WIDGETS}?watch=true&resourceVersion={since}", 1))
        for _ in range(20)
    ]
    await wait_for(lambda: api.hub.count() == 20, what="20 watchers connected")
    api.create(_widget("last"))
    results = await asyncio.wait_for(asyncio.gather(*readers), 20)
    assert all([e["object"]["metadata"]["name"] for e in events] == ["last"] for events in results)


async def test_kmock_reactions_take_precedence(api: EmbeddedKubernetes, http: aiohttp.ClientSession) -> None:
    import kmock

    api["get /version"] << {"major": "9"}
    api["list", kmock.resource("", "v1", "configmaps")] << 503
    async with http.get("/version") as response:
        assert await response.json() == {"major": "9"}
    async with http.get("/api/v1/namespaces/default/configmaps") as response:
        assert response.status == 503
    async with http.get("/api/v1/namespaces") as response:
        assert response.status == 200  # everything else is still the emulated server
