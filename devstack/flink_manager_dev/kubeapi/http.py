"""HTTP: URL routing, content negotiation, watch streams, faults and counters around the object verbs."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp.web

from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi import discovery, errors, openapi, tables
from flink_manager_dev.kubeapi.faults import Counters, Faults, RequestInfo
from flink_manager_dev.kubeapi.objects import ListResult, ObjectApi, WriteOptions, normalize_numbers
from flink_manager_dev.kubeapi.selectors import parse_field_selector, parse_label_selector
from flink_manager_dev.kubeapi.storage import Stored
from flink_manager_dev.kubeapi.watching import Watcher, WatchFilter

JSON = "application/json"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass
class Route:
    """A request on a resource."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    verb: str


def _json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> aiohttp.web.Response:
    data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return aiohttp.web.Response(body=data, status=status, content_type=JSON, headers=headers)


class ApiHandler:
    """Serves one aiohttp low-level request at a time against the object API."""

    def __init__(
        self,
        api: ObjectApi,
        faults: Faults,
        counters: Counters,
        *,
        token: str | None = None,
        bookmark_interval: float = 60.0,
        admin: Callable[[str, dict[str, Any]], Any] | None = None,
    ) -> None:
        self.api = api
        self.faults = faults
        self.counters = counters
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.admin = admin
        self.server_address = "127.0.0.1:0"

    async def __call__(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            return await self._serve(request)
        except errors.ApiError as exc:
            return _json_response(exc.status(), exc.code, exc.headers or None)

    async def _serve(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        path = request.path
        if path in ("/healthz", "/readyz", "/livez") or path.startswith(("/healthz/", "/readyz/", "/livez/")):
            return aiohttp.web.Response(text="ok", content_type="text/plain")
        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            raise errors.Unauthorized()
        if path.startswith("/_emulator/") and self.admin is not None:
            body = await request.json() if request.can_read_body else {}
            return _json_response(self.admin(path[len("/_emulator/") :], body or {}))
        if request.method == "GET":
            if path in ("/api", "/apis") and discovery.wants_aggregated(request.headers.get("Accept", "")):
                data = json.dumps(
                    discovery.aggregated(self.api.registry, core=path == "/api"), separators=(",", ":")
                ).encode()
                return aiohttp.web.Response(body=data, headers={"Content-Type": discovery.AGGREGATED})
            document = self._non_resource(path)
            if document is not None:
                return _json_response(document)
        route = self._route(request)
        info = RequestInfo(route.verb, route.rt.plural, route.rt.group, route.subresource, route.namespace, route.name)
        latency, failing = self.faults.decide(info)
        if latency:
            await asyncio.sleep(latency)
        self.counters.count(info)
        if failing is not None:
            raise self._injected(failing.status or 500, failing.message, route)
        return await self._dispatch(request, route)

    def _injected(self, status: int, message: str | None, route: Route) -> errors.ApiError:
        reason = errors.REASON_BY_CODE.get(status, "InternalError")
        headers = {"Retry-After": "1"} if status in (429, 503) else {}
        text = message or {
            409: f'Operation cannot be fulfilled on {route.rt.qualified} "{route.name}": the object has been '
            f"modified; please apply your changes to the latest version and try again",
            429: "Too many requests, please try again later.",
            503: "the server is currently unable to handle the request",
        }.get(status, "Internal error occurred: injected fault")
        details: dict[str, Any] = {"name": route.name or "", "kind": route.rt.plural}
        if route.rt.group:
            details["group"] = route.rt.group
        if status in (429, 503):
            details["retryAfterSeconds"] = 1
        return errors.InjectedFault(status, reason, text, details, headers)

    # --- non-resource documents ----------------------------------------------------------------------------

    def _non_resource(self, path: str) -> Any:
        registry = self.api.registry
        if path == "/version":
            return discovery.SERVER_VERSION
        if path == "/api":
            return discovery.api_versions(self.server_address)
        if path == "/apis":
            return discovery.api_group_list(registry)
        if path == "/openapi/v2":
            return openapi.v2_document(registry)
        if path == "/openapi/v3":
            return openapi.v3_index(registry)
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/") :].strip("/").split("/")
            document = None
            if parts[0] == "api" and len(parts) == 2:
                document = openapi.v3_document(registry, "", parts[1])
            elif parts[0] == "apis" and len(parts) == 3:
                document = openapi.v3_document(registry, parts[1], parts[2])
            if document is None:
                raise errors.PathNotFound()
            return document
        parts = path.strip("/").split("/")
        if parts == ["api", "v1"]:
            return discovery.api_resource_list(registry, "", "v1")
        if len(parts) == 2 and parts[0] == "apis":
            group = discovery.api_group(registry, parts[1])
            if group is None:
                raise errors.PathNotFound()
            return group
        if len(parts) == 3 and parts[0] == "apis":
            resources = discovery.api_resource_list(registry, parts[1], parts[2])
            if resources is None:
                raise errors.PathNotFound()
            return resources
        if path == "/":
            return {
                "paths": sorted(
                    {"/api", "/api/v1", "/apis", "/version", "/healthz", "/openapi/v2", "/openapi/v3"}
                    | {f"/apis/{g}" for g in registry.groups() if g}
                )
            }
        return None

    # --- routing -------------------------------------------------------------------------------------------

    def _route(self, request: aiohttp.web.BaseRequest) -> Route:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.PathNotFound()
        namespace = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (len(rest) == 3 and rest[2] in ("status", "finalize") and group == "")
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise errors.PathNotFound()
        plural = rest[0]
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        rt = self.api.registry.get(group, version, plural)
        if rt is None:
            raise errors.PathNotFound()
        if namespace is not None and not rt.namespaced:
            raise errors.PathNotFound()
        if subresource is not None and subresource not in rt.subresources:
            raise errors.PathNotFound()
        method = request.method
        query = request.query
        watching = query.get("watch") in ("true", "1")
        if method == "GET":
            verb = "watch" if watching else ("get" if name else "list")
        elif method == "POST":
            verb = "create"
            if name is not None:
                raise errors.MethodNotAllowed()
        elif method == "PUT":
            verb = "update"
        elif method == "PATCH":
            verb = "patch"
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            raise errors.MethodNotAllowed()
        if verb in ("update", "patch") and name is None:
            raise errors.MethodNotAllowed()
        return Route(rt, namespace, name, subresource, verb)

    async def _dispatch(self, request: aiohttp.web.BaseRequest, route: Route) -> aiohttp.web.StreamResponse:
        verb = route.verb
        if verb == "watch":
            return await self._watch(request, route)
        if verb == "get":
            stored = self.api.get(route.rt, route.namespace or "", route.name or "")
            return self._object_response(request, route.rt, stored, 200)
        if verb == "list":
            return self._list(request, route)
        opts = self._write_options(request)
        if verb == "create":
            body = await self._read_json(request)
            stored = self.api.create(route.rt, route.namespace, body, opts)
            return self._object_response(request, route.rt, stored, 201, opts)
        if verb == "update":
            body = await self._read_json(request)
            stored = self.api.update(route.rt, route.namespace, route.name or "", body, opts, route.subresource)
            return self._object_response(request, route.rt, stored, 200, opts)
        if verb == "patch":
            raw = await request.read()
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            stored, created = self.api.patch(
                route.rt, route.namespace, route.name or "", content_type, raw, opts, route.subresource
            )
            return self._object_response(request, route.rt, stored, 201 if created else 200, opts)
        if verb == "delete":
            options = await self._delete_options(request)
            deleted, status = self.api.delete(route.rt, route.namespace, route.name or "", options, opts)
            if deleted is not None:
                return self._object_response(request, route.rt, deleted, 200, opts)
            return _json_response(status, 200)
        if verb == "deletecollection":
            options = await self._delete_options(request)
            listed = self._select(request, route)
            for stored in listed.items:
                meta = stored.meta
                try:
                    self.api.delete(route.rt, meta.get("namespace") or None, meta["name"], options, opts)
                except errors.NotFound:
                    pass
            return _json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        raise errors.MethodNotAllowed()

    # --- request decoding ----------------------------------------------------------------------------------

    async def _read_json(self, request: aiohttp.web.BaseRequest) -> Any:
        raw = await request.read()
        content_type = request.headers.get("Content-Type", JSON).split(";")[0].strip()
        if content_type in ("application/yaml", "application/x-yaml"):
            import yaml

            try:
                return normalize_numbers(yaml.safe_load(raw))
            except yaml.YAMLError as exc:
                raise errors.BadRequest(f"error decoding YAML: {exc}") from exc
        if content_type and content_type not in (JSON, "*/*", ""):
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml, application/vnd.kubernetes.protobuf"
            )
        try:
            return normalize_numbers(json.loads(raw or b"null"))
        except ValueError as exc:
            raise errors.BadRequest(f"couldn't get version/kind; json parse error: {exc}") from exc

    async def _delete_options(self, request: aiohttp.web.BaseRequest) -> dict[str, Any]:
        options: dict[str, Any] = {}
        raw = await request.read() if request.can_read_body else b""
        if raw.strip():
            try:
                decoded = json.loads(raw)
            except ValueError as exc:
                raise errors.BadRequest(f"error decoding DeleteOptions: {exc}") from exc
            if isinstance(decoded, dict):
                options.update(decoded)
        query = request.query
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        if "orphanDependents" in query:
            options["orphanDependents"] = query["orphanDependents"] == "true"
        return options

    def _write_options(self, request: aiohttp.web.BaseRequest) -> WriteOptions:
        query = request.query
        validation = query.get("fieldValidation", "")
        if validation and validation not in ("Strict", "Warn", "Ignore"):
            raise errors.BadRequest(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{validation}"')
        return WriteOptions(
            field_manager=query.get("fieldManager") or None,
            user_agent=request.headers.get("User-Agent"),
            field_validation=validation,
            dry_run=query.get("dryRun") == "All",
            force=query.get("force") == "true",
        )

    # --- responses -----------------------------------------------------------------------------------------

    def _wants_table(self, request: aiohttp.web.BaseRequest) -> bool:
        accept = request.headers.get("Accept", "")
        for option in accept.split(","):
            params = {p.strip() for p in option.split(";")[1:]}
            if "as=Table" in params:
                return True
            if option.strip().split(";")[0].strip() in (JSON, "*/*", "application/*"):
                return False
        return False

    def _object_response(
        self,
        request: aiohttp.web.BaseRequest,
        rt: ResourceType,
        stored: Stored,
        status: int,
        opts: WriteOptions | None = None,
    ) -> aiohttp.web.Response:
        headers = self._warning_headers(opts)
        if request.method == "GET" and self._wants_table(request):
            body = tables.table(
                rt,
                [stored.body],
                stored.meta.get("resourceVersion"),
                request.query.get("includeObject", "Metadata"),
                self.api.clock(),
            )
            return _json_response(body, status, headers)
        return _json_response(stored.json(), status, headers)

    @staticmethod
    def _warning_headers(opts: WriteOptions | None) -> dict[str, str] | None:
        if not opts or not opts.warnings:
            return None
        escaped = [w.replace("\\", "\\\\").replace('"', '\\"') for w in dict.fromkeys(opts.warnings)]
        return {"Warning": ", ".join(f'299 - "{w}"' for w in escaped)}

    def _select(self, request: aiohttp.web.BaseRequest, route: Route) -> ListResult:
        query = request.query
        rt = route.rt
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(
            query.get("fieldSelector"), (rt.group, rt.plural), rt.selectable_fields, rt.custom
        )
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else None
        return self.api.list(
            rt,
            route.namespace,
            labels,
            fields,
            limit or None,
            query.get("continue") or None,
            query.get("resourceVersion"),
            query.get("resourceVersionMatch"),
        )

    def _list(self, request: aiohttp.web.BaseRequest, route: Route) -> aiohttp.web.Response:
        result = self._select(request, route)
        rt = route.rt
        if self._wants_table(request):
            body = tables.table(
                rt,
                [s.body for s in result.items],
                str(result.resource_version),
                request.query.get("includeObject", "Metadata"),
                self.api.clock(),
                result.continue_token,
                result.remaining,
            )
            return _json_response(body)
        metadata: dict[str, Any] = {"resourceVersion": str(result.resource_version)}
        if result.continue_token:
            metadata["continue"] = result.continue_token
            metadata["remainingItemCount"] = result.remaining
        elif rt.custom:
            metadata["continue"] = ""  # unstructured lists keep the empty field the typed ones omit
        head = json.dumps(
            {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": metadata}, separators=(",", ":")
        ).encode()
        if rt.custom:
            items = [s.json() for s in result.items]
        else:  # typed lists are encoded with their items' TypeMeta empty, so apiVersion and kind are left out
            items = [
                json.dumps(
                    {k: v for k, v in s.body.items() if k not in ("apiVersion", "kind")}, separators=(",", ":")
                ).encode()
                for s in result.items
            ]
        data = head[:-1] + b',"items":[' + b",".join(items) + b"]}"
        return _json_response(data)

    # --- watch ---------------------------------------------------------------------------------------------

    async def _watch(self, request: aiohttp.web.BaseRequest, route: Route) -> aiohttp.web.StreamResponse:
        query = request.query
        rt = route.rt
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(
            query.get("fieldSelector"), (rt.group, rt.plural), rt.selectable_fields, rt.custom
        )
        flt = WatchFilter(route.namespace if rt.namespaced else None, route.name, labels, fields)
        as_table = self._wants_table(request)
        rv_text = query.get("resourceVersion", "")
        send_initial = query.get("sendInitialEvents") == "true"
        bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds", "").isdigit() else None
        storage = self.api.storage
        render = self._renderer(rt, as_table)

        def bookmark_line(revision: int, initial_end: bool = False) -> bytes:
            meta: dict[str, Any] = {"resourceVersion": str(revision)}
            if initial_end:
                meta["annotations"] = {INITIAL_EVENTS_END: "true"}
            return (
                json.dumps(
                    {"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}},
                    separators=(",", ":"),
                ).encode()
                + b"\n"
            )

        watcher = Watcher(rt.storage_key, flt, render, bookmarks, bookmark_line)
        response = aiohttp.web.StreamResponse(
            status=200, headers={"Content-Type": JSON, "Transfer-Encoding": "chunked"}
        )
        # Registration and the initial replay happen without awaiting in between: no change can slip through.
        initial: list[bytes] = []
        expired: int | None = None
        if rv_text in ("", "0") or send_initial:
            for stored in storage.iter(rt.storage_key, flt.namespace):
                if flt.matches(stored):
                    initial.append(render("ADDED", self.api.view(rt, stored), None))
            if send_initial and bookmarks:
                initial.append(bookmark_line(storage.revision, initial_end=True))
        else:
            try:
                since = int(rv_text)
            except ValueError as exc:
                raise errors.BadRequest(f'resourceVersion: Invalid value: "{rv_text}"') from exc
            if since < storage.compacted_revision:
                expired = since
            else:
                for change in storage.changes_after(since):
                    if change.storage_key == rt.storage_key:
                        probe = Watcher(rt.storage_key, flt, render)
                        probe.offer(change)
                        initial.extend(probe.lines)
        if expired is None:
            self.api.hub.add(watcher)
        try:
            await response.prepare(request)
            if expired is not None:
                status = errors.Gone(f"too old resource version: {expired} ({storage.compacted_revision})").status()
                await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
                return response
            if initial:
                await response.write(b"".join(initial))
            await self._pump(response, watcher, timeout, storage)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.api.hub.remove(watcher)
        return response

    async def _pump(
        self, response: aiohttp.web.StreamResponse, watcher: Watcher, timeout: float | None, storage: Any
    ) -> None:
        deadline = time.monotonic() + timeout if timeout else None
        next_bookmark = time.monotonic() + self.bookmark_interval
        while not watcher.closed:
            now = time.monotonic()
            waits = [next_bookmark - now] if watcher.bookmarks else []
            if deadline is not None:
                waits.append(deadline - now)
            wait = max(0.0, min(waits)) if waits else None
            if not watcher.lines:
                watcher.wakeup.clear()
                try:
                    await asyncio.wait_for(watcher.wakeup.wait(), wait)
                except TimeoutError:
                    pass
            if watcher.lines:
                chunk = b"".join(watcher.lines)
                watcher.lines.clear()
                await response.write(chunk)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if watcher.bookmarks and now >= next_bookmark:
                if not self.api.hub.paused:
                    await response.write(watcher.bookmark_line(storage.revision))  # type: ignore[misc]
                next_bookmark = now + self.bookmark_interval

    def _renderer(self, rt: ResourceType, as_table: bool) -> Callable[[str, Stored, int | None], bytes]:
        api = self.api

        def render(kind: str, stored: Stored, revision: int | None) -> bytes:
            view = api.view(rt, stored)
            if as_table:
                body = tables.table(rt, [view.body], view.meta.get("resourceVersion"), "Metadata", api.clock())
                return json.dumps({"type": kind, "object": body}, separators=(",", ":")).encode() + b"\n"
            if revision is not None:
                body = dict(view.body)
                body["metadata"] = dict(body["metadata"], resourceVersion=str(revision))
                return json.dumps({"type": kind, "object": body}, separators=(",", ":")).encode() + b"\n"
            return b'{"type":"' + kind.encode() + b'","object":' + view.json() + b"}\n"

        return render


def utcnow() -> datetime.datetime:
    """Now, in UTC."""
    return datetime.datetime.now(datetime.UTC)
