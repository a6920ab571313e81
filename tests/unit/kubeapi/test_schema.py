"""Structural schemas: validation messages, defaulting, pruning and CEL rules, as tables of schema × value."""

from __future__ import annotations

from typing import Any

import pytest

from flink_manager.schema.compiled import CompiledSchema
from flink_manager.schema.structural import apply_defaults, prune, validate_value

INT_1_100 = {"type": "integer", "minimum": 1, "maximum": 100}


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        pytest.param(
            INT_1_100, -1, ["x: Invalid value: -1: x in body should be greater than or equal to 1"], id="minimum"
        ),
        pytest.param(
            INT_1_100, 101, ["x: Invalid value: 101: x in body should be less than or equal to 100"], id="maximum"
        ),
        pytest.param(
            {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            0,
            ["x: Invalid value: 0: x in body should be greater than 0"],
            id="exclusive-minimum",
        ),
        pytest.param(
            {"type": "number", "maximum": 0.5, "exclusiveMaximum": True},
            0.5,
            ["x: Invalid value: 0.5: x in body should be less than 0.5"],
            id="exclusive-maximum-float",
        ),
        pytest.param(
            {"type": "integer", "multipleOf": 5},
            7,
            ["x: Invalid value: 7: x in body should be a multiple of 5"],
            id="multiple-of",
        ),
        pytest.param(
            {"type": "string"},
            3,
            ['x: Invalid value: "integer": x in body must be of type string: "integer"'],
            id="type",
        ),
        pytest.param(
            {"type": "string"},
            None,
            ['x: Invalid value: "null": x in body must be of type string: "null"'],
            id="null-not-nullable",
        ),
        pytest.param({"type": "string", "nullable": True}, None, [], id="nullable"),
        pytest.param(
            {"type": "integer"},
            True,
            ['x: Invalid value: "boolean": x in body must be of type integer: "boolean"'],
            id="bool-is-not-integer",
        ),
        pytest.param({"type": "number"}, 3, [], id="integer-is-a-number"),
        pytest.param(
            {"type": "string", "enum": ["a", "b"]},
            "c",
            ['x: Unsupported value: "c": supported values: "a", "b"'],
            id="enum",
        ),
        pytest.param(
            {"type": "integer", "enum": [1, 2]},
            3,
            ['x: Unsupported value: 3: supported values: "1", "2"'],
            id="enum-of-integers",
        ),
        pytest.param(
            {"type": "string", "minLength": 2},
            "a",
            ['x: Invalid value: "a": x in body should be at least 2 chars long'],
            id="min-length",
        ),
        pytest.param(
            {"type": "string", "maxLength": 1}, "ab", ["x: Too long: may not be more than 1 byte"], id="max-length"
        ),
        pytest.param(
            {"type": "string", "pattern": "^a+$"},
            "b",
            ["x: Invalid value: \"b\": x in body should match '^a+$'"],
            id="pattern",
        ),
        pytest.param({"type": "string", "format": "date-time"}, "2025-01-01T00:00:00Z", [], id="date-time-ok"),
        pytest.param(
            {"type": "string", "format": "date-time"},
            "soon",
            ['x: Invalid value: "soon": x in body must be of type date-time: "soon"'],
            id="date-time-bad",
        ),
        pytest.param(
            {"type": "string", "maxLength": 2, "pattern": "^a+$"},
            "bbb",
            ["x: Too long: may not be more than 2 bytes"],
            id="string-checks-stop-at-first-failure",
        ),
        pytest.param({"type": "string", "format": "custom-unknown"}, "anything", [], id="unknown-format-passes"),
        pytest.param(
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
            [],
            ["x: Invalid value: 0: x in body should have at least 1 items"],
            id="min-items",
        ),
        pytest.param(
            {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            ["a", "b"],
            ["x: Too many: 2: must have at most 1 item"],
            id="max-items",
        ),
        pytest.param(
            {"type": "array", "items": {"type": "integer", "minimum": 0}},
            [1, -1],
            ["x[1]: Invalid value: -1: x[1] in body should be greater than or equal to 0"],
            id="item-path",
        ),
        pytest.param(
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
            {},
            ["x.a: Required value"],
            id="required",
        ),
        pytest.param(
            {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}},
            {"a": "1", "b": "2"},
            ["x: Too many: 2: must have at most 1 item"],
            id="max-properties",
        ),
        pytest.param(
            {"type": "object", "minProperties": 1},
            {},
            ["x: Invalid value: 0: x in body should have at least 1 properties"],
            id="min-properties",
        ),
        pytest.param(
            {"type": "object", "additionalProperties": {"type": "integer"}},
            {"k": "v"},
            ['x.k: Invalid value: "string": x.k in body must be of type integer: "string"'],
            id="additional-properties",
        ),
        pytest.param({"x-kubernetes-int-or-string": True}, "50%", [], id="int-or-string-string"),
        pytest.param({"x-kubernetes-int-or-string": True}, 5, [], id="int-or-string-int"),
    ],
)
def test_validation_messages(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert [str(e) for e in validate_value(value, schema, "x")] == expected


def test_unchanged_values_are_ratcheted() -> None:
    schema = {"type": "object", "properties": {"a": INT_1_100, "b": INT_1_100}}
    assert [str(e) for e in validate_value({"a": 0, "b": 0}, schema, "x", old={"a": 0, "b": 5})] == [
        "x.b: Invalid value: 0: x.b in body should be greater than or equal to 1"
    ]


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "integer", "default": 1}}}, {}, {"a": 1}, id="absent-field"
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "integer", "default": 1}}},
            {"a": None},
            {"a": 1},
            id="null-replaced-by-default",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "integer"}}},
            {"a": None},
            {},
            id="null-without-default-pruned",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "integer", "nullable": True, "default": 1}}},
            {"a": None},
            {"a": None},
            id="nullable-keeps-null",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {
                    "o": {"type": "object", "default": {}, "properties": {"b": {"type": "boolean", "default": False}}}
                },
            },
            {},
            {"o": {"b": False}},
            id="nested-defaults-under-defaulted-object",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {
                    "l": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"p": {"type": "integer", "default": 80}}},
                    }
                },
            },
            {"l": [{}, {"p": 1}]},
            {"l": [{"p": 80}, {"p": 1}]},
            id="list-items",
        ),
    ],
)
def test_defaulting(schema: dict[str, Any], value: dict[str, Any], expected: dict[str, Any]) -> None:
    apply_defaults(value, schema)
    assert value == expected


