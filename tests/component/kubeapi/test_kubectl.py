"""kubectl against the embedded API: apply, get (printer columns, jsonpath), wait, patch, describe, delete, SSA."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from tests.component.kubeapi.conftest import MANIFESTS, WIDGETS_CRD, install_crd
from tests.component.kubeapi.client import KubeClient
from tests.infra.embedded_k8s import EmbeddedControlPlane

pytestmark = pytest.mark.timeout(180)

WIDGET = """\
apiVersion: test.flinkmanager.io/v1
kind: Widget
metadata:
  name: w1
spec:
  owner: alice
  size: 3
"""


@pytest.fixture
def plane(embedded_k8s: EmbeddedControlPlane) -> EmbeddedControlPlane:
    """The embedded API with the Widget CRD applied by kubectl itself."""
    embedded_k8s.kubectl("apply", "-f", str(MANIFESTS / "widgets.crd.yaml"))
    embedded_k8s.kubectl("wait", "--for=condition=Established", "crd/widgets.test.flinkmanager.io", "--timeout=30s")
    return embedded_k8s


def test_apply_then_get_shows_printer_columns(plane: EmbeddedControlPlane) -> None:
    applied = plane.kubectl("apply", "-f", "-", input=WIDGET)
    assert applied.stdout.strip() == "widget.test.flinkmanager.io/w1 created"
    again = plane.kubectl("apply", "-f", "-", input=WIDGET)
    assert again.stdout.strip() == "widget.test.flinkmanager.io/w1 unchanged"
    listed = plane.kubectl("get", "wdg").stdout.splitlines()
    assert re.split(r"\s{2,}", listed[0].strip()) == ["NAME", "SIZE", "MODE", "PHASE", "READY", "AGE"]
    assert re.split(r"\s{2,}", listed[1].strip())[:3] == ["w1", "3", "fast"]


def test_get_jsonpath_and_categories(plane: EmbeddedControlPlane) -> None:
    plane.kubectl("apply", "-f", "-", input=WIDGET)
    assert plane.kubectl("get", "widget", "w1", "-o", "jsonpath={.spec.mode}").stdout == "fast"
    assert "w1" in plane.kubectl("get", "flinkmanager-test").stdout


def test_patch_merge_and_validation_errors(plane: EmbeddedControlPlane) -> None:
    plane.kubectl("apply", "-f", "-", input=WIDGET)
    patched = plane.kubectl("patch", "wdg", "w1", "--type", "merge", "-p", '{"spec":{"size":7}}')
    assert patched.stdout.strip() == "widget.test.flinkmanager.io/w1 patched"
    rejected = plane.kubectl("patch", "wdg", "w1", "--type", "merge", "-p", '{"spec":{"size":700}}', check=False)
    assert rejected.returncode != 0
    assert ('The Widget "w1" is invalid: spec.size: Invalid value: 700: spec.size in body should be less than '
            "or equal to 100") in rejected.stderr


def test_wait_for_condition_ready(plane: EmbeddedControlPlane) -> None:
    plane.kubectl("apply", "-f", "-", input=WIDGET)
    client = KubeClient(plane.admin_kubeconfig)
    client.patch("/apis/test.flinkmanager.io/v1/namespaces/default/widgets/w1/status",
                 {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Up", "message": "ok",
                                             "lastTransitionTime": "2025-01-01T00:00:00Z"}]}})
    waited = plane.kubectl("wait", "--for=condition=Ready", "wdg/w1", "--timeout=20s")
    assert waited.stdout.strip() == "widget.test.flinkmanager.io/w1 condition met"


def test_describe_shows_events(plane: EmbeddedControlPlane) -> None:
    plane.kubectl("apply", "-f", "-", input=WIDGET)
    uid = plane.kubectl("get", "wdg", "w1", "-o", "jsonpath={.metadata.uid}").stdout
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "w1.1", "namespace": "default"},
             "involvedObject": {"apiVersion": "test.flinkmanager.io/v1", "kind": "Widget", "name": "w1",
                                "namespace": "default", "uid": uid},
             "reason": "Started", "message": "the widget started", "type": "Normal", "count": 1,
             "source": {"component": "toy"}, "firstTimestamp": "2025-01-01T00:00:00Z",
             "lastTimestamp": "2025-01-01T00:00:00Z"}
    plane.kubectl("create", "-f", "-", input=json.dumps(event))
    described = plane.kubectl("describe", "wdg", "w1").stdout
    assert re.search(r"Owner:\s+alice", described), described
    assert re.search(r"Normal\s+Started\s+.*toy\s+the widget started", described), described


def test_server_side_apply_and_delete(plane: EmbeddedControlPlane) -> None:
    applied = plane.kubectl("apply", "--server-side", "-f", "-", input=WIDGET)
    assert applied.stdout.strip() == "widget.test.flinkmanager.io/w1 serverside-applied"
    managers = plane.kubectl("get", "wdg", "w1", "--show-managed-fields", "-o",
                             "jsonpath={.metadata.managedFields[*].manager}").stdout.split()
    assert managers == ["kubectl"]
    deleted = plane.kubectl("delete", "wdg", "w1")
    assert deleted.stdout.strip() == 'widget.test.flinkmanager.io "w1" deleted'
    missing = plane.kubectl("get", "wdg", "w1", check=False)
    assert 'widgets.test.flinkmanager.io "w1" not found' in missing.stderr


def test_explain_reads_the_published_schema(plane: EmbeddedControlPlane) -> None:
    explained = plane.kubectl("explain", "widgets.spec.mode", check=False)
    assert explained.returncode == 0, explained.stderr
    assert "FIELD: mode <string>" in explained.stdout


def test_apply_project_crds(plane: EmbeddedControlPlane) -> None:
    crds = pathlib.Path(__file__).resolve().parents[3] / "crds"
    if not any(crds.glob("*.yaml")):
        pytest.skip("the project's CRDs are not written yet")
    applied = plane.kubectl("apply", "-f", str(crds))
    assert "created" in applied.stdout
    plane.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
    served = plane.kubectl("api-resources", "--api-group=flinkmanager.io", "-o", "name").stdout.split()
    import yaml

    declared = [doc["spec"]["names"]["plural"] for path in sorted(crds.glob("*.yaml"))
                for doc in yaml.safe_load_all(path.read_text()) if doc and doc.get("kind") == "CustomResourceDefinition"]
    assert sorted(served) == sorted(f"{plural}.flinkmanager.io" for plural in declared)


def test_install_crd_helper_matches_kubectl(embedded_k8s: EmbeddedControlPlane) -> None:
    install_crd(KubeClient(embedded_k8s.admin_kubeconfig), WIDGETS_CRD)
    assert "widgets" in embedded_k8s.kubectl("api-resources", "--api-group=test.flinkmanager.io").stdout
