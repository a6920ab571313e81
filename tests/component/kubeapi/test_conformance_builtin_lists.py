"""Typed (built-in) lists on both backends: the apiserver serialises their items without `apiVersion` and `kind`,
while items of custom resource lists (unstructured) keep them."""

from __future__ import annotations

import pytest

from tests.component.kubeapi.conftest import GROUP, Backend

pytestmark = pytest.mark.timeout(120)


def _event(namespace: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "involvedObject": {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "name": "w1", "namespace": namespace},
        "reason": "Started",
        "message": "it started",
        "type": "Normal",
        "source": {"component": "toy"},
        "firstTimestamp": "2025-01-01T00:00:00Z",
        "lastTimestamp": "2025-01-01T00:00:01Z",
    }


@pytest.mark.parametrize(
    ("path", "list_kind"),
    [
        pytest.param("/api/v1/namespaces/{ns}/configmaps", "ConfigMapList", id="configmaps"),
        pytest.param("/api/v1/namespaces/{ns}/events", "EventList", id="core-events"),
        pytest.param("/apis/events.k8s.io/v1/namespaces/{ns}/events", "EventList", id="events.k8s.io"),
        pytest.param("/api/v1/namespaces", "NamespaceList", id="namespaces"),
    ],
)
def test_items_of_a_built_in_list_have_no_kind(backend: Backend, path: str, list_kind: str) -> None:
    client = backend.client
    assert (
        client.post(
            backend.configmaps(),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "b"}},
        ).status
        == 201
    )
    assert client.post(f"/api/v1/namespaces/{backend.namespace}/events", _event(backend.namespace)).status == 201
    reply = client.get(path.format(ns=backend.namespace))
    assert reply.status == 200, reply.body
    assert reply.body["kind"] == list_kind
    assert reply.body["items"]
    assert [sorted({"apiVersion", "kind"} & set(item)) for item in reply.body["items"]] == [[]] * len(
        reply.body["items"]
    )
    # A single object is served with its type.
    first = reply.body["items"][0]["metadata"]["name"]
    single = client.get(f"{path.format(ns=backend.namespace)}/{first}").body
    assert "kind" in single and "apiVersion" in single


def test_items_of_a_custom_resource_list_keep_their_kind(backend: Backend) -> None:
    backend.create_widget("w1")
    items = backend.client.get(backend.widgets()).body["items"]
    assert [(i["apiVersion"], i["kind"]) for i in items] == [(f"{GROUP}/v1", "Widget")]
