"""`EmbeddedKubernetes`: kmock's KubernetesEmulator grown into an apiserver that kopf, kubectl and GitOps tools accept."""

from __future__ import annotations

import collections
import copy
import os
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp.web
import kmock
import yaml

from flink_manager.schema.resources import ResourceType
from flink_manager_dev.kubeapi import errors
from flink_manager_dev.kubeapi.builtins import DEFAULT_NAMESPACES, builtin_types
from flink_manager_dev.kubeapi.collector import Collector
from flink_manager_dev.kubeapi.faults import Counters, Faults
from flink_manager_dev.kubeapi.http import ApiHandler
from flink_manager_dev.kubeapi.kubeconfig import write_kubeconfig
from flink_manager_dev.kubeapi.objects import ObjectApi, WriteOptions
from flink_manager_dev.kubeapi.peering import PEERING_CRDS
from flink_manager_dev.kubeapi.registry import Registry
from flink_manager_dev.kubeapi.storage import Storage, Stored
from flink_manager_dev.kubeapi.watching import WatchHub

PYTHON_MANAGER = "flink-manager-dev"


class EmbeddedKubernetes(kmock.KubernetesEmulator):
    """An in-memory Kubernetes API served over HTTP on a loopback port.

    Storage, verbs, watches and discovery are this package's; kmock contributes the emulator base and its DSL:
    reactions added with `api[...] << ...` still take precedence over the emulated server for matching requests.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        watch_window: int = 2000,
        bookmark_interval: float = 60.0,
        peering_crds: bool = True,
        crds: Iterable[str | os.PathLike[str] | Mapping[str, Any]] = (),
    ) -> None:
        super().__init__()
        self.registry = Registry()
        for rt in builtin_types():
            self.registry.add(rt)
        self.storage = Storage(window=watch_window)
        self.hub = WatchHub()
        self.core = ObjectApi(self.registry, self.storage, self.hub)
        self.faults = Faults()
        self.counters = Counters()
        self.collector = Collector(self.core, self._crd_removed)
        self.http = ApiHandler(
            self.core, self.faults, self.counters, token=token, bookmark_interval=bookmark_interval, admin=self._admin
        )
        self.token = token
        # kmock's root records every request for its DSL; keep only the latest (memory stays bounded).
        self._requests = collections.deque(maxlen=1000)  # type: ignore[assignment]
        self._request_ids = 0
        self._runner: aiohttp.web.ServerRunner | None = None
        self._site: aiohttp.web.TCPSite | None = None
        self._url: str | None = None
        for namespace in DEFAULT_NAMESPACES:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        if peering_crds:
            self.install_crds(*PEERING_CRDS)
        if crds:
            self.install_crds(*crds)
        self.counters.reset()

    def __attrs_post_init__(self) -> None:
        # kmock's emulator registers its own fallback reactions here; this server answers them itself.
        return

    # --- serving -------------------------------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if self._payloads:  # kmock DSL reactions added by a test
            await raw_request.read()
            try:
                request = await kmock.Request._parse(raw_request, id=self._request_ids)  # noqa: SLF001 - kmock's parser
            except ValueError:  # a URL kmock's parser does not understand: not one a reaction targets
                return await self.http(raw_request)
            self._request_ids += 1
            self._requests.append(request)  # reactions match only requests the root has seen
            try:
                return await kmock.RawHandler._handle(self, request)  # noqa: SLF001 - the base class's own
            except NotImplementedError:
                pass
        return await self.http(raw_request)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0: any free port); return the base URL."""
        server = aiohttp.web.Server(self.__call__, handler_cancellation=True)
        self._runner = aiohttp.web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = aiohttp.web.TCPSite(self._runner, host, port)
        await self._site.start()
        sockets = self._runner.addresses
        actual_host, actual_port = sockets[0][0], sockets[0][1]
        self._url = f"http://{actual_host}:{actual_port}"
        self.http.server_address = f"{actual_host}:{actual_port}"
        return self._url

    async def stop(self) -> None:
        """Close every watch and stop listening."""
        self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._site = None
        self._url = None

    async def __aenter__(self) -> EmbeddedKubernetes:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:  # type: ignore[override]  # a string for kubeconfigs and clients, where kmock's is a URL
        """The base URL (raises if not started)."""
        if self._url is None:
            raise RuntimeError("the embedded Kubernetes API is not started")
        return self._url

    def write_kubeconfig(self, path: str | os.PathLike[str], *, namespace: str = "default") -> pathlib.Path:
        """Write a kubeconfig for this server."""
        return write_kubeconfig(path, self.url, token=self.token, namespace=namespace)

    # --- Python API ----------------------------------------------------------------------------------------

    def resource_type(self, api_version: str, kind_or_plural: str) -> ResourceType:
        """The resource type of an apiVersion and a kind or plural."""
        group, _, version = api_version.rpartition("/")
        rt = self.registry.get(group, version, kind_or_plural) or self.registry.by_kind(api_version, kind_or_plural)
        if rt is None:
            raise errors.PathNotFound(f"no resource {kind_or_plural} in {api_version}")
        return rt

    def install_crds(self, *sources: str | os.PathLike[str] | Mapping[str, Any]) -> list[str]:
        """Create or replace CRDs from files, directories, YAML text or dicts; return their names (Established)."""
        names = []
        for document in _documents(sources):
            if document.get("kind") != "CustomResourceDefinition":
                continue
            names.append(self.apply(document, manager=PYTHON_MANAGER)["metadata"]["name"])
        return names

    def create(self, obj: Mapping[str, Any], *, manager: str = PYTHON_MANAGER) -> dict[str, Any]:
        """Create an object as a POST would."""
        body = copy.deepcopy(dict(obj))
        rt = self.resource_type(body.get("apiVersion", ""), body.get("kind", ""))
        namespace = (body.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else None)
        return copy.deepcopy(self.core.create(rt, namespace, body, WriteOptions(field_manager=manager)).body)

    def apply(self, obj: Mapping[str, Any], *, manager: str = PYTHON_MANAGER) -> dict[str, Any]:
        """Create the object, or replace everything but its status if it exists."""
        body = copy.deepcopy(dict(obj))
        rt = self.resource_type(body.get("apiVersion", ""), body.get("kind", ""))
        meta = body.setdefault("metadata", {})
        namespace = meta.get("namespace") or ("default" if rt.namespaced else None)
        current = self.storage.get(rt.storage_key, namespace or "", meta.get("name", ""))
        if current is None:
            return self.create(body, manager=manager)
        meta["resourceVersion"] = current.meta["resourceVersion"]
        stored = self.core.update(rt, namespace, meta["name"], body, WriteOptions(field_manager=manager))
        return copy.deepcopy(stored.body)

    # get() and delete() act on the stored objects directly, where kmock's send an HTTP request to the server.
    def get(  # type: ignore[override]
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
    ) -> dict[str, Any] | None:
        """The current object, or None."""
        rt = self.resource_type(api_version, kind)
        stored = self.storage.get(rt.storage_key, (namespace or "default") if rt.namespaced else "", name)
        return copy.deepcopy(self.core.view(rt, stored).body) if stored else None

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Current objects of a kind."""
        rt = self.resource_type(api_version, kind)
        return [copy.deepcopy(self.core.view(rt, s).body) for s in self.storage.iter(rt.storage_key, namespace)]

    def delete(  # type: ignore[override]
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation_policy: str | None = None,
    ) -> None:
        """Delete as a DELETE request would."""
        rt = self.resource_type(api_version, kind)
        options = {"propagationPolicy": propagation_policy} if propagation_policy else {}
        self.core.delete(
            rt,
            namespace or ("default" if rt.namespaced else None),
            name,
            options,
            WriteOptions(field_manager=PYTHON_MANAGER),
        )

    @property
    def committed_writes(self) -> int:
        """Writes that changed stored state (no-op writes are requests, not commits)."""
        return self.core.writes

    @property
    def revision(self) -> int:
        """The current resourceVersion (the cluster-wide revision)."""
        return self.storage.revision

    # --- watch control (reliability tests) -----------------------------------------------------------------

    def pause_watches(self) -> None:
        """Stop delivering watch events; writes still succeed."""
        self.hub.pause()

    def resume_watches(self) -> None:
        """Deliver the latest state of everything that changed while paused."""
        self.hub.resume()

    def close_watches(self, *, expire: bool = False) -> int:
        """Close every watch stream; with `expire`, resuming from an old resourceVersion gets 410 Gone."""
        if expire:
            self.storage.compact()
        return self.hub.close_all()

    # --- internals -----------------------------------------------------------------------------------------

    def _crd_removed(self, crd: Stored) -> None:
        spec = crd.body.get("spec") or {}
        sk = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        self.registry.remove_crd(crd.meta["name"])
        self.hub.close_resource(sk)
        self.storage.drop_resource(sk)

    def _admin(self, path: str, body: dict[str, Any]) -> Any:
        if path == "faults":
            rule = self.faults.add_from_dict(body)
            return {"added": repr(rule)}
        if path == "faults/clear":
            self.faults.clear()
            return {"cleared": True}
        if path == "counters":
            return dict(self.counters.snapshot(), committedWrites=self.committed_writes, revision=self.revision)
        if path == "counters/reset":
            self.counters.reset()
            return {"reset": True}
        if path == "watches/pause":
            self.pause_watches()
            return {"paused": True}
        if path == "watches/resume":
            self.resume_watches()
            return {"paused": False}
        if path == "watches/close":
            return {"closed": self.close_watches(expire=bool(body.get("expire")))}
        raise errors.PathNotFound()


def _documents(sources: Iterable[str | os.PathLike[str] | Mapping[str, Any]]) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for source in sources:
        if isinstance(source, Mapping):
            documents.append(dict(source))
            continue
        text: str
        if isinstance(source, str) and ("\n" in source or source.lstrip().startswith(("apiVersion", "{", "-"))):
            text = source
        else:
            path = pathlib.Path(source)
            if path.is_dir():
                files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
                documents += _documents(files)
                continue
            text = path.read_text()
        documents += [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    return documents
