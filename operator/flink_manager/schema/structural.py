"""Pruning, defaulting and OpenAPI value validation over a structural schema, worded like the apiserver."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from flink_manager.schema import fielderrors as fe
from flink_manager.schema.fielderrors import FieldError, go_float
from flink_manager.schema.formats import check_format
from flink_manager.schema.jsonvalues import json_copy
from flink_manager.schema.paths import child, index

Schema = dict[str, Any]
MISSING: Any = object()

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


# --- pruning ---------------------------------------------------------------------------------------------------


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Drop fields the schema does not declare (in place); return their paths for `fieldValidation`."""
    unknown: list[str] = []
    for key in list(obj):
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            meta = obj["metadata"]
            if isinstance(meta, dict):
                for meta_key in list(meta):
                    if meta_key not in OBJECT_META_FIELDS:
                        unknown.append(f"metadata.{meta_key}")
                        del meta[meta_key]
            continue
        _prune_field(obj, key, schema, "", unknown)
    return unknown


def _prune_field(container: dict[str, Any], key: str, schema: Schema, path: str, unknown: list[str]) -> None:
    sub = (schema.get("properties") or {}).get(key)
    if sub is None:
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            sub = additional
        elif additional is True or schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        else:
            unknown.append(child(path, key))
            del container[key]
            return
    _prune_value(container[key], sub, child(path, key), unknown)


def _prune_value(value: Any, schema: Schema, path: str, unknown: list[str]) -> None:
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource"):
            return
        if (
            not schema.get("properties")
            and not isinstance(schema.get("additionalProperties"), dict)
            and (schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("additionalProperties") is True)
        ):
            return
        for key in list(value):
            _prune_field(value, key, schema, path, unknown)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune_value(item, items, index(path, i), unknown)


# --- defaulting ------------------------------------------------------------------------------------------------


