"""The component stack: the operator in-process against a Kubernetes API and the simulated Flink.

The `stack` fixture runs each scenario on two backends (tests/component/backends.py): `embedded`, the embedded
Kubernetes API, and `real`, a real kube-apiserver with the operator under the RBAC of deploy/rbac.yaml.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import kopf
import pytest
import yaml

from flink_manager.kube.client import (
    ARTIFACTS,
    EXECUTIONS,
    FLINK_CLUSTERS,
    JOB_SPECS,
    KubeClient,
    KubeConflict,
    KubeNotFound,
    Resource,
)
from flink_manager.settings import Settings
from flink_manager_dev.kubeapi import EmbeddedKubernetes
from flink_manager_dev.s3 import S3Server
from flink_manager_dev.simulator import SimulatedFlink, Timings
from flink_manager_dev.stack import OperatorThread
from tests.component.backends import EmbeddedBackend, KubeBackend, RealBackend, install_flink_manager
from tests.infra.kube.controlplane import ControlPlane
from tests.infra.tls import LocalCA, ServingCertificate
from tests.jars import write_jar
from tests.waiting import wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
KIND_RESOURCES: dict[str, Resource] = {
    "FlinkCluster": FLINK_CLUSTERS,
    "Artifact": ARTIFACTS,
    "JobSpec": JOB_SPECS,
    "Execution": EXECUTIONS,
}


class Stack:
    """Drives the operator like a user would: apply manifests, read status, wait for conditions."""

    def __init__(
        self,
        api: EmbeddedKubernetes | None,
        flink: SimulatedFlink,
        flink_url: str,
        tmp: pathlib.Path,
        *,
        backend: KubeBackend | None = None,
    ) -> None:
        if backend is None:
            assert api is not None, "a Stack needs the embedded API or another backend"
            backend = EmbeddedBackend(api)
        self.api = api
        self.backend = backend
        self.flink = flink
        self.flink_url = flink_url
        self.tmp = tmp
        self.namespace = backend.namespace
        self.kube = KubeClient(backend.user_credentials, field_manager="kubectl-client-side-apply")
        self.memo: kopf.Memo | None = None
        self._operator: OperatorThread | None = None
        self.jar_url, self.jar_sha = f"file://{tmp / 'job.jar'}", write_jar(tmp / "job.jar", "com.example.StatefulJob")

    # -- the operator

    async def start_operator(self, **settings: Any) -> kopf.Memo:
        assert self._operator is None
        self.memo = kopf.Memo()
        options = dict(
            allow_insecure_artifacts=True,
            artifact_cache_dir=self.tmp / "artifacts",
            transition_poll_seconds=0.2,
            workers=8,
        )
        options.update(settings)
        self._operator = OperatorThread(Settings(**options), self.backend.operator_connection, self.memo)
        self._operator.start()
        await self._operator.wait_ready(30)
        await wait_for(lambda: "ctx" in self.memo, timeout=30, what="the operator context")
        return self.memo

    async def stop_operator(self) -> None:
        if self._operator is None:
            return
        operator, self._operator = self._operator, None
        assert await operator.stop(30), "the operator did not stop within 30 s"
        if operator.error is not None:
            raise operator.error

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

    async def wait(
        self, kind: str, name: str, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = 20, what: str = ""
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            body = await self.get(kind, name)
            return body if body is not None and predicate(body) else None

        return await wait_for(probe, timeout=timeout, what=what or f"{kind} {name}")

    async def wait_phase(self, name: str, phase: str, *, timeout: float = 20) -> dict[str, Any]:
        return await self.wait(
            "Execution",
            name,
            lambda b: (b.get("status") or {}).get("phase") == phase,
            timeout=timeout,
            what=f"Execution {name} to be {phase}",
        )

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
        return {
            "apiVersion": "flinkmanager.io/v1alpha1",
            "kind": "FlinkCluster",
            "metadata": {"name": name},
            "spec": {"restUrl": self.flink_url, "pollIntervalSeconds": 1, **spec},
        }

    def artifact(self, name: str = "job-jar", **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "flinkmanager.io/v1alpha1",
            "kind": "Artifact",
            "metadata": {"name": name},
            "spec": {
                "url": self.jar_url,
                "sha256": self.jar_sha,
                "version": "1.0.0",
                "entryClasses": ["com.example.StatefulJob"],
                **spec,
            },
        }

    def job_spec(self, name: str = "job", **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "flinkmanager.io/v1alpha1",
            "kind": "JobSpec",
            "metadata": {"name": name},
            "spec": {
                "artifactRef": {"name": "job-jar"},
                "entryClass": "com.example.StatefulJob",
                "parallelism": 1,
                **spec,
            },
        }

    def execution(self, name: str = "run-1", job_spec: str = "job", **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "flinkmanager.io/v1alpha1",
            "kind": "Execution",
            "metadata": {"name": name},
            "spec": {"jobSpecRef": {"name": job_spec}, **spec},
        }

    async def quickstart(self, *, execution: dict[str, Any] | None = None, **job_spec: Any) -> None:
        await self.apply(self.cluster())
        await self.apply(self.artifact())
        await self.apply(self.job_spec(**job_spec))
        await self.apply(execution or self.execution())


@dataclass(frozen=True)
class ArtifactPKI:
    """A CA made by the tests and a serving certificate it signed for the loopback addresses the servers use."""

    ca: LocalCA
    certificate: ServingCertificate


@pytest.fixture(scope="session")
def artifact_pki(tmp_path_factory: pytest.TempPathFactory) -> ArtifactPKI:
    ca = LocalCA.create(tmp_path_factory.mktemp("artifact-pki"))
    return ArtifactPKI(ca, ca.issue("servers", "IP:127.0.0.1", "IP:127.0.0.2", "IP:::1", "DNS:localhost"))


@pytest.fixture(scope="session")
def s3_server(artifact_pki: ArtifactPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server over HTTPS (the test CA), enforcing signatures; one per session (it takes seconds)."""
    server = S3Server(
        certificate=artifact_pki.certificate.certificate,
        key=artifact_pki.certificate.key,
        ca_bundle=artifact_pki.ca.certificate,
        log_path=tmp_path_factory.mktemp("s3") / "moto.log",
    )
    try:
        asyncio.run(server.start())
        yield server
    finally:
        asyncio.run(server.stop())