@pytest.mark.parametrize(
    ("schema", "obj", "kept", "unknown"),
    [
        pytest.param(
            {"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}},
            {"apiVersion": "v", "kind": "K", "metadata": {"name": "n", "bogus": 1}, "spec": {"a": "x", "b": "y"}},
            {"apiVersion": "v", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "x"}},
            ["metadata.bogus", "spec.b"],
            id="unknown-fields",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            },
            {"spec": {"anything": {"deep": 1}}},
            {"spec": {"anything": {"deep": 1}}},
            [],
            id="preserve-unknown",
        ),
        pytest.param(
            {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "object", "properties": {}}}}},
            {"l": [{"z": 1}]},
            {"l": [{}]},
            ["l[0].z"],
            id="inside-list",
        ),
        pytest.param(
            {"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}}},
            {"m": {"any": "key"}},
            {"m": {"any": "key"}},
            [],
            id="additional-properties-keep-keys",
        ),
    ],
)
def test_pruning(schema: dict[str, Any], obj: dict[str, Any], kept: dict[str, Any], unknown: list[str]) -> None:
    assert prune(obj, schema) == unknown
    assert obj == kept


SPEC_RULES = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.ref == oldSelf.ref", "message": "ref is immutable"},
                {
                    "rule": "size(self.args) <= 2",
                    "messageExpression": "'too many args: ' + string(size(self.args))",
                    "fieldPath": ".args",
                },
                {"rule": "self.name.matches('^[a-z]+$')", "reason": "FieldValueForbidden"},
                {"rule": "self.args.all(a, a.startsWith('--'))"},
                {
                    "rule": "!has(self.mode) || self.mode.lowerAscii() == self.mode",
                    "message": "mode must be lower case",
                },
            ],
            "properties": {
                "ref": {"type": "string"},
                "args": {"type": "array", "items": {"type": "string"}},
                "name": {"type": "string"},
                "mode": {"type": "string"},
                "count": {
                    "type": "integer",
                    "x-kubernetes-validations": [{"rule": "self >= oldSelf", "message": "count may not decrease"}],
                },
            },
        }
    },
}


