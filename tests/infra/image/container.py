"""The operator as its built image (`make image`), run with podman the way deploy/deployment.yaml runs it in a pod.

What the Deployment's container spec says becomes podman's options and nothing else: its args and env, user and
group, read-only root filesystem, dropped capabilities, no privilege escalation, emptyDir volumes (as tmpfs), memory
and CPU limits, and its ports, published on this machine's loopback. As in a pod, it has no kubeconfig: a token of
its ServiceAccount (from the TokenRequest API), the cluster's CA and the namespace are mounted where a kubelet puts
them, KUBERNETES_SERVICE_HOST/PORT are set, and kubernetes.default.svc:443 (where kopf's in-cluster login connects)
reaches the API server through a relay in the container's network namespace (service_proxy.py), as kube-proxy
serves the `kubernetes` Service. The network is the container's own (slirp4netns), in which 10.0.2.2 is this
machine's loopback, where the tests' API server, Flink and jar server listen.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from tests.infra.kube.controlplane import ControlPlane
from tests.infra.operator import LaunchedOperator, OperatorStartupError
from tests.infra.processes import die_with_parent, free_port
from tests.waiting import wait_for_sync

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD_SCRIPT = HERE / "build.sh"
ENGINE_SCRIPT = HERE / "engine.sh"
SERVICE_PROXY = HERE / "service_proxy.py"
DEPLOYMENT = REPO / "deploy" / "deployment.yaml"
# The tests run the image with podman (Docker has no network that is the container's own and reaches the host's
# loopback), on the Debian base build.sh makes for it.
ENGINE_ENV = {"FLINK_MANAGER_CONTAINER_ENGINE": "podman"}
# The container's own network namespace, in which 10.0.2.2 is this machine's 127.0.0.1.
NETWORK = "slirp4netns:allow_host_loopback=true"
HOST_LOOPBACK = "10.0.2.2"
SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# The `kubernetes` Service as a pod sees it: the name kopf's in-cluster login connects to, and the port.
KUBERNETES_SERVICE = ("kubernetes.default.svc", 443)
NAME_PREFIX = "flink-manager-e2e-"


class ImageNotBuilt(RuntimeError):
    """The image for the current sources is not built."""


def engine(*args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """`podman ARGS` with the project's settings (engine.sh); raises CalledProcessError with stderr when `check`."""
    result = subprocess.run(
        [str(ENGINE_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ENGINE_ENV},
        check=False,
    )
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout, result.stderr)
    return result


def built_image() -> str:
    """The image that `make image` built from the current sources (localhost/flink-manager:<key>)."""
    result = subprocess.run(
        [str(BUILD_SCRIPT), "--tag"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **ENGINE_ENV},
        check=False,
    )
    if result.returncode != 0:
        reason = result.stderr.strip() or f"no {result.stdout.strip()}"
        raise ImageNotBuilt(
            f"the operator's image is not built for these sources ({reason}): "
            "run `make image` (tests/infra/image/build.sh) first."
        )
    return result.stdout.strip()


def image_config(image: str) -> dict[str, Any]:
    """The image's configuration (User, ExposedPorts, Entrypoint, Cmd, Env…)."""
    return dict(yaml.safe_load(engine("image", "inspect", "--format", "{{json .Config}}", image).stdout))


_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")


def _bytes_option(quantity: str) -> str:
    """A Kubernetes memory quantity (256Mi, 2Gi) as podman and tmpfs write it (256m, 2g)."""
    found = _QUANTITY.match(quantity)
    if found is None:
        raise ValueError(f"unsupported quantity {quantity!r}")
    return found.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: ""}[found.group(2)]


def _cpus_option(quantity: str) -> str:
    """A Kubernetes CPU quantity (500m, 2) as podman's --cpus writes it (0.5, 2)."""
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


