"""ObjectMeta validation: names, labels, annotations, finalizers and owner references."""

from __future__ import annotations

import re
from typing import Any

from flink_manager.schema import fielderrors as fe
from flink_manager.schema.fielderrors import FieldError

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def name_errors(name: str, rule: str, path: str = "metadata.name") -> list[FieldError]:
    """Errors of an object name under the resource's naming rule (subdomain, label or path segment)."""
    if rule == "label":
        errors = []
        if len(name) > 63:
            errors.append(fe.invalid(path, name, "must be no more than 63 characters"))
        if not _LABEL.match(name):
            errors.append(fe.invalid(path, name, LABEL_MESSAGE))
        return errors
    if rule == "path":
        for bad in (".", ".."):
            if name == bad:
                return [fe.invalid(path, name, f"may not be '{bad}'")]
        for bad in ("/", "%"):
            if bad in name:
                return [fe.invalid(path, name, f"may not contain '{bad}'")]
        return []
    errors = []
    if len(name) > 253:
        errors.append(fe.invalid(path, name, "must be no more than 253 characters"))
    if not _SUBDOMAIN.match(name):
        errors.append(fe.invalid(path, name, SUBDOMAIN_MESSAGE))
    return errors


def qualified_name_errors(value: str, path: str) -> list[FieldError]:
    """Errors of a label key / finalizer name: `[prefix/]name`."""
    prefix, _, name = value.rpartition("/")
    errors = []
    if not name:
        errors.append(fe.invalid(path, value, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(fe.invalid(path, value, "name part must be no more than 63 characters"))
    elif not _QUALIFIED_NAME.match(name):
        errors.append(fe.invalid(path, value, QUALIFIED_NAME_MESSAGE))
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        errors.append(fe.invalid(path, value, "prefix part " + SUBDOMAIN_MESSAGE))
    return errors


def validate_meta(meta: dict[str, Any], name_rule: str) -> list[FieldError]:
    """ObjectMeta validation on create and update."""
    errors: list[FieldError] = []
    name = meta.get("name")
    if not name:
        errors.append(fe.required("metadata.name", "name or generateName is required"))
    elif isinstance(name, str):
        errors += name_errors(name, name_rule)
    labels = meta.get("labels") or {}
    if isinstance(labels, dict):
        for key, value in labels.items():
            errors += qualified_name_errors(key, "metadata.labels")
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
                errors.append(fe.invalid("metadata.labels", value, LABEL_VALUE_MESSAGE))
    annotations = meta.get("annotations") or {}
    if isinstance(annotations, dict):
        for key in annotations:
            errors += [
                fe.invalid("metadata.annotations", e.value, e.detail)
                for e in qualified_name_errors(key.lower(), "metadata.annotations")
            ]
        total = sum(len(k) + len(str(v)) for k, v in annotations.items())
        if total > 256 * 1024:
            errors.append(fe.too_long("metadata.annotations", 256 * 1024))
    for i, finalizer in enumerate(meta.get("finalizers") or ()):
        if "/" not in finalizer and finalizer not in ("orphan", "foregroundDeletion", "kubernetes"):
            errors += qualified_name_errors(finalizer, f"metadata.finalizers[{i}]")
    for i, ref in enumerate(meta.get("ownerReferences") or ()):
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                errors.append(
                    fe.invalid(f"metadata.ownerReferences[{i}].{key}", ref.get(key, ""), f"{key} must not be empty")
                )
    return errors
