"""The API verbs on stored objects, with the apiserver's semantics (no HTTP here).

Every write is synchronous on the event loop, so a write is atomic without locks: read, decide, store, publish.
"""

from __future__ import annotations

import base64
import builtins
import datetime
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from flink_manager.schema import crds
from flink_manager.schema import fielderrors as fe
from flink_manager.schema.jsonvalues import json_copy
from flink_manager.schema.metavalidation import validate_meta
from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi import errors, managedfields, patches
from flink_manager_dev.kubeapi.applying import LAST_APPLIED, last_applied_takeover, server_side_apply
from flink_manager_dev.kubeapi.registry import Registry
from flink_manager_dev.kubeapi.selectors import (
    FieldRequirement,
    Requirement,
    exact_name,
    fields_match,
    labels_match,
)
from flink_manager_dev.kubeapi.storage import Change, Storage, Stored
from flink_manager_dev.kubeapi.watching import WatchHub

SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink")
GC_MANAGER = "kube-controller-manager"
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
RETURNS_DELETED_OBJECT = {("", "pods"), ("", "serviceaccounts"), ("", "namespaces"), ("", "services")}


def rfc3339(moment: datetime.datetime) -> str:
    """Seconds-precision RFC 3339 in UTC, as metav1.Time serialises."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """What a write request carries besides its body."""

    field_manager: str | None = None
    user_agent: str | None = None
    field_validation: str = ""  # Strict | Warn | Ignore; the apiserver's default is Warn
    dry_run: bool = False
    force: bool = False
    warnings: list[str] = field(default_factory=list)

    def manager(self) -> str:
        """The field manager: `?fieldManager=` or the User-Agent's product name."""
        return self.field_manager or managedfields.manager_from_user_agent(self.user_agent)


@dataclass
class ListResult:
    """A page of a list."""

    items: list[Stored]
    resource_version: int
    continue_token: str | None = None
    remaining: int | None = None


Hook = Callable[[Change], None]


