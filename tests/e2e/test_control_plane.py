"""The real control plane gives the operator what it relies on: CRDs with schema, defaults, CEL and printer columns,
the status subresource, Events, Leases, ownerReference garbage collection and RBAC for its ServiceAccount."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.kube.controlplane import OPERATOR_USER, ControlPlane, KubectlFailed
from tests.waiting import wait_for_sync

pytestmark = pytest.mark.real_k8s

GO_MOD = pathlib.Path(__file__).resolve().parents[1] / "infra" / "kube" / "go.mod"
GROUP = "controlplane.test.flinkmanager.io"
CRD_NAME = f"gadgets.{GROUP}"
API_VERSION = f"{GROUP}/v1"
GARBAGE_COLLECTION_TIMEOUT = 60.0

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gdg"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Owner", "type": "string", "jsonPath": ".spec.owner"},
                    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["owner"],
                                "properties": {
                                    "owner": {
                                        "type": "string",
                                        "x-kubernetes-validations": [
                                            {"rule": "self == oldSelf", "message": "owner is immutable"}
                                        ],
                                    },
                                    "mode": {"type": "string", "enum": ["fast", "slow"], "default": "slow"},
                                    "size": {"type": "integer", "minimum": 0, "default": 1},
                                },
                            },
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


def pinned_kubernetes_version() -> str:
    """The k8s.io/kubernetes version tests/infra/kube/go.mod requires."""
    found = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", GO_MOD.read_text(), re.M)
    assert found, f"no k8s.io/kubernetes requirement in {GO_MOD}"
    return found.group(1)


def gadget(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """A Gadget manifest (owner "alice" unless given)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Gadget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"owner": "alice", **spec},
    }


def create(plane: ControlPlane, *manifests: dict[str, Any], validate: bool = True) -> list[dict[str, Any]]:
    """`kubectl create` the manifests as the admin; return what the server stored.

    `validate=False` skips kubectl's own schema check, so that the API server is the one to judge.
    """
    listed = {"apiVersion": "v1", "kind": "List", "items": list(manifests)}
    created = plane.kubectl(
        "create", "-o", "json", f"--validate={str(validate).lower()}", "-f", "-", input=json.dumps(listed)
    )
    # One JSON document per created object, printed one after the other.
    decoder, text, stored = json.JSONDecoder(), created.stdout.strip(), []
    while text:
        document, end = decoder.raw_decode(text)
        stored.append(document)
        text = text[end:].lstrip()
    return stored


def get(plane: ControlPlane, *args: str) -> dict[str, Any] | None:
    """`kubectl get KIND NAME … -o json`, or None when the object does not exist."""
    result = plane.kubectl("get", *args, "-o", "json", "--ignore-not-found")
    return json.loads(result.stdout) if result.stdout.strip() else None


def list_items(plane: ControlPlane, *args: str) -> list[dict[str, Any]]:
    """The items of `kubectl get KIND … -o json`."""
    return list(json.loads(plane.kubectl("get", *args, "-o", "json").stdout)["items"])


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """A controller ownerReference to `owner` that blocks its foreground deletion."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


@pytest.fixture(scope="module")
def plane(real_k8s: ControlPlane) -> ControlPlane:
    """The session's control plane with the Gadget CRD installed, established and watched by the garbage collector."""
    real_k8s.kubectl("apply", "-f", "-", input=json.dumps(GADGET_CRD))
    real_k8s.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    began = time.monotonic()
    real_k8s.restart_controller_manager()
    print(f"kube-controller-manager restarted in {time.monotonic() - began:.1f}s")
    return real_k8s