@dataclass(frozen=True)
class ContainerSpec:
    """What a Deployment asks of one of its containers, read as a kubelet reads it."""

    namespace: str
    service_account: str
    image: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    ports: dict[str, int]  # port name → containerPort
    probes: dict[str, tuple[str, int]]  # probe kind (startupProbe, …) → (path, containerPort)
    user: int
    group: int
    run_as_non_root: bool
    read_only_root: bool
    allow_privilege_escalation: bool
    dropped_capabilities: tuple[str, ...]
    seccomp: str | None
    empty_dirs: dict[str, str | None]  # mount path → sizeLimit
    memory_limit: str | None
    cpu_limit: str | None
    startup_seconds: float  # how long the startup probe may fail: periodSeconds × failureThreshold
    grace_seconds: float  # terminationGracePeriodSeconds

    @classmethod
    def from_deployment(cls, path: pathlib.Path = DEPLOYMENT, container: str = "operator") -> ContainerSpec:
        """Read `container` of the Deployment in `path`; raises ValueError on what this launch cannot give."""
        deployment = next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        spec = next(c for c in pod["containers"] if c["name"] == container)
        pod_security, security = pod.get("securityContext") or {}, spec.get("securityContext") or {}

        def secured(key: str, default: Any = None) -> Any:
            return security.get(key, pod_security.get(key, default))  # the container's setting wins

        ports = {p["name"]: int(p["containerPort"]) for p in spec.get("ports") or ()}
        probes = {}
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            if kind in spec:
                get = spec[kind]["httpGet"]
                port = get["port"]
                probes[kind] = (get.get("path", "/"), ports[port] if isinstance(port, str) else int(port))
        env = []
        for variable in spec.get("env") or ():
            if "value" not in variable:
                raise ValueError(f"env {variable['name']}: only literal values can be given to a container here")
            env.append((variable["name"], str(variable["value"])))
        volumes = {v["name"]: v for v in pod.get("volumes") or ()}
        empty_dirs: dict[str, str | None] = {}
        for mount in spec.get("volumeMounts") or ():
            volume = volumes[mount["name"]]
            if "emptyDir" not in volume:
                raise ValueError(f"volume {mount['name']}: only emptyDir volumes can be given to a container here")
            empty_dirs[mount["mountPath"]] = (volume["emptyDir"] or {}).get("sizeLimit")
        limits = (spec.get("resources") or {}).get("limits") or {}
        startup = spec.get("startupProbe") or {}
        return cls(
            namespace=deployment["metadata"]["namespace"],
            service_account=pod.get("serviceAccountName", "default"),
            image=spec["image"],
            args=tuple(spec.get("args") or ()),
            env=tuple(env),
            ports=ports,
            probes=probes,
            user=int(secured("runAsUser")),
            group=int(secured("runAsGroup")),
            run_as_non_root=bool(secured("runAsNonRoot", False)),
            read_only_root=bool(security.get("readOnlyRootFilesystem", False)),
            allow_privilege_escalation=bool(security.get("allowPrivilegeEscalation", True)),
            dropped_capabilities=tuple((security.get("capabilities") or {}).get("drop") or ()),
            seccomp=(secured("seccompProfile") or {}).get("type"),
            empty_dirs=empty_dirs,
            memory_limit=limits.get("memory"),
            cpu_limit=limits.get("cpu"),
            startup_seconds=float(startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)),
            grace_seconds=float(pod.get("terminationGracePeriodSeconds", 30)),
        )

    def run_options(self, env_overrides: Mapping[str, str] | None = None) -> list[str]:
        """`podman run` options that give the container what this spec gives it, and nothing else.

        The network, the ServiceAccount mount and the image are the launcher's; so are `env_overrides` (a test's
        settings, listed where it launches).
        """
        options = ["--user", f"{self.user}:{self.group}"]
        if self.read_only_root:
            # podman's --read-only also mounts tmpfs on /run, /tmp and /var/tmp; a pod gets no such thing.
            options += ["--read-only", "--read-only-tmpfs=false"]
        options += [f"--cap-drop={capability.lower()}" for capability in self.dropped_capabilities]
        if not self.allow_privilege_escalation:
            options.append("--security-opt=no-new-privileges")
        if self.seccomp not in (None, "RuntimeDefault"):
            raise ValueError(f"seccompProfile {self.seccomp}: only RuntimeDefault (podman's default profile)")
        for path, size in self.empty_dirs.items():
            # An emptyDir is a new world-writable directory (podman cannot give a tmpfs to the fsGroup).
            limit = f",size={_bytes_option(size)}" if size else ""
            options += ["--tmpfs", f"{path}:rw,nosuid,nodev,mode=0777{limit}"]
        for name, value in {**dict(self.env), **(env_overrides or {})}.items():
            options += ["--env", f"{name}={value}"]
        if self.memory_limit:
            options.append(f"--memory={_bytes_option(self.memory_limit)}")
        if self.cpu_limit:
            options.append(f"--cpus={_cpus_option(self.cpu_limit)}")
        return options


