"""crds/ on a real kube-apiserver: accepted (CEL rules compile within the cost budget), the same accept/reject table
as the unit tests, operator-written status kept whole, clean `kubectl diff`, and the promised printer columns."""

from __future__ import annotations

import json
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flink_manager.api import KINDS
from tests.infra.kube.controlplane import ControlPlane
from tests.unit.api.crdschema import GROUP, PRINTER_COLUMNS, VERSION, json_equal
from tests.unit.api.rule_cases import ARTIFACT, CASES, CLUSTER, EXECUTION, JOB_SPEC, RuleCase
from tests.unit.api.strategies import models

pytestmark = pytest.mark.real_k8s

CRDS = pathlib.Path(__file__).resolve().parents[2] / "crds"
MINIMAL_SPECS = {"FlinkCluster": CLUSTER, "Artifact": ARTIFACT, "JobSpec": JOB_SPEC, "Execution": EXECUTION}


def manifest(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


@pytest.fixture(scope="module")
def plane(real_k8s: ControlPlane) -> ControlPlane:
    """The session's control plane with crds/ applied and established."""
    real_k8s.kubectl("apply", "-f", str(CRDS))
    names = [f"crd/{plural}.{GROUP}" for plural, _, _ in KINDS.values()]
    real_k8s.kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
    return real_k8s


@pytest.fixture(scope="module")
def namespace(plane: ControlPlane) -> Iterator[str]:
    name = f"crds-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", name)
    yield name
    plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_manifest_is_accepted_or_rejected(plane: ControlPlane, namespace: str, case: RuleCase) -> None:
    # Server-side apply by one field manager: a field left out of the second apply is removed (then defaulted).
    apply = ("apply", "--server-side", "--field-manager=crd-test", "-f", "-")
    if case.old is not None:
        plane.kubectl(*apply, input=manifest(case.kind, case.id, namespace, case.old))
    result = plane.kubectl(*apply, input=manifest(case.kind, case.id, namespace, case.spec), check=False)
    if case.rejected is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0, "accepted"
        assert case.rejected in result.stderr


@pytest.mark.parametrize("kind", list(KINDS))
def test_applied_minimal_manifest_diffs_clean(plane: ControlPlane, namespace: str, kind: str) -> None:
    """Schema defaults fill what the manifest leaves out, and `kubectl diff` does not report them as drift."""
    body = manifest(kind, "minimal", namespace, MINIMAL_SPECS[kind])
    plane.kubectl("apply", "-f", "-", input=body)
    diff = plane.kubectl("diff", "-f", "-", input=body, check=False)
    assert diff.returncode == 0, diff.stdout
    plural, spec_model, _ = KINDS[kind]
    stored = json.loads(plane.kubectl("get", plural, "minimal", "-n", namespace, "-o", "json").stdout)
    assert json_equal(stored["spec"], spec_model.from_wire(MINIMAL_SPECS[kind]).to_wire())


def replace_status(plane: ControlPlane, plural: str, name: str, namespace: str, status: dict[str, Any]) -> Any:
    """Replace the object's whole status (a PUT of the status subresource) and return the status stored. The session's
    operator watches every namespace and may write the same status meanwhile (a merge patch would keep its fields):
    a conflict is retried from a fresh read."""
    for _ in range(10):
        body = json.loads(plane.kubectl("get", plural, name, "-n", namespace, "-o", "json").stdout)
        body["status"] = status
        written = plane.kubectl(
            "replace", "--subresource=status", "-f", "-", "-o", "json", input=json.dumps(body), check=False
        )
        if written.returncode == 0:
            return json.loads(written.stdout)["status"]
        assert "the object has been modified" in written.stderr, written.stderr
    raise AssertionError(f"{plural}/{name}: the status kept conflicting")


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_status_written_by_the_operator_is_kept_whole(
    plane: ControlPlane,
    namespace: str,
    kind: str,
    data: st.DataObject,
) -> None:
    plural, _, status_model = KINDS[kind]
    name = f"status-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "-f", "-", input=manifest(kind, name, namespace, MINIMAL_SPECS[kind]))
    status = data.draw(models(status_model))
    stored = replace_status(plane, plural, name, namespace, status.to_wire())
    assert json_equal(stored, status.to_wire())
    assert status_model.from_wire(stored) == status


@pytest.mark.parametrize("kind", list(KINDS))
def test_kubectl_get_shows_the_printer_columns(plane: ControlPlane, namespace: str, kind: str) -> None:
    plural = KINDS[kind][0]
    plane.kubectl("apply", "-f", "-", input=manifest(kind, "columns", namespace, MINIMAL_SPECS[kind]))
    header = plane.kubectl("get", plural, "columns", "-n", namespace).stdout.splitlines()[0]
    columns = [name for name, _ in PRINTER_COLUMNS[kind]]
    assert [c.strip() for c in header.split("  ") if c.strip()] == ["NAME", *columns]