@pytest.fixture
def namespace(plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace, deleted (by the namespace controller) after the test."""
    name = f"cp-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", name)
    yield name
    plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


def test_binaries_report_the_pinned_release(plane: ControlPlane) -> None:
    versions = json.loads(plane.kubectl("version", "-o", "json").stdout)
    expected = pinned_kubernetes_version()
    assert versions["clientVersion"]["gitVersion"] == expected
    assert versions["serverVersion"]["gitVersion"] == expected
    assert plane.server_version == expected


def test_schema_defaults_are_stored_on_create(plane: ControlPlane, namespace: str) -> None:
    [stored] = create(plane, gadget("g1", namespace))
    assert stored["spec"] == {"owner": "alice", "mode": "slow", "size": 1}


@pytest.mark.parametrize(
    ("spec", "patch", "field", "reason"),
    [
        pytest.param({"mode": "turbo"}, None, "spec.mode", 'Unsupported value: "turbo"', id="enum-on-create"),
        pytest.param(None, {"spec": {"mode": "turbo"}}, "spec.mode", 'Unsupported value: "turbo"', id="enum-on-update"),
        pytest.param({"size": -1}, None, "spec.size", "should be greater than or equal to 0", id="minimum"),
        pytest.param({"owner": None}, None, "spec.owner", "Required value", id="required"),
        pytest.param(
            None, {"spec": {"owner": "mallory"}}, "spec.owner", "owner is immutable", id="cel-transition-rule"
        ),
    ],
)
def test_invalid_spec_is_rejected_naming_the_field(
    plane: ControlPlane,
    namespace: str,
    spec: dict[str, Any] | None,
    patch: dict[str, Any] | None,
    field: str,
    reason: str,
) -> None:
    if patch is None:
        manifest = gadget("bad", namespace, **(spec or {}))
        manifest["spec"] = {key: value for key, value in manifest["spec"].items() if value is not None}
        with pytest.raises(KubectlFailed) as rejected:
            create(plane, manifest, validate=False)
    else:
        create(plane, gadget("bad", namespace))
        with pytest.raises(KubectlFailed) as rejected:
            plane.kubectl("patch", "gadget", "bad", "-n", namespace, "--type=merge", "-p", json.dumps(patch))
    assert f"{field}: " in rejected.value.stderr
    assert reason in rejected.value.stderr


def test_kubectl_get_shows_the_printer_columns(plane: ControlPlane, namespace: str) -> None:
    create(plane, gadget("g1", namespace, mode="fast"))
    plane.kubectl(
        "patch",
        "gdg",
        "g1",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Ready"}}',
    )
    header, row = plane.kubectl("get", "gdg", "-n", namespace).stdout.splitlines()
    assert header.split() == ["NAME", "OWNER", "MODE", "PHASE", "AGE"]
    assert row.split()[:4] == ["g1", "alice", "fast", "Ready"]


def test_status_is_written_only_through_the_status_subresource(plane: ControlPlane, namespace: str) -> None:
    [created] = create(plane, gadget("g1", namespace))
    plane.kubectl(
        "patch",
        "gdg",
        "g1",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Ready"}}',
    )
    after_status = get(plane, "gdg", "g1", "-n", namespace)
    assert after_status is not None
    assert after_status["status"] == {"phase": "Ready"}
    assert after_status["metadata"]["generation"] == created["metadata"]["generation"]

    plane.kubectl(
        "patch",
        "gdg",
        "g1",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"size": 2}, "status": {"phase": "Hacked"}}',
    )
    after_main = get(plane, "gdg", "g1", "-n", namespace)
    assert after_main is not None
    assert after_main["status"] == {"phase": "Ready"}
    assert after_main["spec"]["size"] == 2
    assert after_main["metadata"]["generation"] == created["metadata"]["generation"] + 1


def test_events_about_a_custom_resource_are_listed_and_described(plane: ControlPlane, namespace: str) -> None:
    [owner] = create(plane, gadget("g1", namespace))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"g1.{uuid.uuid4().hex[:12]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": API_VERSION,
            "kind": "Gadget",
            "name": "g1",
            "namespace": namespace,
            "uid": owner["metadata"]["uid"],
        },
        "reason": "Started",
        "message": "gadget g1 started",
        "type": "Normal",
        "source": {"component": "flink-manager"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    create(plane, event)
    listed = list_items(plane, "events", "-n", namespace, "--field-selector", "involvedObject.name=g1")
    assert [(e["reason"], e["message"]) for e in listed] == [("Started", "gadget g1 started")]
    assert "gadget g1 started" in plane.kubectl("describe", "gdg", "g1", "-n", namespace).stdout


def test_lease_updates_are_guarded_by_resource_version(plane: ControlPlane, namespace: str) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "flink-manager", "namespace": namespace},
        "spec": {
            "holderIdentity": "operator-a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-01-01T00:00:00.000000Z",
            "renewTime": "2026-01-01T00:00:00.000000Z",
        },
    }
    [first] = create(plane, lease)
    renewed = dict(first, spec=dict(first["spec"], renewTime="2026-01-01T00:00:05.000000Z"))
    plane.kubectl("replace", "-f", "-", input=json.dumps(renewed))
    stale = dict(first, spec=dict(first["spec"], holderIdentity="operator-b"))
    with pytest.raises(KubectlFailed) as conflict:
        plane.kubectl("replace", "-f", "-", input=json.dumps(stale))
    assert "the object has been modified" in conflict.value.stderr
    current = get(plane, "lease", "flink-manager", "-n", namespace)
    assert current is not None
    assert current["spec"]["holderIdentity"] == "operator-a"
    assert current["spec"]["renewTime"] == "2026-01-01T00:00:05.000000Z"


@pytest.mark.parametrize(
    ("cascade", "dependents_survive"),
    [
        pytest.param("background", False, id="background-deletes-dependents"),
        pytest.param("foreground", False, id="foreground-deletes-dependents-first"),
        pytest.param("orphan", True, id="orphan-keeps-dependents"),
    ],
)
def test_deleting_an_owner_cascades_through_the_garbage_collector(
    plane: ControlPlane,
    namespace: str,
    cascade: str,
    dependents_survive: bool,
) -> None:
    [owner] = create(plane, gadget("owner", namespace))
    reference = owner_reference(owner)
    child = gadget("child", namespace)
    child["metadata"]["ownerReferences"] = [reference]
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "child", "namespace": namespace, "ownerReferences": [reference]},
    }
    create(plane, child, config)
    dependents = (("gdg", "child"), ("configmap", "child"))

    began = time.monotonic()
    plane.kubectl("delete", "gdg", "owner", "-n", namespace, f"--cascade={cascade}", "--wait=false")

    def owner_gone_with_dependents() -> list[dict[str, Any] | None] | None:
        if get(plane, "gdg", "owner", "-n", namespace) is not None:
            return None
        # Read right after the owner vanished: foreground deletion removes blocking dependents first.
        return [get(plane, kind, name, "-n", namespace) for kind, name in dependents]

    remaining = wait_for_sync(
        owner_gone_with_dependents, timeout=GARBAGE_COLLECTION_TIMEOUT, interval=0.5, what=f"owner deleted ({cascade})"
    )
    if dependents_survive:
        assert all(d is not None and not d["metadata"].get("ownerReferences") for d in remaining), remaining
    else:
        if cascade == "foreground":
            assert remaining == [None, None]
        wait_for_sync(
            lambda: all(get(plane, kind, name, "-n", namespace) is None for kind, name in dependents),
            timeout=GARBAGE_COLLECTION_TIMEOUT,
            interval=0.5,
            what=f"dependents collected ({cascade})",
        )
    print(f"cascade={cascade}: settled {time.monotonic() - began:.1f}s after the delete")


def test_deleting_a_namespace_deletes_its_custom_resources(plane: ControlPlane) -> None:
    name = f"cp-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", name)
    create(plane, gadget("g1", name))
    began = time.monotonic()
    plane.kubectl("delete", "namespace", name, "--wait=false")
    wait_for_sync(
        lambda: get(plane, "namespace", name) is None,
        timeout=GARBAGE_COLLECTION_TIMEOUT,
        interval=0.5,
        what=f"namespace {name} deleted",
    )
    assert list_items(plane, "gdg", "-A", "--field-selector", f"metadata.namespace={name}") == []
    print(f"namespace deleted {time.monotonic() - began:.1f}s after the delete")


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param(
            {"kind": "ServiceAccount", "name": "flink-manager", "namespace": "flink-manager"}, id="service-account"
        ),
        pytest.param({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": OPERATOR_USER}, id="user"),
        pytest.param(
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:serviceaccounts:flink-manager"},
            id="namespace-group",
        ),
    ],
)
def test_operator_lists_gadgets_only_once_a_cluster_role_binding_grants_it(
    plane: ControlPlane,
    namespace: str,
    subject: dict[str, Any],
) -> None:
    create(plane, gadget("g1", namespace))

    def operator_lists() -> subprocess.CompletedProcess[str]:
        return plane.kubectl("get", "gadgets", "-A", "-o", "name", kubeconfig=plane.operator_kubeconfig, check=False)

    def denied() -> subprocess.CompletedProcess[str] | None:
        result = operator_lists()
        return result if result.returncode != 0 else None

    def allowed() -> subprocess.CompletedProcess[str] | None:
        result = operator_lists()
        return result if result.returncode == 0 else None

    # Bindings of earlier rows are deleted at their end; the authorizer's cache may take a moment to forget them.
    refused = wait_for_sync(denied, timeout=30, what="operator denied")
    assert f'User "{OPERATOR_USER}" cannot list resource "gadgets" in API group "{GROUP}"' in refused.stderr

    role = f"gadget-reader-{uuid.uuid4().hex[:6]}"
    try:
        create(
            plane,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role},
                "rules": [{"apiGroups": [GROUP], "resources": ["gadgets"], "verbs": ["get", "list", "watch"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": role},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [subject],
            },
        )
        granted = wait_for_sync(allowed, timeout=30, what="operator allowed")
        assert f"gadget.{GROUP}/g1" in granted.stdout.split()
        cannot_delete = plane.kubectl(
            "auth", "can-i", "delete", f"gadgets.{GROUP}", kubeconfig=plane.operator_kubeconfig, check=False
        )
        assert cannot_delete.stdout.strip() == "no"
    finally:
        plane.kubectl("delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
