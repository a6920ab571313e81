"""The `embedded_k8s` backend: the embedded Kubernetes API in a background thread, shaped like `real_k8s`."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from flink_manager_dev.kubeapi import EmbeddedKubernetes, ThreadedKubernetes

T = TypeVar("T")
REPO = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLINK_MANAGER_CACHE", REPO / ".cache"))


def find_kubectl() -> str | None:
    """kubectl from the test infrastructure's build (.cache/kube/*/bin), $KUBECTL, or PATH."""
    if os.environ.get("KUBECTL"):
        return os.environ["KUBECTL"]
    built = sorted(CACHE.glob("kube/*/bin/kubectl"), key=lambda p: p.stat().st_mtime, reverse=True)
    if built:
        return str(built[0])
    return shutil.which("kubectl")


@dataclass
class EmbeddedControlPlane:
    """An embedded API server with the same surface as the real control plane fixture."""

    threaded: ThreadedKubernetes
    admin_kubeconfig: pathlib.Path
    server_url: str
    workdir: pathlib.Path
    server_version: str = "v1.37.2"
    name: str = "embedded"
    kubectl_path: str | None = field(default_factory=find_kubectl)

    @property
    def api(self) -> EmbeddedKubernetes:
        """The server object (call its mutating methods through `call`: it lives on another thread)."""
        assert self.threaded.api is not None
        return self.threaded.api

    def call(self, fn: Callable[[EmbeddedKubernetes], T]) -> T:
        """Run `fn(api)` on the server's event loop."""
        return self.threaded.call(fn)

    def kubectl(
        self,
        *args: str,
        kubeconfig: str | os.PathLike[str] | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server (skips the test when no kubectl is available)."""
        if self.kubectl_path is None:
            pytest.skip("kubectl is not available (build it with tests/infra/kube/build.sh)")
        env = dict(
            os.environ,
            KUBECONFIG=str(kubeconfig or self.admin_kubeconfig),
            KUBECACHEDIR=str(self.workdir / "kubectl-cache"),
        )
        return subprocess.run(
            [self.kubectl_path, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            check=check,
            timeout=timeout,
        )


@pytest.fixture
def embedded_k8s(tmp_path: pathlib.Path) -> Iterator[EmbeddedControlPlane]:
    """A fresh embedded Kubernetes API per test, served from a background thread."""
    threaded = ThreadedKubernetes()
    url = threaded.start()
    kubeconfig = threaded.call(lambda api: api.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        yield EmbeddedControlPlane(threaded, kubeconfig, url, tmp_path)
    finally:
        threaded.stop()


@pytest.fixture
async def embedded_k8s_inloop() -> Any:
    """The embedded API on the test's own event loop (for in-process operators and direct state access)."""
    api = EmbeddedKubernetes()
    await api.start()
    try:
        yield api
    finally:
        await api.stop()