class ObjectApi:
    """get / list / create / update / patch / delete over the storage, publishing each change to watchers."""

    def __init__(
        self, registry: Registry, storage: Storage, hub: WatchHub, clock: Callable[[], datetime.datetime] | None = None
    ) -> None:
        self.registry = registry
        self.storage = storage
        self.hub = hub
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.after_change: list[Hook] = []  # the garbage collector listens here
        self.writes = 0  # committed writes (no-op writes are not counted: they do not reach storage)

    # --- reading -------------------------------------------------------------------------------------------

    def now(self) -> str:
        """The current time as the apiserver stamps it."""
        return rfc3339(self.clock())

    def get(self, rt: ResourceType, namespace: str, name: str) -> Stored:
        """One object (404 if absent)."""
        stored = self.storage.get(rt.storage_key, namespace if rt.namespaced else "", name)
        if stored is None:
            raise errors.NotFound(rt.plural, rt.group, name)
        return self.view(rt, stored)

    def view(self, rt: ResourceType, stored: Stored) -> Stored:
        """An object as served at `rt`'s version, re-defaulted if its schema changed since it was stored."""
        if rt.conversion is not None:
            return Stored(rt.conversion.from_stored(stored.body, rt.api_version, rt.kind), stored.schema_epoch)
        body_version = stored.body.get("apiVersion")
        needs_default = rt.custom and rt.compiled is not None and stored.schema_epoch != rt.compiled.epoch
        if body_version == rt.api_version and not needs_default:
            return stored
        body = json_copy(stored.body)
        body["apiVersion"] = rt.api_version
        if needs_default:
            rt.compiled.default(body)
        return Stored(body, stored.schema_epoch)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: tuple[Requirement, ...] = (),
        fields: tuple[FieldRequirement, ...] = (),
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ListResult:
        """Objects matching selectors, ordered by namespace/name, paged by `limit`/`continue`."""
        current = self.storage.revision
        self._check_list_version(resource_version, resource_version_match, current)
        start_after: tuple[str, str] | None = None
        if continue_token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start_after = (decoded["ns"], decoded["name"])
            except (ValueError, KeyError) as exc:
                raise errors.BadRequest(f"invalid continue token: {exc}") from exc
        ns = namespace if rt.namespaced else None
        name = exact_name(fields)
        if name is not None:
            candidates = [
                s
                for s in (
                    [self.storage.get(rt.storage_key, ns, name)]
                    if ns is not None
                    else (x for x in self.storage.iter(rt.storage_key) if x.meta["name"] == name)
                )
                if s is not None
            ]
        else:
            candidates = self.storage.iter(rt.storage_key, ns)  # type: ignore[assignment]
        items: list[Stored] = []
        token = None
        remaining = 0
        for stored in candidates:
            meta = stored.meta
            if start_after is not None and (meta.get("namespace", ""), meta["name"]) <= start_after:
                continue
            if not labels_match(labels, stored.body) or not fields_match(fields, stored.body):
                continue
            if limit and len(items) >= limit:
                remaining += 1
                continue
            items.append(self.view(rt, stored))
        if limit and remaining:
            last = items[-1].meta
            token = base64.urlsafe_b64encode(
                json.dumps({"rv": current, "ns": last.get("namespace", ""), "name": last["name"]}).encode()
            ).decode()
        return ListResult(items, current, token, remaining if token else None)

    def _check_list_version(self, rv: str | None, match: str | None, current: int) -> None:
        if match and not rv:
            raise errors.Invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                [
                    fe.forbidden(
                        "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"
                    )
                ],
            )
        if not rv or rv == "0":
            return
        try:
            wanted = int(rv)
        except ValueError as exc:
            raise errors.BadRequest(f'resourceVersion: Invalid value: "{rv}": strconv.ParseUint') from exc
        if match == "Exact" and wanted != current and wanted < self.storage.compacted_revision:
            raise errors.Gone("The resourceVersion for the provided list is too old.")
        if wanted > current:
            raise errors.ApiError(
                504,
                "Timeout",
                f"Timeout: Too large resource version: {wanted}, current: {current}",
                {
                    "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                    "retryAfterSeconds": 1,
                },
            )

    # --- committing ----------------------------------------------------------------------------------------

    def _commit(self, rt: ResourceType, body: dict[str, Any], old: Stored | None, dry_run: bool) -> Stored:
        _drop_empty_meta(body["metadata"])
        if body["metadata"].get("managedFields"):
            body["metadata"]["managedFields"] = managedfields.sort_entries(body["metadata"]["managedFields"])
        if dry_run:
            return Stored(body, rt.compiled.epoch if rt.compiled is not None else 0)
        revision = self.storage.next_revision()
        body["metadata"]["resourceVersion"] = str(revision)
        stored = Stored(body, rt.compiled.epoch if rt.compiled is not None else 0)
        change = self.storage.put(rt.storage_key, stored, old, revision)
        self._publish(change)
        return stored

    def _commit_removal(self, rt: ResourceType, current: Stored, dry_run: bool) -> Stored:
        body = json_copy(current.body)
        if dry_run:
            return Stored(body)
        revision = self.storage.next_revision()
        body["metadata"]["resourceVersion"] = str(revision)
        final = Stored(body, current.schema_epoch)
        change = self.storage.remove(rt.storage_key, final, current, revision)
        self._publish(change)
        return final

    def _publish(self, change: Change) -> None:
        self.writes += 1
        if (
            change.storage_key == CRD_KEY
            and change.type != "DELETED"
            and change.new.body.get("status", {}).get("acceptedNames")
        ):
            self._serve_crd(change.new.body)
        self.hub.publish(change)
        for hook in self.after_change:
            hook(change)

    # --- decoding ------------------------------------------------------------------------------------------

    def _check_type(self, rt: ResourceType, body: Any, require: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request was in an unknown format")
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if rt.custom and require and (not api_version or not kind):
            missing = "Kind" if not kind else "APIVersion"
            raise errors.BadRequest(f"Object '{missing}' is missing in '{json.dumps(body, separators=(',', ':'))}'")
        if api_version and api_version != rt.api_version:
            other = self.registry.by_kind(api_version, kind or rt.kind)
            if other is None or other.storage_key != rt.storage_key:
                raise errors.BadRequest(
                    f"the API version in the data ({api_version}) does not match the expected API version "
                    f"({rt.api_version})"
                )
        if kind and kind != rt.kind:
            raise errors.BadRequest(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        body["apiVersion"], body["kind"] = rt.api_version, rt.kind
        meta = body.get("metadata")
        if meta is None:
            body["metadata"] = {}
        elif not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        return body

    def _decode_custom(self, rt: ResourceType, body: dict[str, Any], opts: WriteOptions, patch: bool) -> None:
        if not rt.custom or rt.compiled is None:
            return
        unknown = rt.compiled.prune(body)
        if unknown:
            mode = opts.field_validation or "Warn"
            messages = [f'unknown field "{path}"' for path in unknown]
            if mode == "Strict":
                detail = "strict decoding error: " + ", ".join(messages)
                if patch:
                    # The apiserver reports the whole patched object as the invalid value of `patch`.
                    shown = json.dumps(body, sort_keys=True, separators=(",", ":"))
                    raise errors.Invalid("", "", "", [fe.invalid("patch", shown, detail)])
                raise errors.BadRequest(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {detail}'
                )
            if mode == "Warn":
                opts.warnings.extend(messages)
        rt.compiled.default(body)

    # --- create --------------------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str | None, body: Any, opts: WriteOptions) -> Stored:
        """POST: create an object (409 AlreadyExists, 422 Invalid, 404 when its namespace is missing)."""
        if rt.conversion is not None:
            served = self._check_type(rt, body, require=True)
            stored = self.create(self._stored_type(rt), namespace, rt.conversion.to_stored(served), opts)
            return self.view(rt, stored)
        body = self._check_type(rt, body, require=True)
        meta = body["metadata"]
        self._place(rt, namespace, meta)
        if meta.get("resourceVersion"):
            # The apiserver answers this one with a bare 500 Status (no reason).
            raise errors.ApiError(500, "", "resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choice(NAME_ALPHABET) for _ in range(5))
        self._decode_custom(rt, body, opts, patch=False)
        for key in SYSTEM_META:
            meta.pop(key, None)
        meta.pop("managedFields", None)
        if rt.has_status:
            body.pop("status", None)
        if rt.tracks_generation:
            meta["generation"] = 1
        if (rt.group, rt.plural) == ("", "namespaces"):
            body.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            body["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
        if rt.storage_key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            crds.default_crd(body)
            meta.setdefault("finalizers", [])
            if crds.CLEANUP_FINALIZER not in meta["finalizers"]:
                meta["finalizers"].append(crds.CLEANUP_FINALIZER)
        self._validate(rt, body, None)
        self._check_namespace_accepts(rt, meta)
        ns = meta.get("namespace", "")
        existing = self.storage.get(rt.storage_key, ns, meta["name"])
        if existing is not None:
            exists = errors.AlreadyExists(rt.plural, rt.group, meta["name"])
            if existing.meta.get("deletionTimestamp"):
                exists.message = f"object is being deleted: {exists.message}"
            raise exists
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        self._record_update(rt, body, None, opts, None)
        stored = self._commit(rt, body, None, opts.dry_run)
        if rt.storage_key == ("apiextensions.k8s.io", "customresourcedefinitions") and not opts.dry_run:
            self._establish(rt, stored)
        return stored

    def _place(self, rt: ResourceType, namespace: str | None, meta: dict[str, Any]) -> None:
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if namespace is None:
                raise errors.BadRequest("the server could not find the requested resource (namespace is required)")
            if body_ns and body_ns != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)

    def _check_namespace_accepts(self, rt: ResourceType, meta: dict[str, Any]) -> None:
        if not rt.namespaced:
            return
        ns = self.storage.get(("", "namespaces"), "", meta["namespace"])
        if ns is None:
            raise errors.NotFound("namespaces", "", meta["namespace"])
        if ns.meta.get("deletionTimestamp"):
            raise errors.Forbidden(
                rt.plural,
                rt.group,
                meta.get("name", ""),
                f"unable to create new content in namespace {meta['namespace']} because it is being terminated",
            )

    def _validate(self, rt: ResourceType, body: dict[str, Any], old: dict[str, Any] | None) -> None:
        problems = validate_meta(body["metadata"], rt.name_rule)
        if old is not None:
            problems += self._immutable_meta(body, old)
        if rt.custom and rt.compiled is not None:
            problems += rt.compiled.validate(body, old)
        if rt.storage_key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            problems += crds.validate_crd(body)
        if problems:
            raise errors.Invalid(rt.kind, rt.group, body["metadata"].get("name", ""), problems)

    def _immutable_meta(self, body: dict[str, Any], old: dict[str, Any]) -> builtins.list[fe.FieldError]:
        problems = []
        new_finalizers = body["metadata"].get("finalizers") or []
        old_finalizers = old["metadata"].get("finalizers") or []
        if old["metadata"].get("deletionTimestamp"):
            added = [f for f in new_finalizers if f not in old_finalizers]
            if added:
                shown = ", ".join(f'"{f}"' for f in added)
                problems.append(
                    fe.forbidden(
                        "metadata.finalizers",
                        f"no new finalizers can be added if the object is being deleted, found new finalizers "
                        f"[]string{{{shown}}}",
                    )
                )
        return problems

    def _serve_crd(self, crd: dict[str, Any]) -> None:
        """Serve what an accepted CRD declares now: its versions, schemas and columns (replacing the previous)."""
        self.registry.remove_crd(crd["metadata"]["name"])
        for resource_type in crds.resource_types(crd):
            self.registry.add(resource_type)

    def _establish(self, rt: ResourceType, stored: Stored) -> None:
        crd = json_copy(stored.body)
        crd["status"] = crds.established_status(crd, self.now())
        crd["metadata"]["managedFields"] = managedfields.update_entries(
            list(crd["metadata"].get("managedFields") or ()),
            manager="kube-apiserver",
            operation="Update",
            api_version="apiextensions.k8s.io/v1",
            subresource="status",
            time=self.now(),
            added=managedfields.changed_paths(stored.body, crd, managedfields.list_types_builtin, False, True)[0],
        )
        self._commit(rt, crd, stored, False)

    # --- update --------------------------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str | None = None,
    ) -> Stored:
        """PUT: replace an object (or only its status through `/status`)."""
        if rt.conversion is not None:
            served = self._check_type(rt, body, require=True)
            stored = self.update(
                self._stored_type(rt), namespace, name, rt.conversion.to_stored(served), opts, subresource
            )
            return self.view(rt, stored)
        body = self._check_type(rt, body, require=True)
        meta = body["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.BadRequest(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        self._place(rt, namespace, meta)
        current = self.storage.get(rt.storage_key, meta.get("namespace", ""), name)
        if current is None:
            raise errors.NotFound(rt.plural, rt.group, name)
        rv = meta.get("resourceVersion")
        if not rv:
            if not rt.unconditional_update:
                # This one error names the resource (not the kind), as the generic registry words it.
                raise errors.Invalid(
                    rt.plural,
                    rt.group,
                    name,
                    [fe.invalid("metadata.resourceVersion", 0, "must be specified for an update")],
                )
        elif rv != current.meta.get("resourceVersion"):
            raise errors.Conflict(rt.plural, rt.group, name)
        self._decode_custom(rt, body, opts, patch=False)
        return self._replace(rt, current, body, opts, subresource, "Update")

    def _replace(
        self,
        rt: ResourceType,
        current: Stored,
        body: dict[str, Any],
        opts: WriteOptions,
        subresource: str | None,
        operation: str,
        entries: builtins.list[dict[str, Any]] | None = None,
    ) -> Stored:
        old = current.body
        if subresource == "status":
            new = json_copy(old)
            if "status" in body:
                new["status"] = body["status"]
            else:
                new.pop("status", None)
        else:
            new = body
            meta, old_meta = new["metadata"], old["metadata"]
            for key in SYSTEM_META:
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            meta["namespace"] = old_meta.get("namespace")
            if not rt.namespaced:
                meta.pop("namespace", None)
            if rt.has_status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            if (rt.group, rt.plural) == ("", "namespaces"):
                new["status"] = old.get("status", {"phase": "Active"})
            if rt.tracks_generation and _non_meta(new) != _non_meta(old):
                meta["generation"] = old_meta.get("generation", 1) + 1
        new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
        # managedFields sent with a main-resource write replace the live ones (kubectl's client-side to
        # server-side apply upgrade does this); missing or empty ones keep the live entries.
        requested = body["metadata"].get("managedFields") if subresource is None else None
        baseline = requested if isinstance(requested, list) and requested else old["metadata"].get("managedFields")
        new["metadata"]["managedFields"] = baseline
        if new["metadata"]["managedFields"] is None:
            new["metadata"].pop("managedFields")
        self._validate(rt, new, old)
        if entries is not None:
            new["metadata"]["managedFields"] = entries
        if _same(new, old):
            return self.view(rt, current)  # a no-op write changes nothing, not even the resourceVersion
        if entries is None:
            self._record_update(rt, new, old, opts, subresource)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            # The last finalizer is gone: this very update deletes the object. Watchers see the last stored
            # version (etcd's previous value, finalizers and all); the caller gets the object it sent.
            self._commit_removal(rt, current, opts.dry_run)
            _drop_empty_meta(new["metadata"])
            return Stored(new, current.schema_epoch)
        return self._commit(rt, new, current, opts.dry_run)

    def _record_update(
        self,
        rt: ResourceType,
        new: dict[str, Any],
        old: dict[str, Any] | None,
        opts: WriteOptions,
        subresource: str | None,
    ) -> None:
        list_types = self._list_types(rt)
        added, removed = managedfields.changed_paths(
            old,
            new,
            list_types,
            exclude_status=rt.has_status and subresource != "status",
            only_status=subresource == "status",
        )
        entries = list(new["metadata"].get("managedFields") or ()) if old else []
        if not added and not removed and old is not None:
            return
        updated = managedfields.update_entries(
            entries,
            manager=opts.manager(),
            operation="Update",
            api_version=rt.api_version,
            subresource=subresource,
            time=self.now(),
            added=added,
            removed=removed,
        )
        if updated:
            new["metadata"]["managedFields"] = updated
        else:
            new["metadata"].pop("managedFields", None)

    def _stored_type(self, rt: ResourceType) -> ResourceType:
        group, plural = rt.storage_key
        for candidate in self.registry.storage_versions(group, plural):
            if candidate.conversion is None:
                return candidate
        raise errors.PathNotFound()

    def _list_types(self, rt: ResourceType) -> managedfields.ListTypeOf:
        if rt.custom:
            return managedfields.list_types_from_schema(rt.schema)
        return managedfields.list_types_builtin

    # --- patch ---------------------------------------------------------------------------------------------

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        raw: bytes,
        opts: WriteOptions,
        subresource: str | None = None,
    ) -> tuple[Stored, bool]:
        """PATCH with any of the four patch types; returns (object, created) — apply may create."""
        ns = namespace if rt.namespaced else ""
        if content_type not in patches.PATCH_TYPES:
            accepted = [patches.JSON, patches.MERGE, patches.APPLY]
            if rt.strategic_merge:
                accepted.insert(2, patches.STRATEGIC)
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(accepted)}"
            )
        if content_type == patches.STRATEGIC and not rt.strategic_merge:
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            )
        current = self.storage.get(rt.storage_key, ns or "", name)
        if rt.conversion is not None and content_type == patches.APPLY:
            raise errors.UnsupportedMediaType(
                f"server-side apply is served for {rt.kind} in {rt.conversion.stored_api_version} only"
            )
        if content_type == patches.APPLY:
            return self._apply(rt, namespace, name, raw, opts, subresource, current)
        if current is None:
            raise errors.NotFound(rt.plural, rt.group, name)
        try:
            document = json.loads(raw or b"null")
        except ValueError as exc:
            raise errors.BadRequest(f"error decoding patch: {exc}") from exc
        document = normalize_numbers(document)
        base = json_copy(self.view(rt, current).body)
        if content_type == patches.MERGE:
            if not isinstance(document, dict):
                raise errors.BadRequest("json: cannot unmarshal into Go value of type map[string]interface {}")
            patched = patches.apply_merge_patch(base, document)  # the document is parsed afresh: no copy needed
        elif content_type == patches.JSON:
            patched = patches.json_patch(base, document)
        else:
            if not isinstance(document, dict):
                raise errors.BadRequest("json: cannot unmarshal into Go value of type map[string]interface {}")
            patched = patches.strategic_merge_patch(base, document)
        if not isinstance(patched, dict):
            raise errors.BadRequest("the patched object is not an object")
        patched = self._check_type(rt, patched, require=False)
        if rt.conversion is not None:
            stored_rt = self._stored_type(rt)
            converted = rt.conversion.to_stored(patched)
            return self.view(rt, self.update(stored_rt, namespace, name, converted, opts, subresource)), False
        meta = patched["metadata"]
        rv = meta.get("resourceVersion")
        if rv and rv != current.meta.get("resourceVersion"):
            raise errors.Conflict(rt.plural, rt.group, name)
        if meta.get("name") != name:
            raise errors.Invalid(
                rt.kind, rt.group, name, [fe.invalid("metadata.name", meta.get("name"), "field is immutable")]
            )
        if rt.namespaced and meta.get("namespace") != ns:
            raise errors.BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        self._decode_custom(rt, patched, opts, patch=True)
        return self._replace(rt, current, patched, opts, subresource, "Update"), False

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        raw: bytes,
        opts: WriteOptions,
        subresource: str | None,
        current: Stored | None,
    ) -> tuple[Stored, bool]:
        if not opts.field_manager:
            raise errors.Invalid(rt.kind, rt.group, name, [fe.required("fieldManager", "is required for apply patch")])
        try:
            config = yaml.safe_load(raw or b"") or {}
        except yaml.YAMLError as exc:
            raise errors.BadRequest(f"error decoding YAML: {exc}") from exc
        if not isinstance(config, dict):
            raise errors.BadRequest("the apply configuration must be an object")
        config = normalize_numbers(config)
        config_meta = config.get("metadata") or {}
        if config_meta.get("name") and config_meta["name"] != name:
            raise errors.BadRequest(
                f"the name of the object ({config_meta['name']}) does not match the name on the URL ({name})"
            )
        if not config.get("apiVersion") or not config.get("kind"):
            raise errors.BadRequest("invalid object type: /, Kind=")
        if config.get("apiVersion") != rt.api_version or config.get("kind") != rt.kind:
            raise errors.BadRequest(
                f"the API version in the data ({config.get('apiVersion')}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        if rt.custom and rt.compiled is not None:
            unknown = rt.compiled.prune(config)
            if unknown:
                messages = [f'unknown field "{path}"' for path in unknown]
                if (opts.field_validation or "Strict") == "Strict":
                    raise errors.BadRequest(
                        f"failed to create typed patch object ({rt.api_version}, Kind={rt.kind}): "
                        f".{unknown[0]}: field not declared in schema"
                    )
                if opts.field_validation == "Warn":
                    opts.warnings.extend(messages)
        exclude_status = rt.has_status and subresource != "status"
        only_status = subresource == "status"
        if current is None:
            if subresource:
                raise errors.NotFound(rt.plural, rt.group, name)
            result = server_side_apply(
                {},
                config,
                manager=opts.field_manager,
                api_version=rt.api_version,
                subresource=None,
                list_type_of=self._list_types(rt),
                exclude_status=exclude_status,
                only_status=only_status,
                force=opts.force,
                now=self.now(),
            )
            body = result.obj
            body.setdefault("metadata", {})["name"] = name
            body["metadata"]["managedFields"] = result.entries
            entries = result.entries
            created = self._create_applied(rt, namespace, body, opts, entries)
            return created, True
        allowed: set[Any] = set()
        if opts.field_manager == "kubectl":
            allowed = last_applied_takeover(current.body, self._list_types(rt))
        result = server_side_apply(
            json_copy(current.body),
            config,
            manager=opts.field_manager,
            api_version=rt.api_version,
            subresource=subresource,
            list_type_of=self._list_types(rt),
            exclude_status=exclude_status,
            only_status=only_status,
            force=opts.force,
            now=self.now(),
            allowed_conflicts=allowed,
        )
        merged = self._check_type(rt, result.obj, require=False)
        annotations = merged["metadata"].get("annotations") or {}
        if opts.field_manager == "kubectl" and annotations.get(LAST_APPLIED) and subresource is None:
            # The apiserver keeps kubectl's client-side annotation in step with what was applied server-side.
            applied = json_copy(config)
            applied.setdefault("metadata", {}).pop("managedFields", None)
            annotations[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"), sort_keys=True) + "\n"
        if rt.custom and rt.compiled is not None:
            rt.compiled.default(merged)
        return self._replace(rt, current, merged, opts, subresource, "Apply", entries=result.entries), False

    def _create_applied(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        opts: WriteOptions,
        entries: builtins.list[dict[str, Any]],
    ) -> Stored:
        body = self._check_type(rt, body, require=True)
        meta = body["metadata"]
        self._place(rt, namespace, meta)
        if rt.custom and rt.compiled is not None:
            rt.compiled.default(body)
        for key in SYSTEM_META:
            meta.pop(key, None)
        if rt.has_status:
            body.pop("status", None)
        if rt.tracks_generation:
            meta["generation"] = 1
        self._validate(rt, body, None)
        self._check_namespace_accepts(rt, meta)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        meta["managedFields"] = entries
        return self._commit(rt, body, None, opts.dry_run)

    # --- delete --------------------------------------------------------------------------------------------

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: dict[str, Any], opts: WriteOptions
    ) -> tuple[Stored | None, dict[str, Any] | None]:
        """DELETE: (object still terminating or returned, or None) and a Status when deletion completed."""
        if rt.conversion is not None:
            stored, status = self.delete(self._stored_type(rt), namespace, name, options, opts)
            if status is not None:
                status["details"]["group"], status["details"]["kind"] = rt.group, rt.plural
            return (self.view(rt, stored) if stored is not None else None), status
        ns = namespace if rt.namespaced else ""
        current = self.storage.get(rt.storage_key, ns or "", name)
        if current is None:
            raise errors.NotFound(rt.plural, rt.group, name)
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != current.meta.get("uid"):
            raise errors.Conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {current.meta.get('uid')}",
            )
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != current.meta.get(
            "resourceVersion"
        ):
            raise errors.Conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{preconditions['resourceVersion']}, ResourceVersion in object meta: "
                f"{current.meta.get('resourceVersion')}",
            )
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        if policy not in (None, "Orphan", "Foreground", "Background"):
            raise errors.Invalid(
                "DeleteOptions",
                "",
                "",
                [fe.not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])],
            )
        body = json_copy(current.body)
        meta = body["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if policy in ("Orphan", "Background"):
            finalizers = [f for f in finalizers if f != "foregroundDeletion"] if policy == "Orphan" else finalizers
        if (rt.group, rt.plural) == ("", "namespaces"):
            if name in PROTECTED_NAMESPACES:
                raise errors.Forbidden(rt.plural, rt.group, name, "this namespace may not be deleted")
            return self._delete_namespace(rt, current, opts), None
        if finalizers or meta.get("deletionTimestamp"):
            changed = finalizers != list(meta.get("finalizers") or ())
            if finalizers:
                meta["finalizers"] = finalizers
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = self.now()
                meta["deletionGracePeriodSeconds"] = 0
                if rt.tracks_generation:
                    meta["generation"] = meta.get("generation", 1) + 1
                if rt.storage_key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                    body["status"] = crds.terminating_status(body, self.now())
                changed = True
            if not changed:
                return self.view(rt, current), None
            return self.view(rt, self._commit(rt, body, current, opts.dry_run)), None
        final = self._commit_removal(rt, current, opts.dry_run)
        if rt.storage_key in RETURNS_DELETED_OBJECT:
            return self.view(rt, final), None
        details: dict[str, Any] = {"name": name, "kind": rt.plural, "uid": current.meta.get("uid")}
        if rt.group:
            details = {"name": name, "group": rt.group, "kind": rt.plural, "uid": current.meta.get("uid")}
        return None, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _delete_namespace(self, rt: ResourceType, current: Stored, opts: WriteOptions) -> Stored:
        if current.meta.get("deletionTimestamp"):
            return current
        body = json_copy(current.body)
        body["metadata"]["deletionTimestamp"] = self.now()
        body["metadata"]["deletionGracePeriodSeconds"] = 0
        body["status"] = {"phase": "Terminating"}
        return self._commit(rt, body, current, opts.dry_run)

    def remove_finalizer(self, rt: ResourceType, stored: Stored, finalizer: str) -> None:
        """Drop one finalizer as a controller would (deleting the object if it was the last)."""
        body = json_copy(stored.body)
        finalizers = [f for f in body["metadata"].get("finalizers") or () if f != finalizer]
        if finalizers:
            body["metadata"]["finalizers"] = finalizers
        else:
            body["metadata"].pop("finalizers", None)
        opts = WriteOptions(field_manager=GC_MANAGER)
        self._replace(rt, stored, body, opts, None, "Update")

    def write_status(self, rt: ResourceType, stored: Stored, status: dict[str, Any], manager: str) -> Stored:
        """A controller's status update through the status subresource."""
        body = json_copy(stored.body)
        body["status"] = status
        return self._replace(rt, stored, body, WriteOptions(field_manager=manager), "status", "Update")

    def finish_namespace(self, rt: ResourceType, stored: Stored) -> None:
        """The namespace is empty: remove it."""
        self._commit_removal(rt, stored, False)

    def rewrite(self, rt: ResourceType, stored: Stored, body: dict[str, Any], manager: str) -> Stored:
        """A controller's update of an object (no resourceVersion precondition)."""
        return self._replace(rt, stored, body, WriteOptions(field_manager=manager), None, "Update")


_OMITTED_WHEN_EMPTY = ("labels", "annotations", "finalizers", "ownerReferences", "managedFields")


def _drop_empty_meta(meta: dict[str, Any]) -> None:
    """ObjectMeta's empty lists and maps are omitted when serialised (`omitempty`), for every kind."""
    for key in _OMITTED_WHEN_EMPTY:
        if key in meta and not meta[key]:
            del meta[key]


def _non_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("metadata", "apiVersion", "kind")}


def _same(new: dict[str, Any], old: dict[str, Any]) -> bool:
    return new == old


def normalize_numbers(value: Any) -> Any:
    """Integral floats become integers, as Go's unstructured JSON decoding does (`1.0` is int64 1)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value
