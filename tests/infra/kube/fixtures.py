"""pytest plugin: `real_k8s`, one real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)
shared by the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra.kube.controlplane import ControlPlane, KubeNotBuilt
from tests.infra.processes import say


@pytest.fixture(scope="session")
def real_k8s(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """A started ControlPlane: admin and operator (ServiceAccount) kubeconfigs, RBAC enforced, garbage collector on.

    Fails, never skips, when the binaries are not built. Its folder (state and logs) is kept if a test failed.
    """
    try:
        plane = ControlPlane()
    except KubeNotBuilt as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    failed_before = request.session.testsfailed
    plane.start()
    version = plane.kubectl("version").stdout.strip()
    say(
        request.config,
        f"\nreal Kubernetes started in {plane.startup_seconds:.1f}s at {plane.server_url} (state and logs: "
        f"{plane.work_dir})\n{version}",
    )
    yield plane
    keep = request.session.testsfailed > failed_before or not plane.is_running()
    plane.stop(keep=keep)
    if keep:
        say(request.config, f"real Kubernetes logs kept in {plane.log_dir}")
