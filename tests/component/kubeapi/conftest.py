"""Backends for the embedded-API tests: every conformance test runs on the embedded API and on a real apiserver."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.component.kubeapi.client import KubeClient
from tests.waiting import wait_for_sync

MANIFESTS = pathlib.Path(__file__).parent / "manifests"
WIDGETS_CRD = yaml.safe_load((MANIFESTS / "widgets.crd.yaml").read_text())
GROUP, VERSION, PLURAL = "test.flinkmanager.io", "v1", "widgets"


@dataclass
class Backend:
    """One API server under test, with a fresh namespace and the test CRD installed."""

    name: str
    plane: Any  # EmbeddedControlPlane or the real ControlPlane
    client: KubeClient
    namespace: str

    def widgets(self, name: str = "", sub: str = "", namespace: str | None = None) -> str:
        """The URL path of widgets (or one widget, or one of its subresources)."""
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace or self.namespace}/{PLURAL}"
        if name:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path

    def configmaps(self, name: str = "") -> str:
        """The URL path of configmaps in the test namespace."""
        return f"/api/v1/namespaces/{self.namespace}/configmaps" + (f"/{name}" if name else "")

    def widget(self, name: str, **spec: Any) -> dict[str, Any]:
        """A Widget manifest."""
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"owner": "alice", **spec},
        }

    def create_widget(self, name: str, **spec: Any) -> dict[str, Any]:
        """Create a widget; fail the test if the server refuses."""
        reply = self.client.post(self.widgets(), self.widget(name, **spec))
        assert reply.status == 201, reply.body
        return reply.body


def install_crd(client: KubeClient, crd: dict[str, Any]) -> None:
    """Create or update a CRD and wait until it is Established and served."""
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    name = crd["metadata"]["name"]
    current = client.get(f"{path}/{name}")
    if current.status == 404:
        reply = client.post(path, crd)
        assert reply.status == 201, reply.body
    else:
        body = dict(crd, metadata=dict(crd["metadata"], resourceVersion=current.body["metadata"]["resourceVersion"]))
        reply = client.put(f"{path}/{name}", body)
        assert reply.status == 200, reply.body

    def established() -> bool:
        got = client.get(f"{path}/{name}").body
        conditions = {c["type"]: c["status"] for c in (got.get("status") or {}).get("conditions") or ()}
        group, version = crd["spec"]["group"], crd["spec"]["versions"][0]["name"]
        served = client.get(f"/apis/{group}/{version}").status == 200
        return conditions.get("Established") == "True" and served

    wait_for_sync(established, timeout=60, what=f"CRD {name} established")


def _plane(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"the {name} backend is not available here")


@pytest.fixture(
    params=[
        pytest.param("embedded_k8s", id="embedded"),
        pytest.param("real_k8s", id="real", marks=pytest.mark.real_k8s),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The same fresh namespace with the Widget CRD on each backend."""
    plane = _plane(request, request.param)
    client = KubeClient(plane.admin_kubeconfig)
    install_crd(client, WIDGETS_CRD)
    namespace = f"conf-{uuid.uuid4().hex[:8]}"
    reply = client.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    assert reply.status == 201, reply.body
    try:
        yield Backend(request.param, plane, client, namespace)
    finally:
        client.delete(f"/api/v1/namespaces/{namespace}")
