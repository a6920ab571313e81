"""When a schema error blocks CEL validation, both backends add the same summary error: the apiserver's
`field.Invalid(nil, nil, …)`, whose value prints as a bare `null` (not the string "null")."""

from __future__ import annotations

import pytest

from tests.component.kubeapi.conftest import Backend

pytestmark = pytest.mark.timeout(120)

SKIPPED = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


def test_rules_skipped_after_a_blocking_error_are_reported_with_a_null_value(backend: Backend) -> None:
    body = backend.widget("bad")
    del body["spec"]["owner"]
    reply = backend.client.post(backend.widgets(), body)
    assert reply.status == 422, reply.body
    assert reply.body["message"].endswith(f"<nil>: Invalid value: null: {SKIPPED}]"), reply.body["message"]
    causes = reply.body["details"]["causes"]
    assert causes[-1] == {
        "reason": "FieldValueInvalid",
        "message": f"Invalid value: null: {SKIPPED}",
        "field": "<nil>",
    }, causes
