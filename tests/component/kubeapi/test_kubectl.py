"""kubectl against both backends: apply, get (printer columns, jsonpath), wait, patch, describe, delete, SSA, explain."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.component.kubeapi.conftest import MANIFESTS, Backend

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


def kubectl(
    backend: Backend, *args: str, input: str | None = None, check: bool = True, namespaced: bool = True
) -> subprocess.CompletedProcess[str]:
    """kubectl in the backend's test namespace."""
    extra = ("-n", backend.namespace) if namespaced else ()
    return backend.plane.kubectl(*args, *extra, input=input, check=check)


def test_crd_applies_and_is_established(backend: Backend) -> None:
    applied = kubectl(backend, "apply", "-f", str(MANIFESTS / "widgets.crd.yaml"), namespaced=False)
    assert re.fullmatch(
        r"customresourcedefinition.apiextensions.k8s.io/widgets.test.flinkmanager.io "
        r"(created|configured|unchanged)",
        applied.stdout.strip(),
    )
    waited = kubectl(
        backend,
        "wait",
        "--for=condition=Established",
        "crd/widgets.test.flinkmanager.io",
        "--timeout=30s",
        namespaced=False,
    )
    assert (
        waited.stdout.strip() == "customresourcedefinition.apiextensions.k8s.io/widgets.test.flinkmanager.io "
        "condition met"
    )


def test_apply_then_get_shows_printer_columns(backend: Backend) -> None:
    applied = kubectl(backend, "apply", "-f", "-", input=WIDGET)
    assert applied.stdout.strip() == "widget.test.flinkmanager.io/w1 created"
    again = kubectl(backend, "apply", "-f", "-", input=WIDGET)
    assert again.stdout.strip() == "widget.test.flinkmanager.io/w1 unchanged"
    listed = kubectl(backend, "get", "wdg").stdout.splitlines()
    assert re.split(r"\s{2,}", listed[0].strip()) == ["NAME", "SIZE", "MODE", "PHASE", "READY", "AGE"]
    assert re.split(r"\s{2,}", listed[1].strip())[:3] == ["w1", "3", "fast"]


def test_get_jsonpath_and_categories(backend: Backend) -> None:
    kubectl(backend, "apply", "-f", "-", input=WIDGET)
    assert kubectl(backend, "get", "widget", "w1", "-o", "jsonpath={.spec.mode}").stdout == "fast"
    assert "w1" in kubectl(backend, "get", "flinkmanager-test").stdout


def test_patch_merge_and_validation_errors(backend: Backend) -> None:
    kubectl(backend, "apply", "-f", "-", input=WIDGET)
    patched = kubectl(backend, "patch", "wdg", "w1", "--type", "merge", "-p", '{"spec":{"size":7}}')
    assert patched.stdout.strip() == "widget.test.flinkmanager.io/w1 patched"
    rejected = kubectl(backend, "patch", "wdg", "w1", "--type", "merge", "-p", '{"spec":{"size":700}}', check=False)
    assert rejected.returncode != 0
    assert (
        'The Widget "w1" is invalid: spec.size: Invalid value: 700: spec.size in body should be less than '
        "or equal to 100"
    ) in rejected.stderr


def test_wait_for_condition_ready(backend: Backend) -> None:
    kubectl(backend, "apply", "-f", "-", input=WIDGET)
    reply = backend.client.patch(
        backend.widgets("w1", "status"),
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "Up",
                        "message": "ok",
                        "lastTransitionTime": "2025-01-01T00:00:00Z",
                    }
                ]
            }
        },
    )
    assert reply.status == 200, reply.body
    waited = kubectl(backend, "wait", "--for=condition=Ready", "wdg/w1", "--timeout=20s")
    assert waited.stdout.strip() == "widget.test.flinkmanager.io/w1 condition met"


def test_describe_shows_events(backend: Backend) -> None:
    kubectl(backend, "apply", "-f", "-", input=WIDGET)
    uid = kubectl(backend, "get", "wdg", "w1", "-o", "jsonpath={.metadata.uid}").stdout
    event: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "w1.1"},
        "involvedObject": {
            "apiVersion": "test.flinkmanager.io/v1",
            "kind": "Widget",
            "name": "w1",
            "namespace": backend.namespace,
            "uid": uid,
        },
        "reason": "Started",
        "message": "the widget started",
        "type": "Normal",
        "count": 1,
        "source": {"component": "toy"},
        "firstTimestamp": "2025-01-01T00:00:00Z",
        "lastTimestamp": "2025-01-01T00:00:00Z",
    }
    kubectl(backend, "create", "-f", "-", input=json.dumps(event))
    described = kubectl(backend, "describe", "wdg", "w1").stdout
    assert re.search(r"Owner:\s+alice", described), described
    assert re.search(r"Normal\s+Started\s+.*toy\s+the widget started", described), described


def test_server_side_apply_and_delete(backend: Backend) -> None:
    applied = kubectl(backend, "apply", "--server-side", "-f", "-", input=WIDGET)
    assert applied.stdout.strip() == "widget.test.flinkmanager.io/w1 serverside-applied"
    managers = kubectl(
        backend, "get", "wdg", "w1", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}"
    ).stdout.split()
    assert managers == ["kubectl"]
    deleted = kubectl(backend, "delete", "wdg", "w1")
    assert re.fullmatch(r'widget.test.flinkmanager.io "w1" deleted( from \S+ namespace)?', deleted.stdout.strip())
    missing = kubectl(backend, "get", "wdg", "w1", check=False)
    assert 'widgets.test.flinkmanager.io "w1" not found' in missing.stderr


