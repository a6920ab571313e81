"""Emulator-only features: fault injection, watch control, counters; and namespace/CRD deletion cleanup."""

from __future__ import annotations

import json
import time

import pytest

from tests.component.kubeapi.client import KubeClient
from tests.component.kubeapi.conftest import WIDGETS_CRD, install_crd
from tests.infra.embedded_k8s import EmbeddedControlPlane
from tests.waiting import wait_for_sync

pytestmark = pytest.mark.timeout(60)
WIDGETS = "/apis/test.flinkmanager.io/v1/namespaces/default/widgets"


@pytest.fixture
def client(embedded_k8s: EmbeddedControlPlane) -> KubeClient:
    """A client of the embedded API with the Widget CRD installed."""
    http = KubeClient(embedded_k8s.admin_kubeconfig)
    install_crd(http, WIDGETS_CRD)
    return http


def _widget(name: str) -> dict[str, object]:
    return {
        "apiVersion": "test.flinkmanager.io/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"owner": "alice"},
    }


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        pytest.param(500, "InternalError", id="500"),
        pytest.param(409, "Conflict", id="409"),
        pytest.param(429, "TooManyRequests", id="429"),
        pytest.param(503, "ServiceUnavailable", id="503"),
    ],
)
def test_fail_next_requests_matching(
    embedded_k8s: EmbeddedControlPlane, client: KubeClient, status: int, reason: str
) -> None:
    client.post(WIDGETS, _widget("w1"))
    embedded_k8s.api.faults.fail(status, times=2, verb="patch", resource="widgets", subresource="status")
    status_path = f"{WIDGETS}/w1/status"
    replies = [client.patch(status_path, {"status": {"phase": str(i)}}) for i in range(3)]
    assert [(r.status, r.reason) for r in replies[:2]] == [(status, reason)] * 2
    assert replies[2].status == 200
    assert client.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}}).status == 200  # other requests unaffected
    if status in (429, 503):
        assert replies[0].headers.get("Retry-After") == "1"


def test_latency_is_added_to_matching_requests(embedded_k8s: EmbeddedControlPlane, client: KubeClient) -> None:
    rule = embedded_k8s.api.faults.delay(0.3, verb="list", resource="widgets")
    started = time.monotonic()
    client.get(WIDGETS)
    slow = time.monotonic() - started
    embedded_k8s.api.faults.remove(rule)
    started = time.monotonic()
    client.get(WIDGETS)
    fast = time.monotonic() - started
    print(f"listing with injected latency took {slow:.3f}s, without {fast:.3f}s")
    assert slow >= 0.3 > fast


def test_counters_count_requests_and_writes(embedded_k8s: EmbeddedControlPlane, client: KubeClient) -> None:
    embedded_k8s.api.counters.reset()
    client.post(WIDGETS, _widget("w1"))
    client.get(f"{WIDGETS}/w1")
    client.patch(f"{WIDGETS}/w1", {"spec": {"size": 3}})
    client.delete(f"{WIDGETS}/w1")
    snapshot = client.get("/_emulator/counters").body
    assert snapshot["writes"] == {
        "create widgets.test.flinkmanager.io": 1,
        "delete widgets.test.flinkmanager.io": 1,
        "patch widgets.test.flinkmanager.io": 1,
    }
    assert snapshot["totalWrites"] == 3
    assert snapshot["requests"]["get widgets.test.flinkmanager.io"] == 1


def test_paused_watch_delivers_latest_state_on_resume(embedded_k8s: EmbeddedControlPlane, client: KubeClient) -> None:
    created = client.post(WIDGETS, _widget("w1")).body
    rv = created["metadata"]["resourceVersion"]
    embedded_k8s.call(lambda api: api.pause_watches())
    for size in (2, 3, 4):
        client.patch(f"{WIDGETS}/w1", {"spec": {"size": size}})
    stream_events: list[dict[str, object]] = []
    import threading

    reader = threading.Thread(
        target=lambda: stream_events.extend(
            client.watch(f"{WIDGETS}?watch=true&resourceVersion={int(rv) + 3}", count=1, timeout=20)
        )
    )
    reader.start()
    wait_for_sync(lambda: embedded_k8s.call(lambda api: api.hub.count()) == 1, timeout=10, what="watch open")
    assert stream_events == []  # the writes happened, but a paused hub has queued nothing for the stream
    embedded_k8s.call(lambda api: api.resume_watches())
    reader.join(20)
    assert [(e["type"], e["object"]["spec"]["size"]) for e in stream_events] == [("MODIFIED", 4)]  # type: ignore[index]


def test_closing_watches_with_expiry_forces_a_relist(embedded_k8s: EmbeddedControlPlane, client: KubeClient) -> None:
    created = client.post(WIDGETS, _widget("w1")).body
    client.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}})
    embedded_k8s.call(lambda api: api.close_watches(expire=True))
    events = client.watch(f"{WIDGETS}?watch=true&resourceVersion={created['metadata']['resourceVersion']}", count=1)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"


def test_deleting_a_namespace_deletes_its_content(client: KubeClient) -> None:
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    client.post(
        "/api/v1/namespaces/doomed/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    )
    deleting = client.delete("/api/v1/namespaces/doomed")
    assert deleting.body["status"]["phase"] == "Terminating"
    wait_for_sync(lambda: client.get("/api/v1/namespaces/doomed").status == 404, timeout=10, what="namespace gone")
    assert client.get("/api/v1/namespaces/doomed/configmaps/c").status == 404


def test_deleting_a_crd_deletes_its_objects_and_stops_serving(client: KubeClient) -> None:
    client.post(WIDGETS, _widget("w1"))
    client.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.flinkmanager.io")
    wait_for_sync(
        lambda: client.get("/apis/test.flinkmanager.io/v1").status == 404, timeout=10, what="group no longer served"
    )
    assert client.get(WIDGETS).status == 404


def test_bearer_token_is_required_when_configured(tmp_path: object) -> None:
    from flink_manager_dev.kubeapi import ThreadedKubernetes

    server = ThreadedKubernetes(token="s3cret")
    server.start()
    try:
        assert server.url is not None
        config = server.call(lambda api: api.write_kubeconfig(f"{tmp_path}/kubeconfig"))
        good = KubeClient(config)
        assert good.get("/api/v1/namespaces").status == 200
        good.headers["Authorization"] = "Bearer wrong"
        denied = good.get("/api/v1/namespaces")
        assert (denied.status, denied.reason) == (401, "Unauthorized")
    finally:
        server.stop()


def test_admin_endpoint_adds_faults(client: KubeClient) -> None:
    client.post("/_emulator/faults", {"status": 503, "times": 1, "verb": "list", "resource": "widgets"})
    assert client.get(WIDGETS).status == 503
    assert client.get(WIDGETS).status == 200
    assert json.loads(client.get("/_emulator/counters").raw)["totalRequests"] >= 2
