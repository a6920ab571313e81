"""The component stack: the operator in-process against the embedded Kubernetes API and the simulated Flink."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import pathlib
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import kopf
import pytest
import yaml

from flink_manager.controller.runner import run_operator
from flink_manager.dev.kubeapi import EmbeddedKubernetes
from flink_manager.flink.simulator import SimulatedFlink, Timings
from flink_manager.kube.client import (
    ARTIFACTS,
    EXECUTIONS,
    FLINK_CLUSTERS,
    JOB_SPECS,
    Credentials,
    KubeClient,
    KubeConflict,
    KubeNotFound,
    Resource,
)
from flink_manager.settings import Settings
from tests.waiting import wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
KIND_RESOURCES: dict[str, Resource] = {
    "FlinkCluster": FLINK_CLUSTERS, "Artifact": ARTIFACTS, "JobSpec": JOB_SPECS, "Execution": EXECUTIONS,
}


def make_jar(path: pathlib.Path, entry_class: str = "com.example.StatefulJob") -> tuple[str, str]:
    """A small jar with a manifest naming its entry class; returns (file URL, sha256)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nEntry-Class: {entry_class}\n")
        archive.writestr(entry_class.replace(".", "/") + ".class", b"\xca\xfe\xba\xbe")
    return f"file://{path}", hashlib.sha256(path.read_bytes()).hexdigest()