@pytest.mark.parametrize(
    ("spec", "old", "expected"),
    [
        pytest.param({"ref": "a", "args": [], "name": "ok"}, None, [], id="valid"),
        pytest.param(
            {"ref": "b", "args": [], "name": "ok"},
            {"ref": "a", "args": [], "name": "ok"},
            ["spec: Invalid value: ref is immutable"],
            id="transition-rule",
        ),
        pytest.param({"ref": "b", "args": [], "name": "ok"}, None, [], id="transition-rule-skipped-on-create"),
        pytest.param(
            {"ref": "a", "args": ["--a", "--b", "--c"], "name": "ok"},
            None,
            ["spec.args: Invalid value: too many args: 3"],
            id="message-expression-and-field-path",
        ),
        pytest.param(
            {"ref": "a", "args": [], "name": "NO"},
            None,
            ["spec: Forbidden: failed rule: self.name.matches('^[a-z]+$')"],
            id="reason-and-default-message",
        ),
        pytest.param(
            {"ref": "a", "args": ["x"], "name": "ok"},
            None,
            ["spec: Invalid value: failed rule: self.args.all(a, a.startsWith('--'))"],
            id="macro",
        ),
        pytest.param(
            {"ref": "a", "args": [], "name": "ok", "mode": "Fast"},
            None,
            ["spec: Invalid value: mode must be lower case"],
            id="kubernetes-string-library",
        ),
        pytest.param(
            {"ref": "a", "args": [], "name": "ok", "count": 1},
            {"ref": "a", "args": [], "name": "ok", "count": 2},
            ["spec.count: Invalid value: 1: count may not decrease"],
            id="scalar-value-shown",
        ),
        pytest.param(
            {"ref": "a", "args": []},
            None,
            ["spec: Invalid value: \"object\": no such key: name evaluating rule: self.name.matches('^[a-z]+$')"],
            id="runtime-error",
        ),
    ],
)
def test_cel_rules(spec: dict[str, Any], old: dict[str, Any] | None, expected: list[str]) -> None:
    schema = CompiledSchema(SPEC_RULES)
    errors = schema.validate({"spec": spec}, {"spec": old} if old is not None else None)
    assert [str(e) for e in errors] == expected


def test_cel_is_skipped_after_blocking_schema_errors() -> None:
    schema = CompiledSchema(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["a"],
                    "x-kubernetes-validations": [{"rule": "false"}],
                    "properties": {"a": {"type": "string"}},
                }
            },
        }
    )
    assert [str(e) for e in schema.validate({"spec": {}})] == [
        "spec.a: Required value",
        "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; "
        "correct the existing errors to complete validation",
    ]


def test_an_integer_beyond_int64_is_a_number_and_its_rules_are_not_evaluated() -> None:
    # kube-apiserver decodes it as a float64; CEL's int would overflow on it (a 500 before).
    schema = CompiledSchema(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-validations": [{"rule": "self.n > 0"}],
                    "properties": {"n": {"type": "integer"}},
                }
            },
        }
    )
    assert schema.validate({"spec": {"n": 2**63 - 1}}) == []
    errors = [str(e) for e in schema.validate({"spec": {"n": 2**64}})]
    assert errors[:1] == ['spec.n: Invalid value: "number": spec.n in body must be of type integer: "number"']