def apply_defaults(value: Any, schema: Schema) -> None:
    """Set `default`s of absent fields and drop non-nullable nulls (in place), as structural defaulting does."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in list(value):
            sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
            if sub is not None and value[key] is None and not sub.get("nullable") and "default" not in sub:
                del value[key]
        for key, sub in properties.items():
            if "default" not in sub:
                continue
            if key not in value or (value[key] is None and not sub.get("nullable")):
                value[key] = json_copy(sub["default"])
        for key, item in value.items():
            if key in properties:
                apply_defaults(item, properties[key])
            elif isinstance(additional, dict):
                if item is None and not additional.get("nullable") and "default" in additional:
                    value[key] = item = json_copy(additional["default"])
                apply_defaults(item, additional)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                if item is None and not items.get("nullable") and "default" in items:
                    value[i] = item = json_copy(items["default"])
                apply_defaults(item, items)


# --- validation ------------------------------------------------------------------------------------------------


def json_type(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        # kube-apiserver decodes a JSON integer beyond int64 as a float64, which its schema check calls a number
        return "integer" if -(2**63) <= value < 2**63 else "number"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(expected: str, actual: str) -> bool:
    return expected == actual or (expected == "number" and actual == "integer")


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values where `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) in (int, float) and type(b) in (int, float) and a == b) or (type(a) is type(b) and a == b)


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _num(value: float) -> str:
    return go_float(float(value))


def validate_value(value: Any, schema: Schema, path: str, old: Any = MISSING) -> list[FieldError]:
    """OpenAPI validation of one value; unchanged values (equal to `old`) are ratcheted as on the apiserver."""
    errors: list[FieldError] = []
    _validate(value, schema, path, old, errors)
    return errors


def _validate(value: Any, schema: Schema, path: str, old: Any, errors: list[FieldError]) -> None:
    if old is not MISSING and json_equal(value, old):
        return  # validation ratcheting: an unchanged value keeps passing even if the schema got stricter
    actual = json_type(value)
    expected = schema.get("type")
    if value is None:
        if schema.get("nullable") or not expected:
            return
        errors.append(fe.type_invalid(path, "null", f'{path} in body must be of type {expected}: "null"'))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if actual not in ("integer", "string"):
            errors.append(fe.type_invalid(path, actual, f'{path} in body must be of type integer: "{actual}"'))
            errors.append(fe.type_invalid(path, actual, f'{path} in body must be of type string: "{actual}"'))
            return
    elif expected and not _type_ok(expected, actual):
        errors.append(fe.type_invalid(path, actual, f'{path} in body must be of type {expected}: "{actual}"'))
        return

    for sub in schema.get("allOf") or ():
        _validate(value, sub, path, MISSING, errors)
    any_of = schema.get("anyOf")
    if any_of and not any(not validate_value(value, s, path) for s in any_of):
        for sub in any_of:
            _validate(value, sub, path, MISSING, errors)
        errors.append(fe.invalid(path, value, f"{path} in body must validate at least one schema (anyOf)"))
    one_of = schema.get("oneOf")
    if one_of and sum(1 for s in one_of if not validate_value(value, s, path)) != 1:
        errors.append(fe.invalid(path, value, f"{path} in body must validate one and only one schema (oneOf)"))
    not_schema = schema.get("not")
    if isinstance(not_schema, dict) and not validate_value(value, not_schema, path):
        errors.append(fe.invalid(path, value, f"{path} in body must not validate the schema (not)"))

    if isinstance(value, str):
        _validate_string(value, schema, path, errors)
    elif actual in ("integer", "number"):
        _validate_number(value, schema, path, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, old, errors)

    enum = schema.get("enum")
    if enum is not None and not any(json_equal(value, option) for option in enum):
        supported = [option if isinstance(option, str) else _json(option) for option in enum]
        errors.append(fe.not_supported(path, value, supported))

    if isinstance(value, dict):
        _validate_object(value, schema, path, old, errors)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _validate_string(value: str, schema: Schema, path: str, errors: list[FieldError]) -> None:
    # kube-openapi's string validator stops at its first failure (maxLength, then minLength, then pattern).
    max_length = schema.get("maxLength")
    min_length = schema.get("minLength")
    pattern = schema.get("pattern")
    if max_length is not None and len(value) > max_length:
        errors.append(fe.too_long(path, int(max_length)))
    elif min_length is not None and len(value) < min_length:
        errors.append(fe.invalid(path, value, f"{path} in body should be at least {int(min_length)} chars long"))
    elif pattern is not None and not _regex(pattern).search(value):
        errors.append(fe.invalid(path, value, f"{path} in body should match '{pattern}'"))
    fmt = schema.get("format")
    if fmt and not check_format(fmt, value):
        errors.append(fe.type_invalid(path, value, f'{path} in body must be of type {fmt}: "{value}"'))


def _validate_number(value: float, schema: Schema, path: str, errors: list[FieldError]) -> None:
    multiple_of = schema.get("multipleOf")
    if multiple_of:
        quotient = value / multiple_of
        if not math.isclose(quotient, round(quotient)):
            errors.append(fe.invalid(path, value, f"{path} in body should be a multiple of {_num(multiple_of)}"))
    maximum = schema.get("maximum")
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            errors.append(fe.invalid(path, value, f"{path} in body should be less than {_num(maximum)}"))
        elif value > maximum:
            errors.append(fe.invalid(path, value, f"{path} in body should be less than or equal to {_num(maximum)}"))
    minimum = schema.get("minimum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            errors.append(fe.invalid(path, value, f"{path} in body should be greater than {_num(minimum)}"))
        elif value < minimum:
            errors.append(fe.invalid(path, value, f"{path} in body should be greater than or equal to {_num(minimum)}"))


def _validate_array(value: list[Any], schema: Schema, path: str, old: Any, errors: list[FieldError]) -> None:
    items = schema.get("items")
    if isinstance(items, dict):
        old_items = correlate_list(schema, old)
        for i, item in enumerate(value):
            _validate(item, items, index(path, i), old_items(item), errors)
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        errors.append(fe.invalid(path, len(value), f"{path} in body should have at least {int(min_items)} items"))
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        errors.append(fe.too_many(path, len(value), int(max_items)))
    if schema.get("uniqueItems"):
        for i, item in enumerate(value):
            if any(json_equal(item, other) for other in value[:i]):
                errors.append(fe.invalid(path, value, f"{path} in body shouldn't contain duplicates"))
                break


def _validate_object(value: dict[str, Any], schema: Schema, path: str, old: Any, errors: list[FieldError]) -> None:
    max_properties = schema.get("maxProperties")
    if max_properties is not None and len(value) > max_properties:
        errors.append(fe.too_many(path, len(value), int(max_properties)))
    min_properties = schema.get("minProperties")
    if min_properties is not None and len(value) < min_properties:
        errors.append(
            fe.invalid(path, len(value), f"{path} in body should have at least {int(min_properties)} properties")
        )
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(fe.required(child(path, name)))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    old_map = old if isinstance(old, dict) else {}
    for name in sorted(value):
        sub = properties.get(name)
        if sub is None and isinstance(additional, dict):
            sub = additional
        if sub is not None:
            _validate(value[name], sub, child(path, name), old_map.get(name, MISSING), errors)


def correlate_list(schema: Schema, old: Any) -> Any:
    """A lookup of the old item matching a new one: only map-type lists correlate, by their keys."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return lambda item: MISSING
    keys = schema.get("x-kubernetes-list-map-keys") or []

    def key_of(item: Any) -> Any:
        if not isinstance(item, dict):
            return None
        return tuple(_json(item.get(k)) for k in keys)

    by_key = {key_of(item): item for item in old if isinstance(item, dict)}
    return lambda item: by_key.get(key_of(item), MISSING)


# --- list types ------------------------------------------------------------------------------------------------


def validate_list_types(value: Any, schema: Schema, path: str) -> list[FieldError]:
    """Uniqueness of `x-kubernetes-list-type: set|map` lists."""
    errors: list[FieldError] = []
    _list_types(value, schema, path, errors)
    return errors


def _list_types(value: Any, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name in sorted(value):
            sub = properties.get(name) or (additional if isinstance(additional, dict) else None)
            if sub is not None:
                _list_types(value[name], sub, child(path, name), errors)
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            for i, item in enumerate(value):
                if any(json_equal(item, other) for other in value[:i]):
                    errors.append(fe.duplicate(index(path, i), item))
        elif list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen: list[dict[str, Any]] = []
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                item_key = {k: item[k] for k in keys if k in item}
                if any(json_equal(item_key, other) for other in seen):
                    errors.append(fe.duplicate(index(path, i), item_key))
                seen.append(item_key)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _list_types(item, items, index(path, i), errors)
