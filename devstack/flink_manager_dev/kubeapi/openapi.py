"""OpenAPI v3 (per group-version) and v2 documents: enough for kubectl's field validation check and `explain`."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi.registry import Registry

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
OBJECT_META_SCHEMA: dict[str, Any] = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects "
    "users must create.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object"},
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
        },
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}
_QUERY_PARAMS = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]


def definition_name(rt: ResourceType) -> str:
    """`io.flinkmanager.v1alpha1.Execution`-style names (the group reversed), `io.k8s.api.core.v1.X` for core."""
    if not rt.group:
        return f"io.k8s.api.core.v1.{rt.kind}"
    reversed_group = ".".join(reversed(rt.group.split(".")))
    return f"{reversed_group}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> list[dict[str, str]]:
    return [{"group": rt.group, "version": rt.version, "kind": rt.kind}]


def _kind_schema(rt: ResourceType, ref_prefix: str) -> dict[str, Any]:
    schema: dict[str, Any] = copy.deepcopy(rt.schema) if rt.schema else {"type": "object"}
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation of an object.",
    }
    properties["kind"] = {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object represents.",
    }
    properties["metadata"] = {
        "allOf": [{"$ref": f"{ref_prefix}{OBJECT_META}"}],
        "description": "Standard object's metadata.",
    }
    schema["x-kubernetes-group-version-kind"] = _gvk(rt)
    return schema


def _paths(rt: ResourceType, ref_prefix: str, with_schema: bool) -> dict[str, Any]:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
    response: dict[str, Any] = {"200": {"description": "OK"}}
    if with_schema:
        response = {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": f"{ref_prefix}{definition_name(rt)}"}}},
            }
        }
    params = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for name in _QUERY_PARAMS
    ]
    extension = {"x-kubernetes-group-version-kind": _gvk(rt)[0]}
    item = {
        "get": {"operationId": f"read{rt.kind}", "responses": response, **extension, "x-kubernetes-action": "get"},
        "put": {
            "operationId": f"replace{rt.kind}",
            "parameters": params,
            "responses": response,
            **extension,
            "x-kubernetes-action": "put",
        },
        "patch": {
            "operationId": f"patch{rt.kind}",
            "parameters": params,
            "responses": response,
            **extension,
            "x-kubernetes-action": "patch",
        },
        "delete": {
            "operationId": f"delete{rt.kind}",
            "responses": response,
            **extension,
            "x-kubernetes-action": "delete",
        },
    }
    collection = {
        "get": {
            "operationId": f"list{rt.kind}",
            "responses": {"200": {"description": "OK"}},
            **extension,
            "x-kubernetes-action": "list",
        },
        "post": {
            "operationId": f"create{rt.kind}",
            "parameters": params,
            "responses": response,
            **extension,
            "x-kubernetes-action": "post",
        },
    }
    return {base: collection, f"{base}/{{name}}": item}


def v3_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """`/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`."""
    types = registry.in_group_version(group, version)
    if not types:
        return None
    ref_prefix = "#/components/schemas/"
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        paths.update(_paths(rt, ref_prefix, rt.custom))
        if rt.custom:
            schemas[definition_name(rt)] = _kind_schema(rt, ref_prefix)
    if schemas:
        schemas[OBJECT_META] = OBJECT_META_SCHEMA
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def v3_index(registry: Registry) -> dict[str, Any]:
    """`/openapi/v3`: one entry per group-version with a content hash."""
    paths = {}
    for group, versions in registry.groups().items():
        for version in versions:
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            doc = v3_document(registry, group, version)
            digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: Registry) -> dict[str, Any]:
    """`/openapi/v2` with the custom resources' definitions."""
    ref_prefix = "#/definitions/"
    definitions: dict[str, Any] = {OBJECT_META: OBJECT_META_SCHEMA}
    paths: dict[str, Any] = {}
    for rt in registry.all():
        if rt.custom:
            schema = _kind_schema(rt, ref_prefix)
            _strip_v2(schema)
            definitions[definition_name(rt)] = schema
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.34.0"},
        "paths": paths,
        "definitions": definitions,
    }


def _strip_v2(schema: Any) -> None:
    # OpenAPI v2 has no `nullable`, and the apiserver drops the v3-only keywords when publishing v2.
    if isinstance(schema, dict):
        for key in ("nullable", "x-kubernetes-validations", "anyOf", "oneOf", "not"):
            schema.pop(key, None)
        for value in schema.values():
            _strip_v2(value)
    elif isinstance(schema, list):
        for value in schema:
            _strip_v2(value)
