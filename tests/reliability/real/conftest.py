"""The real-fault tier: the operator against a real kube-apiserver and etcd and a real Flink, which the scenarios
break (see rig.py). One rig per module, started once; a failed scenario keeps the logs under test-logs/."""

from __future__ import annotations

import pathlib
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.infra.flink.cluster import FlinkNotInstalled, flink_home
from tests.infra.kube.controlplane import KubeNotBuilt, binaries_dir
from tests.infra.processes import say
from tests.reliability.real.rig import REPO, Rig
from tests.reliability.summary import SUMMARY

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]

_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed and "rig" in getattr(item, "fixturenames", ()):
        item.session.stash[_FAILED] = True
        rig = getattr(item, "funcargs", {}).get("rig")
        if isinstance(rig, Rig) and rig.operator is not None:
            report.sections.append(("flink-manager operator", rig.operator.log_tail(120)))
    return report


@pytest.fixture(scope="module")
def rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The control plane, Flink, the proxies and the operator, for every scenario of the module."""
    try:
        binaries_dir()
        flink_home()
    except (KubeNotBuilt, FlinkNotInstalled) as exc:
        pytest.fail(str(exc), pytrace=False)
    logs = REPO / "test-logs" / f"real-faults-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    logs.mkdir(parents=True)
    rig = Rig(tmp_path_factory.mktemp("real-faults"), logs)
    try:
        rig.start()
    except BaseException:
        rig.stop(keep=True)
        raise
    say(
        request.config,
        f"\nreal-fault rig up in {rig.timings['start_seconds']}s: Kubernetes {rig.plane.server_version}, "
        f"Flink at {rig.flink.rest_url}, operator pid {rig.operator.pid if rig.operator else None} "
        f"(logs: {logs})",
    )
    began = time.monotonic()
    yield rig
    SUMMARY.set("real_fault_tier_seconds", round(time.monotonic() - began + rig.timings["start_seconds"], 1))
    SUMMARY.set("real_fault_rig_start_seconds", rig.timings["start_seconds"])
    keep = request.session.stash.get(_FAILED, False) or not rig.alive()
    rig.stop(keep=keep)
    if keep:
        say(request.config, f"real-fault logs kept in {logs}")
    else:
        _remove(logs)


def _remove(folder: pathlib.Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