def test_explain_reads_the_published_schema(backend: Backend) -> None:
    explained = kubectl(backend, "explain", "widgets.spec.mode", check=False)
    assert explained.returncode == 0, explained.stderr
    assert re.search(r"FIELD:\s+mode <string>", explained.stdout), explained.stdout


def test_apply_project_crds(backend: Backend) -> None:
    crds = pathlib.Path(__file__).resolve().parents[3] / "crds"
    if not any(crds.glob("*.yaml")):
        pytest.skip("the project's CRDs are not written yet")
    applied = kubectl(backend, "apply", "-f", str(crds), namespaced=False)
    assert "customresourcedefinition" in applied.stdout
    kubectl(backend, "wait", "--for=condition=Established", "crd", "--all", "--timeout=30s", namespaced=False)
    served = kubectl(
        backend, "api-resources", "--api-group=flinkmanager.io", "-o", "name", namespaced=False
    ).stdout.split()
    declared = [
        doc["spec"]["names"]["plural"]
        for path in sorted(crds.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "CustomResourceDefinition"
    ]
    assert sorted(served) == sorted(f"{plural}.flinkmanager.io" for plural in declared)


CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: demo}
data:
  a: "1"
"""


def test_built_in_kinds_apply_edit_and_print(backend: Backend) -> None:
    assert kubectl(backend, "apply", "-f", "-", input=CONFIGMAP).stdout.strip() == "configmap/settings created"
    changed = CONFIGMAP.replace('a: "1"', 'a: "2"\n  b: "3"')
    assert kubectl(backend, "apply", "-f", "-", input=changed).stdout.strip() == "configmap/settings configured"
    assert kubectl(backend, "get", "cm", "settings", "-o", "jsonpath={.data}").stdout == '{"a":"2","b":"3"}'
    table = kubectl(backend, "get", "cm", "settings").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0].strip()) == ["NAME", "DATA", "AGE"]
    assert re.split(r"\s{2,}", table[1].strip())[:2] == ["settings", "2"]
    labelled = kubectl(backend, "get", "cm", "-l", "app=demo", "-o", "name").stdout.split()
    assert labelled == ["configmap/settings"]
    managers = kubectl(
        backend, "get", "cm", "settings", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}"
    ).stdout.split()
    assert managers == ["kubectl-client-side-apply"]


def test_label_and_annotate_record_their_managers(backend: Backend) -> None:
    kubectl(backend, "apply", "-f", "-", input=WIDGET)
    kubectl(backend, "label", "wdg", "w1", "tier=web")
    kubectl(backend, "annotate", "wdg", "w1", "note=hello")
    entries = json.loads(kubectl(backend, "get", "wdg", "w1", "--show-managed-fields", "-o", "json").stdout)[
        "metadata"
    ]["managedFields"]
    fields = {e["manager"]: e["fieldsV1"] for e in entries}
    assert fields["kubectl-label"] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}
    assert fields["kubectl-annotate"] == {"f:metadata": {"f:annotations": {"f:note": {}}}}


def test_server_side_apply_takes_over_from_client_side_apply(backend: Backend) -> None:
    kubectl(backend, "apply", "-f", "-", input=WIDGET)
    changed = kubectl(backend, "apply", "--server-side", "-f", "-", input=WIDGET.replace("size: 3", "size: 4"))
    assert changed.stdout.strip() == "widget.test.flinkmanager.io/w1 serverside-applied"
    body = json.loads(kubectl(backend, "get", "wdg", "w1", "--show-managed-fields", "-o", "json").stdout)
    fields = {(e["manager"], e["operation"]): e["fieldsV1"] for e in body["metadata"]["managedFields"]}
    assert fields == {
        ("kubectl", "Apply"): {"f:spec": {"f:owner": {}, "f:size": {}}},
        ("kubectl-last-applied", "Apply"): {
            "f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}}}
        },
    }
    assert body["spec"]["size"] == 4
    last_applied = json.loads(body["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last_applied["spec"] == {"owner": "alice", "size": 4}


@pytest.mark.parametrize("server_side", [pytest.param(False, id="client-side"), pytest.param(True, id="server-side")])
def test_diff_of_an_applied_manifest_is_clean(backend: Backend, server_side: bool) -> None:
    flags = ["--server-side"] if server_side else []
    kubectl(backend, "apply", *flags, "-f", "-", input=WIDGET)
    clean = kubectl(backend, "diff", *flags, "-f", "-", input=WIDGET, check=False)
    assert (clean.returncode, clean.stdout) == (0, "")
    changed = kubectl(backend, "diff", *flags, "-f", "-", input=WIDGET.replace("size: 3", "size: 5"), check=False)
    assert changed.returncode == 1, changed.stderr
    assert "-  size: 3" in changed.stdout and "+  size: 5" in changed.stdout
    assert kubectl(backend, "get", "wdg", "w1", "-o", "jsonpath={.spec.size}").stdout == "3"  # diff is a dry run