class Stack:
    """Drives the operator like a user would: apply manifests, read status, wait for conditions."""

    def __init__(self, api: EmbeddedKubernetes, flink: SimulatedFlink, flink_url: str, tmp: pathlib.Path) -> None:
        self.api = api
        self.flink = flink
        self.flink_url = flink_url
        self.tmp = tmp
        self.namespace = "default"
        self.kube = KubeClient(Credentials(server=api.url), field_manager="kubectl-client-side-apply")
        self.memo: kopf.Memo | None = None
        self._operator: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self.jar_url, self.jar_sha = make_jar(tmp / "job.jar")

    # -- the operator

    async def start_operator(self, **settings: Any) -> kopf.Memo:
        assert self._operator is None
        self._stop, ready = asyncio.Event(), asyncio.Event()
        self.memo = kopf.Memo()
        options = dict(allow_insecure_artifacts=True, artifact_cache_dir=self.tmp / "artifacts",
                       transition_poll_seconds=0.2, workers=8)
        options.update(settings)
        self._operator = asyncio.create_task(run_operator(
            settings=Settings(**options),
            credentials=kopf.ConnectionInfo(server=self.api.url),
            stop_flag=self._stop, ready_flag=ready, memo=self.memo,
        ))
        await wait_for(lambda: ready.is_set() or self._operator.done(), timeout=30, what="the operator to start")
        if self._operator.done():
            self._operator.result()
        await wait_for(lambda: "ctx" in self.memo, timeout=30, what="the operator context")
        return self.memo

    async def stop_operator(self) -> None:
        if self._operator is None:
            return
        assert self._stop is not None
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._operator, timeout=30)
        self._operator = None

    @property
    def ctx(self) -> Any:
        assert self.memo is not None
        return self.memo["ctx"]

    def job(self, job_id: str) -> Any:
        """The simulated Flink job, brought up to date."""
        return self.flink.job(job_id)

    def live_jobs(self) -> list[str]:
        return [j for j, state in self.flink.job_states().items() if not state.is_globally_terminal]

    # -- resources

    async def apply(self, manifest: str | dict[str, Any]) -> list[dict[str, Any]]:
        """Create each object, or merge its spec and metadata into the existing one (like `kubectl apply`)."""
        documents = [manifest] if isinstance(manifest, dict) else [d for d in yaml.safe_load_all(manifest) if d]
        results = []
        for document in documents:
            resource = KIND_RESOURCES[document["kind"]]
            namespace = document.get("metadata", {}).get("namespace", self.namespace)
            try:
                results.append(await self.kube.create(resource, namespace, document))
            except KubeConflict:
                patch = {"spec": document.get("spec", {})}
                if document.get("metadata", {}).get("annotations"):
                    patch["metadata"] = {"annotations": document["metadata"]["annotations"]}
                results.append(await self.kube.patch(resource, namespace, document["metadata"]["name"], patch))
        return results

    async def patch_spec(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return await self.kube.patch(KIND_RESOURCES[kind], self.namespace, name, {"spec": spec})

    async def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.kube.get(KIND_RESOURCES[kind], self.namespace, name)
        except KubeNotFound:
            return None

    async def delete(self, kind: str, name: str) -> None:
        await self.kube.delete(KIND_RESOURCES[kind], self.namespace, name)

    async def wait(self, kind: str, name: str, predicate: Callable[[dict[str, Any]], bool], *,
                   timeout: float = 20, what: str = "") -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            body = await self.get(kind, name)
            return body if body is not None and predicate(body) else None
        return await wait_for(probe, timeout=timeout, what=what or f"{kind} {name}")

    async def wait_phase(self, name: str, phase: str, *, timeout: float = 20) -> dict[str, Any]:
        return await self.wait("Execution", name, lambda b: (b.get("status") or {}).get("phase") == phase,
                               timeout=timeout, what=f"Execution {name} to be {phase}")

    async def wait_gone(self, kind: str, name: str, *, timeout: float = 20) -> None:
        async def gone() -> bool:
            return await self.get(kind, name) is None
        await wait_for(gone, timeout=timeout, what=f"{kind} {name} to be deleted")

    async def events(self, name: str) -> list[dict[str, Any]]:
        from flink_manager.kube.client import EVENTS
        items = await self.kube.list(EVENTS, self.namespace)
        return [e for e in items if e.get("involvedObject", {}).get("name") == name]

    # -- the quickstart objects

    def cluster(self, name: str = "default", **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "flinkmanager.io/v1alpha1", "kind": "FlinkCluster", "metadata": {"name": name},
                "spec": {"restUrl": self.flink_url, "pollIntervalSeconds": 1, **spec}}

    def artifact(self, name: str = "job-jar", **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "flinkmanager.io/v1alpha1", "kind": "Artifact", "metadata": {"name": name},
                "spec": {"url": self.jar_url, "sha256": self.jar_sha, "version": "1.0.0",
                         "entryClasses": ["com.example.StatefulJob"], **spec}}

    def job_spec(self, name: str = "job", **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "flinkmanager.io/v1alpha1", "kind": "JobSpec", "metadata": {"name": name},
                "spec": {"artifactRef": {"name": "job-jar"}, "entryClass": "com.example.StatefulJob",
                         "parallelism": 1, **spec}}

    def execution(self, name: str = "run-1", job_spec: str = "job", **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "flinkmanager.io/v1alpha1", "kind": "Execution", "metadata": {"name": name},
                "spec": {"jobSpecRef": {"name": job_spec}, **spec}}

    async def quickstart(self, *, execution: dict[str, Any] | None = None, **job_spec: Any) -> None:
        await self.apply(self.cluster())
        await self.apply(self.artifact())
        await self.apply(self.job_spec(**job_spec))
        await self.apply(execution or self.execution())


@pytest.fixture
async def stack(tmp_path: pathlib.Path) -> AsyncIterator[Stack]:
    api = EmbeddedKubernetes(crds=[REPO / "crds"])
    await api.start()
    flink = SimulatedFlink(slots=64, timings=Timings.fast(checkpoint_interval=0.2), seed=7,
                           savepoint_dir=f"file:{tmp_path}/savepoints", checkpoint_dir=f"file:{tmp_path}/checkpoints")
    flink_url = await flink.start("127.0.0.1", 0)
    stack = Stack(api, flink, flink_url, tmp_path)
    try:
        yield stack
    finally:
        await stack.stop_operator()
        await stack.kube.close()
        await flink.stop()
        await api.stop()


@pytest.fixture
async def running(stack: Stack) -> Stack:
    """The stack with the operator running."""
    await stack.start_operator()
    return stack