class OperatorContainer(LaunchedOperator):
    """The built image run as `spec` says, logged in as its ServiceAccount through kopf's in-cluster login."""

    def __init__(
        self,
        *,
        image: str,
        spec: ContainerSpec,
        plane: ControlPlane,
        log_path: pathlib.Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(log_path=log_path)
        self.image = image
        self.spec = spec
        self.plane = plane
        self.env_overrides = dict(env or {})
        self.name = f"{NAME_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.service_name = f"{self.name}-kubernetes"
        self.service_log_path = log_path.with_name("kubernetes-service.log")
        self.host_ports = {port: free_port() for port in spec.ports.values()}  # containerPort → port on loopback
        path, port = spec.probes["startupProbe"]
        self.liveness_url = self.url(port, path)
        self.cwd = log_path.parent
        self.env = {**os.environ, **ENGINE_ENV}
        self.service_account_dir: pathlib.Path | None = None
        self.command = []
        self._service: subprocess.Popen[bytes] | None = None

    def url(self, container_port: int, path: str = "/") -> str:
        """The URL of `path` on a container port, as published on this machine's loopback."""
        return f"http://127.0.0.1:{self.host_ports[container_port]}{path}"

    def reach(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            return url
        return parts._replace(netloc=f"{HOST_LOOPBACK}:{parts.port}" if parts.port else HOST_LOOPBACK).geturl()

    def start(self, timeout: float | None = None) -> None:
        """Start the relay, then the operator; wait as long as the Deployment's startup probe would."""
        remove_abandoned_containers()
        self.service_account_dir = self._service_account_files()
        self.command = [
            str(ENGINE_SCRIPT),
            "run",
            "--rm",
            "--name",
            self.name,
            # The relay's network namespace, where the ports are published and kubernetes.default.svc is resolved.
            f"--network=container:{self.service_name}",
            "--volume",
            f"{self.service_account_dir}:{SERVICE_ACCOUNT_MOUNT}:ro",
            "--env",
            "KUBERNETES_SERVICE_HOST=127.0.0.1",
            "--env",
            f"KUBERNETES_SERVICE_PORT={KUBERNETES_SERVICE[1]}",
            *self.spec.run_options(self.env_overrides),
            self.image,
            *self.spec.args,
        ]
        self._start_service()
        try:
            super().start(timeout if timeout is not None else self.spec.startup_seconds)
        except OperatorStartupError:
            self._stop_service()
            raise

    def _service_account_files(self) -> pathlib.Path:
        """token, ca.crt and namespace as a kubelet projects them: a token from the TokenRequest API."""
        folder = pathlib.Path(tempfile.mkdtemp(prefix="serviceaccount-"))
        token = self.plane.kubectl(
            "create", "token", self.spec.service_account, "-n", self.spec.namespace, "--duration=24h"
        ).stdout.strip()
        (folder / "token").write_text(token)
        shutil.copyfile(self.plane.ca_path, folder / "ca.crt")
        (folder / "namespace").write_text(self.spec.namespace)
        for path in (folder, *folder.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)  # a projected volume's defaultMode: readable by any user
        return folder

    def _start_service(self) -> None:
        host, port = KUBERNETES_SERVICE
        publish = [
            f"--publish=127.0.0.1:{host_port}:{container_port}" for container_port, host_port in self.host_ports.items()
        ]
        command = [
            str(ENGINE_SCRIPT),
            "run",
            "--rm",
            "--name",
            self.service_name,
            f"--network={NETWORK}",
            *publish,
            f"--add-host={host}:127.0.0.1",
            "--read-only",
            "--volume",
            f"{SERVICE_PROXY}:/service_proxy.py:ro",
            # Port 443 is a privileged port: the relay (not the operator, which is not in this container) may bind it.
            "--user=0:0",
            "--cap-drop=all",
            "--cap-add=net_bind_service",
            "--entrypoint",
            "python3",
            self.image,
            "/service_proxy.py",
            str(port),
            HOST_LOOPBACK,
            str(self.plane.apiserver_port),
        ]
        self.service_log_path.parent.mkdir(parents=True, exist_ok=True)
        mark = self.service_log_path.stat().st_size if self.service_log_path.exists() else 0
        with self.service_log_path.open("ab") as output:
            self._service = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )

        def listening_or_exited() -> str | None:
            assert self._service is not None
            if self._service.poll() is not None:
                return "exited"
            with self.service_log_path.open("rb") as log:
                log.seek(mark)
                return "listening" if b"relaying" in log.read() else None

        if (
            wait_for_sync(listening_or_exited, timeout=60, interval=0.1, what="the kubernetes Service relay")
            != "listening"
        ):
            log = self.service_log_path.read_text(errors="replace")
            self._stop_service()
            raise OperatorStartupError(f"the kubernetes Service relay exited:\n{log}")

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM to the operator (podman passes it on), as a kubelet stops a pod; then the relay."""
        code = super().stop(timeout if timeout is not None else self.spec.grace_seconds)
        engine("rm", "--force", "--ignore", self.name, check=False)
        self._stop_service()
        return code

    def _stop_service(self) -> None:
        service, self._service = self._service, None
        if service is not None and service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait(timeout=10)
        engine("rm", "--force", "--ignore", self.service_name, check=False)
        if self.service_account_dir is not None:
            shutil.rmtree(self.service_account_dir, ignore_errors=True)
            self.service_account_dir = None

    # -- the container as its host sees it

    def host_pid(self) -> int:
        """The operator's process id on this machine (the container's PID 1)."""
        return int(engine("inspect", "--format", "{{.State.Pid}}", self.name).stdout.strip())


def remove_abandoned_containers() -> None:
    """Remove the containers of earlier test runs whose pytest process is gone (killed before its teardown)."""
    listed = engine("ps", "--all", "--filter", f"name={NAME_PREFIX}", "--format", "{{.Names}}", check=False)
    for name in listed.stdout.split():
        owner = name.removeprefix(NAME_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not pathlib.Path(f"/proc/{owner}").exists():
            engine("rm", "--force", "--ignore", name, check=False)
