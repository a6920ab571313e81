"""One custom resource version's schema, compiled once: pruning, defaulting, validation and CEL rules."""

from __future__ import annotations

import itertools
from typing import Any

from flink_manager.schema import cel, structural
from flink_manager.schema import fielderrors as fe
from flink_manager.schema.fielderrors import FieldError
from flink_manager.schema.structural import MISSING

_EPOCHS = itertools.count(1)
_BLOCKING = {
    "FieldValueNotSupported",
    "FieldValueRequired",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
}


class CompiledSchema:
    """A structural schema with its CEL rules compiled."""

    def __init__(self, schema: dict[str, Any] | None) -> None:
        self.epoch = next(_EPOCHS)  # objects stored under another epoch are re-defaulted when read
        self.schema: dict[str, Any] = schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        self.rules: dict[str, cel.CompiledRule] = {}
        self.compile_errors = [
            (path, message) for path, message, _ in cel.compile_schema_rules(self.schema, self.rules)
        ]

    def prune(self, obj: dict[str, Any]) -> list[str]:
        """Drop undeclared fields in place; return their paths."""
        return structural.prune(obj, self.schema)

    def default(self, obj: dict[str, Any]) -> None:
        """Apply defaults in place."""
        structural.apply_defaults(obj, self.schema)

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
        """Schema, list-type and CEL validation; CEL is skipped when the schema already found blocking errors."""
        previous = MISSING if old is None else old
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        old_body = (
            previous if previous is MISSING else {k: v for k, v in previous.items() if k not in ("apiVersion", "kind")}
        )
        if "metadata" not in (self.schema.get("properties") or {}):
            body.pop("metadata", None)
            if old_body is not MISSING:
                old_body.pop("metadata", None)
        errors = structural.validate_value(body, self.schema, "", old_body)
        errors += structural.validate_list_types(obj, self.schema, "")
        if any(e.type in _BLOCKING for e in errors):
            errors.append(
                fe.invalid(
                    "",
                    None,  # the apiserver passes a nil value: printed as null, unquoted
                    "some validation rules were not checked because the object was invalid; "
                    "correct the existing errors to complete validation",
                )
            )
            return errors
        errors += cel.validate_rules(obj, self.schema, self.rules, previous)
        return errors