@pytest.fixture(scope="session")
def real_kube_with_flink_manager(real_k8s: ControlPlane) -> ControlPlane:
    """The session's real control plane with crds/ and deploy/rbac.yaml installed (once)."""
    install_flink_manager(real_k8s)
    return real_k8s


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.real_k8s)])
async def stack(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Stack]:
    """The operator's stack on the embedded Kubernetes API (a fresh server) or a real one (a fresh namespace); the
    simulated Flink answers as the newest version, or as `@pytest.mark.flink_version("1.18.1")` says."""
    marker = request.node.get_closest_marker("flink_version")
    api: EmbeddedKubernetes | None = None
    backend: KubeBackend
    if request.param == "embedded":
        api = EmbeddedKubernetes(crds=[REPO / "crds"])
        await api.start()
        backend = EmbeddedBackend(api)
    else:
        backend = RealBackend(request.getfixturevalue("real_kube_with_flink_manager"))
    flink = SimulatedFlink(
        slots=64,
        timings=Timings.fast(checkpoint_interval=0.2),
        seed=7,
        savepoint_dir=f"file:{tmp_path}/savepoints",
        checkpoint_dir=f"file:{tmp_path}/checkpoints",
        **({"flink_version": marker.args[0]} if marker else {}),
    )
    flink_url = await flink.start("127.0.0.1", 0)
    stack = Stack(api, flink, flink_url, tmp_path, backend=backend)
    try:
        yield stack
    finally:
        try:
            await stack.stop_operator()
        finally:
            await stack.kube.close()
            await backend.close()
            await flink.stop()
            if api is not None:
                await api.stop()


@pytest.fixture
async def running(stack: Stack) -> Stack:
    """The stack with the operator running."""
    await stack.start_operator()
    return stack
