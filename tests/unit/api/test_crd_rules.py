"""The CRDs' validation (patterns, enums, bounds and CEL rules, transition rules included) accepts and rejects
the manifests of rule_cases.py, evaluated as the embedded Kubernetes API of `flink-manager dev` evaluates them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flink_manager.api import KINDS
from flink_manager.schema import crds
from flink_manager.schema.compiled import CompiledSchema
from tests.unit.api.crdschema import GROUP, VERSION, load_crd, root_schema
from tests.unit.api.rule_cases import CASES, RuleCase


def _compiled(kind: str) -> CompiledSchema:
    return CompiledSchema(copy.deepcopy(root_schema(load_crd(kind))))


def _object(kind: str, spec: dict[str, Any], schema: CompiledSchema) -> dict[str, Any]:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "default"},
        "spec": copy.deepcopy(spec),
    }
    schema.prune(body)
    schema.default(body)
    return body


@pytest.mark.parametrize("kind", list(KINDS))
def test_crd_is_accepted_and_its_rules_compile(kind: str) -> None:
    assert [str(e) for e in crds.validate_crd(load_crd(kind))] == []
    assert _compiled(kind).compile_errors == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_manifest_is_accepted_or_rejected(case: RuleCase) -> None:
    schema = _compiled(case.kind)
    old = _object(case.kind, case.old, schema) if case.old is not None else None
    if old is not None:
        assert [str(e) for e in schema.validate(old)] == [], "the old object must be valid"
    new = _object(case.kind, case.spec, schema)
    errors = [str(e) for e in schema.validate(new, old)]
    if case.rejected is None:
        assert errors == []
        KINDS[case.kind][1].from_wire(new["spec"])  # whatever the CRD admits, the operator can read
    else:
        assert any(case.rejected in e for e in errors), errors or "accepted"
