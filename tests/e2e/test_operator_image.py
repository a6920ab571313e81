"""The operator's image (`make image`) matches deploy/deployment.yaml: run with exactly what the Deployment gives its
container (user, read-only root filesystem, no capabilities, emptyDirs, ports, probes, limits) and logged in through
kopf's in-cluster login, it answers the probes and serves metrics on the declared ports, listens on nothing else,
and stops cleanly on SIGTERM. The image holds the operator's distribution and nothing to build or develop with.

The quickstart's whole lifecycle with the image is test_operator_lifecycle.py's, parametrized by launch.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import urllib.request
import uuid
from typing import Any

import pytest
import yaml

from tests.infra.image.container import (
    SERVICE_ACCOUNT_MOUNT,
    ContainerSpec,
    ImageNotBuilt,
    OperatorContainer,
    built_image,
    engine,
    image_config,
)
from tests.infra.kube.controlplane import ControlPlane
from tests.infra.operator import LaunchedOperator

pytestmark = pytest.mark.real_k8s

IMAGE_LAUNCH = pytest.mark.parametrize("flink_manager", ["image"], indirect=True)
# What podman itself puts in every container beside the pod spec's volumes (a kubelet gives a pod the same three
# /etc files); /dev, /proc and /sys are the kernel's.
ENGINE_FILES = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv"}
KERNEL_TREES = ("/dev", "/proc", "/sys")
LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket


@pytest.fixture(scope="module")
def operator_image() -> str:
    try:
        return built_image()
    except ImageNotBuilt as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def spec() -> ContainerSpec:
    return ContainerSpec.from_deployment()


def container(operator: LaunchedOperator) -> OperatorContainer:
    assert isinstance(operator, OperatorContainer), operator
    return operator


def proc_status(pid: int) -> dict[str, str]:
    lines = pathlib.Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def mounts(pid: int) -> dict[str, set[str]]:
    """Mount point → its per-mount options (ro or rw, …), from /proc/PID/mountinfo."""
    found = {}
    for line in pathlib.Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        found[fields[4]] = set(fields[5].split(","))
    return found


def listening_ports(pid: int) -> set[int]:
    """The TCP ports the process itself listens on (its own sockets, not its network namespace's)."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for row in pathlib.Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            columns = row.split()
            if columns[3] == LISTEN and columns[9] in inodes:
                ports.add(int(columns[1].rsplit(":", 1)[1], 16))
    return ports


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_the_image_is_what_the_deployment_runs(operator_image: str, spec: ContainerSpec) -> None:
    config = image_config(operator_image)
    # Without runAsUser a pod would still run as the image's user, and runAsNonRoot would accept it.
    assert config["User"] == f"{spec.user}:{spec.group}"
    assert spec.user != 0 and spec.run_as_non_root
    assert sorted(config.get("ExposedPorts") or {}) == sorted(f"{port}/tcp" for port in spec.ports.values())
    assert config["Entrypoint"] == ["flink-manager"]
    assert spec.args[0] == "run"


@IMAGE_LAUNCH
def test_the_container_runs_with_exactly_what_the_deployment_gives_it(
    flink_manager: LaunchedOperator,
    spec: ContainerSpec,
) -> None:
    operator = container(flink_manager)
    pid = operator.host_pid()

    # User, capabilities, privilege escalation and seccomp, as the kernel sees the process.
    status = proc_status(pid)
    assert status["Uid"].split() == [str(spec.user)] * 4
    assert status["Gid"].split() == [str(spec.group)] * 4
    assert spec.dropped_capabilities == ("ALL",)
    assert int(status["CapEff"], 16) == int(status["CapPrm"], 16) == int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"  # a filter: the engine's default profile, as RuntimeDefault

    # The root filesystem is read-only; the only places it can write are the Deployment's emptyDirs.
    mounted = mounts(pid)
    assert "ro" in mounted["/"]
    writable = {
        point
        for point, options in mounted.items()
        if "rw" in options and point not in ENGINE_FILES and not point.startswith(KERNEL_TREES)
    }
    assert writable == set(spec.empty_dirs)
    # /var/run links to /run in the image: the engine mounts the ServiceAccount's files where the link leads.
    service_account = [
        options
        for point, options in mounted.items()
        if point in (SERVICE_ACCOUNT_MOUNT, SERVICE_ACCOUNT_MOUNT.removeprefix("/var"))
    ]
    assert service_account and "ro" in service_account[0]

    # As in a pod: no kubeconfig, the kubernetes Service's address.
    environ = dict(
        item.split("=", 1)
        for item in pathlib.Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        if "=" in item
    )
    assert "KUBECONFIG" not in environ
    assert environ["KUBERNETES_SERVICE_PORT"] == "443"

    # It listens on the declared ports and on nothing else; the probes and /metrics answer there.
    assert listening_ports(pid) == set(spec.ports.values())
    for kind, (path, port) in spec.probes.items():
        assert get(operator.url(port, path))[0] == 200, kind
    metrics_port = int(dict(spec.env)["FLINK_MANAGER_METRICS_PORT"])
    assert metrics_port in spec.ports.values()
    code, text = get(operator.url(metrics_port, "/metrics"))
    assert code == 200 and "flink_manager_" in text


@IMAGE_LAUNCH
def test_verified_jars_are_kept_in_an_emptydir_of_the_deployment(
    flink_manager: LaunchedOperator,
    spec: ContainerSpec,
    installed: ControlPlane,
    job_jar_url: tuple[str, str],
) -> None:
    """FLINK_MANAGER_ARTIFACT_CACHE_DIR lies in one of the Deployment's emptyDirs: on the read-only root filesystem
    the operator could keep a fetched JAR nowhere else, and the Artifact would not become Ready."""
    operator = container(flink_manager)
    cache_dir = dict(spec.env)["FLINK_MANAGER_ARTIFACT_CACHE_DIR"]
    assert any(cache_dir.startswith(path.rstrip("/") + "/") for path in spec.empty_dirs), cache_dir
    url, sha256 = job_jar_url
    namespace = f"e2e-image-{uuid.uuid4().hex[:8]}"
    installed.kubectl("create", "namespace", namespace)
    try:
        artifact = {
            "apiVersion": "flinkmanager.io/v1alpha1",
            "kind": "Artifact",
            "metadata": {"name": "job"},
            "spec": {"url": operator.reach(url), "sha256": sha256},
        }
        installed.kubectl("-n", namespace, "apply", "-f", "-", input=yaml.safe_dump(artifact))
        installed.kubectl("-n", namespace, "wait", "--for=condition=Ready", "fa/job", "--timeout=120s")
        kept = pathlib.Path(f"/proc/{operator.host_pid()}/root") / cache_dir.lstrip("/") / f"{sha256}.jar"
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha256
    finally:
        installed.kubectl("delete", "namespace", namespace, "--wait=false")


@IMAGE_LAUNCH
def test_the_container_stops_cleanly_on_sigterm(flink_manager: LaunchedOperator, spec: ContainerSpec) -> None:
    """A kubelet's SIGTERM, then terminationGracePeriodSeconds before SIGKILL: the operator (PID 1) exits 0 in time."""
    assert flink_manager.stop(timeout=spec.grace_seconds) == 0, flink_manager.log_tail()
    flink_manager.start()


def test_the_image_holds_the_operator_and_nothing_to_build_or_develop_with(operator_image: str) -> None:
    script = """
import importlib.metadata, importlib.util, json, shutil, os
print(json.dumps({
    "distributions": sorted(d.name.lower() for d in importlib.metadata.distributions()),
    "modules": {m: importlib.util.find_spec(m) is not None for m in ("flink_manager", "flink_manager_dev", "kmock", "pip")},
    "programs": {p: shutil.which(p) for p in ("pip", "pip3", "gcc", "cc", "make", "git")},
    "sources": [p for p in ("/src", "/opt/flink-manager/src") if os.path.exists(p)],
}))
"""
    found: dict[str, Any] = json.loads(
        engine(
            "run", "--rm", "--network=none", "--read-only", "--entrypoint", "python3", operator_image, "-c", script
        ).stdout
    )
    assert "flink-manager" in found["distributions"]
    assert "flink-manager-dev" not in found["distributions"]
    assert found["modules"] == {"flink_manager": True, "flink_manager_dev": False, "kmock": False, "pip": False}
    assert found["programs"] == dict.fromkeys(found["programs"])
    assert found["sources"] == []

    dev = engine("run", "--rm", "--network=none", "--read-only", operator_image, "dev", check=False)
    assert dev.returncode != 0
    assert "needs the flink-manager-dev package" in dev.stderr + dev.stdout
