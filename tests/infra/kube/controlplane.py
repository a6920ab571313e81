"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager built by build.sh."""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from tests.infra.processes import die_with_parent, free_port
from tests.waiting import wait_for_sync

HERE = pathlib.Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build.sh"
OPERATOR_NAMESPACE = "flink-manager"
OPERATOR_SERVICE_ACCOUNT = "flink-manager"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"
OPERATOR_GROUPS = ("system:serviceaccounts", f"system:serviceaccounts:{OPERATOR_NAMESPACE}", "system:authenticated")
ADMIN_USER = "flink-manager-test-admin"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# The order in which stop() ends the processes: clients before the servers they talk to.
PROCESS_ORDER = ("kube-controller-manager", "kube-apiserver", "etcd")


class KubeNotBuilt(RuntimeError):
    """The Kubernetes binaries for the current pins are not in the cache."""


class ControlPlaneStartupError(RuntimeError):
    """etcd, kube-apiserver or kube-controller-manager exited or did not become ready in time."""


class KubectlFailed(subprocess.CalledProcessError):
    """kubectl exited non-zero; the message carries its stderr (the API server's reason)."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stderr}"


def binaries_dir() -> pathlib.Path:
    """The bin/ folder build.sh fills for the current pins; raises KubeNotBuilt when it is not built yet."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--bin-dir"], capture_output=True, text=True, timeout=60, check=False
    )
    folder = pathlib.Path(result.stdout.strip())
    if result.returncode != 0:
        raise KubeNotBuilt(
            f"the Kubernetes binaries are not built ({folder or result.stderr.strip()}): "
            "run `make infra-kube` (tests/infra/kube/build.sh) first."
        )
    return folder


def _openssl(*args: str, cwd: pathlib.Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise ControlPlaneStartupError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def generate_certificates(folder: pathlib.Path) -> None:
    """A CA, the apiserver's serving certificate for 127.0.0.1/localhost signed by it, and a service-account key pair."""
    folder.mkdir(parents=True, exist_ok=True)
    # P-256 keys: generated in milliseconds, accepted for serving and for signing service-account tokens.
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "7",
        "-subj",
        "/CN=flink-manager-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )
    names = "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "apiserver.key",
        "-out",
        "apiserver.crt",
        "-days",
        "7",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-subj",
        "/CN=kube-apiserver",
        "-addext",
        f"subjectAltName={names}",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-addext",
        "extendedKeyUsage=serverAuth",
        cwd=folder,
    )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "service-account.key", cwd=folder)
    _openssl("ec", "-in", "service-account.key", "-pubout", "-out", "service-account.pub", cwd=folder)


def kubeconfig_document(*, server: str, ca_pem: bytes, user: str, token: str) -> dict[str, Any]:
    """A self-contained kubeconfig (CA embedded) for one bearer-token identity."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "real-k8s",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "real-k8s", "user": user, "namespace": "default"}}],
        "current-context": user,
    }


@dataclass(frozen=True)
class Identity:
    """A user of the static token file."""

    user: str
    uid: str
    groups: tuple[str, ...]
    token: str

    def token_file_line(self) -> str:
        """The line of --token-auth-file: token,user,uid,"group1,group2"."""
        return f'{self.token},{self.user},{self.uid},"{",".join(self.groups)}"'


class ControlPlane:
    """etcd, kube-apiserver (RBAC, static tokens) and kube-controller-manager (garbage collector and namespace
    controllers) on 127.0.0.1, with all state in a temporary folder.

    `start()` blocks until the API server is ready and the controller manager is healthy; `stop()` ends all three.
    Two identities: the admin (`system:masters`) and the operator's ServiceAccount user, which RBAC restricts.
    """

    def __init__(self, *, bin_dir: pathlib.Path | None = None, work_dir: pathlib.Path | None = None) -> None:
        self.bin_dir = bin_dir or binaries_dir()
        self.work_dir = work_dir or pathlib.Path(tempfile.mkdtemp(prefix="real-k8s-"))
        self.log_dir = self.work_dir / "logs"
        self.pki_dir = self.work_dir / "pki"
        self.ca_path = self.pki_dir / "ca.crt"
        self.admin_kubeconfig = self.work_dir / "admin.kubeconfig"
        self.operator_kubeconfig = self.work_dir / "operator.kubeconfig"
        self.kubectl_path = self.bin_dir / "kubectl"
        self.admin = Identity(ADMIN_USER, "admin", ("system:masters",), secrets.token_hex(24))
        self.operator = Identity(OPERATOR_USER, "flink-manager-sa", OPERATOR_GROUPS, secrets.token_hex(24))
        self.etcd_port = free_port()
        self.apiserver_port = free_port()
        self.controller_manager_port = free_port()
        self.server_url = f"https://127.0.0.1:{self.apiserver_port}"
        self.version_info: dict[str, Any] = {}
        self.startup_seconds: float | None = None
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def admin_token(self) -> str:
        """Bearer token of the cluster admin (group system:masters)."""
        return self.admin.token

    @property
    def operator_token(self) -> str:
        """Bearer token of system:serviceaccount:flink-manager:flink-manager."""
        return self.operator.token

    @property
    def server_version(self) -> str:
        """The API server's gitVersion (GET /version), e.g. v1.37.2."""
        return str(self.version_info.get("gitVersion", ""))

    def start(self, timeout: float = 120.0) -> None:
        """Start etcd, the API server and the controller manager, each once the previous one is ready."""
        if self._processes:
            raise RuntimeError("this control plane is already started")
        began = time.monotonic()
        deadline = began + timeout
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            generate_certificates(self.pki_dir)
            self._write_credentials()
            self._launch("etcd", self._etcd_command())
            self._wait("etcd", self._etcd_healthy, deadline)
            self._launch("kube-apiserver", self._apiserver_command())
            self._wait("kube-apiserver", self._apiserver_ready, deadline)
            self._launch("kube-controller-manager", self._controller_manager_command())
            self._wait("kube-controller-manager", self._controller_manager_healthy, deadline)
        except BaseException:
            self.stop(keep=True)
            raise
        self.startup_seconds = time.monotonic() - began

    def _write_credentials(self) -> None:
        tokens = self.work_dir / "tokens.csv"
        tokens.write_text("".join(identity.token_file_line() + "\n" for identity in (self.admin, self.operator)))
        tokens.chmod(0o600)
        ca_pem = self.ca_path.read_bytes()
        for path, identity in ((self.admin_kubeconfig, self.admin), (self.operator_kubeconfig, self.operator)):
            document = kubeconfig_document(
                server=self.server_url, ca_pem=ca_pem, user=identity.user, token=identity.token
            )
            path.write_text(yaml.safe_dump(document, sort_keys=False))
            path.chmod(0o600)

    def _etcd_command(self) -> list[str]:
        client_url = f"http://127.0.0.1:{self.etcd_port}"
        peer_url = f"http://127.0.0.1:{free_port()}"
        return [
            str(self.bin_dir / "etcd"),
            "--name=default",
            f"--data-dir={self.work_dir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            # A test cluster's data dies with the test: skip fsync, the slowest part of every write.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_command(self) -> list[str]:
        pki = self.pki_dir
        return [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # The default (lease) reconciler refuses a loopback address for the `kubernetes` Service's endpoints.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.apiserver_port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--token-auth-file={self.work_dir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki / 'service-account.pub'}",
            f"--service-account-signing-key-file={pki / 'service-account.key'}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--profiling=false",
        ]

    def _controller_manager_command(self) -> list[str]:
        return [
            str(self.bin_dir / "kube-controller-manager"),
            f"--kubeconfig={self.admin_kubeconfig}",
            # Only what makes deletion behave as on a real cluster: ownerReference cascades and namespace cleanup.
            "--controllers=garbage-collector-controller,namespace-controller",
            "--use-service-account-credentials=false",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.controller_manager_port}",
            f"--cert-dir={self.work_dir / 'controller-manager'}",
            "--profiling=false",
        ]

    def restart_controller_manager(self, timeout: float = 60.0) -> None:
        """Restart kube-controller-manager, so that its garbage collector watches every resource type served now.

        Without it, the collector notices a new CRD at its next discovery sync (every 30 s), and until then
        deleting an owner of that kind leaves its dependents in place.
        """
        self._end("kube-controller-manager", timeout=20.0)
        self.controller_manager_port = free_port()
        self._launch("kube-controller-manager", self._controller_manager_command())
        self._wait("kube-controller-manager", self._controller_manager_healthy, time.monotonic() + timeout)

    # -- faults: the reliability tier's real-component scenarios (tests/reliability/real)

    def kill_apiserver(self) -> None:
        """SIGKILL the API server (as a crash or a node loss would end it); etcd and its data stay."""
        process = self._processes.pop("kube-apiserver", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def start_apiserver(self, timeout: float = 120.0) -> float:
        """Start the API server again on the same port against the same etcd; returns how long it took to be ready."""
        if "kube-apiserver" in self._processes:
            raise RuntimeError("the API server is running")
        began = time.monotonic()
        self._launch("kube-apiserver", self._apiserver_command())
        self._wait("kube-apiserver", self._apiserver_ready, began + timeout)
        return time.monotonic() - began

    def etcd_revision(self) -> int:
        """etcd's current revision (the resourceVersion the next write gets, minus one), from its JSON gateway."""
        return int(self._etcd_call("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])

    def compact_etcd(self, revision: int | None = None) -> int:
        """Compact etcd's history up to `revision` (the current one by default): a watch from an older
        resourceVersion is then answered 410 Gone. Returns the revision compacted at."""
        revision = revision or self.etcd_revision()
        self._etcd_call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def _etcd_call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.etcd_port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.load(response))

    def _launch(self, name: str, command: list[str]) -> None:
        (self.log_dir / f"{name}.command").write_text(" ".join(command) + "\n")
        with (self.log_dir / f"{name}.log").open("ab") as output:
            self._processes[name] = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                # prctl's death signal fires when the forking thread ends, so only tie it to the main thread.
                preexec_fn=die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )

    def _wait(self, name: str, probe: Callable[[], bool], deadline: float) -> None:
        def ready_or_exited() -> str | None:
            if self._processes[name].poll() is not None:
                return "exited"
            return "ready" if probe() else None

        outcome = wait_for_sync(
            ready_or_exited, timeout=max(1.0, deadline - time.monotonic()), interval=0.1, what=f"{name} ready"
        )
        if outcome == "exited":
            raise ControlPlaneStartupError(f"{name} exited during start-up\n{self.log_tail(name)}")

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.etcd_port}/health", timeout=2) as response:
            return bool(json.load(response).get("health") == "true")

    def _apiserver_ready(self) -> bool:
        if self.get("/readyz").strip() != b"ok":
            return False
        # The "default" namespace is created by a loop inside the API server shortly after /readyz says ok.
        self.get("/api/v1/namespaces/default")
        self.version_info = json.loads(self.get("/version"))
        return True

    def _controller_manager_healthy(self) -> bool:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # its serving certificate is self-signed at start-up
        url = f"https://127.0.0.1:{self.controller_manager_port}/healthz"
        with urllib.request.urlopen(url, timeout=2, context=insecure) as response:
            return bool(response.read().strip() == b"ok")

    def get(self, path: str, *, token: str | None = None, timeout: float = 5.0) -> bytes:
        """GET a path of the API server as the admin (or with `token`); raises urllib.error.HTTPError on failure."""
        request = urllib.request.Request(
            self.server_url + path, headers={"Authorization": f"Bearer {token or self.admin_token}"}
        )
        context = ssl.create_default_context(cafile=str(self.ca_path))
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return bytes(response.read())

    def kubectl(
        self,
        *args: str,
        kubeconfig: str | os.PathLike[str] | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this server (as the admin unless `kubeconfig` says otherwise)."""
        command = [
            str(self.kubectl_path),
            f"--kubeconfig={kubeconfig or self.admin_kubeconfig}",
            f"--cache-dir={self.work_dir / 'kubectl-cache'}",
            *args,
        ]
        result = subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise KubectlFailed(result.returncode, command, result.stdout, result.stderr)
        return result

    def is_running(self) -> bool:
        """All three processes are alive."""
        return len(self._processes) == len(PROCESS_ORDER) and all(p.poll() is None for p in self._processes.values())

    def log_tail(self, *names: str, lines: int = 40) -> str:
        """The last lines of the named processes' logs (all when none named), for error messages."""
        parts = []
        for name in names or PROCESS_ORDER:
            path = self.log_dir / f"{name}.log"
            if path.is_file():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self, *, keep: bool = False, timeout: float = 20.0) -> None:
        """SIGTERM each process (controller manager, API server, etcd), SIGKILL it after `timeout`;
        remove the temporary folder unless `keep` (then say where the logs are)."""
        for name in PROCESS_ORDER:
            self._end(name, timeout=timeout)
        if keep:
            print(f"Real Kubernetes control plane kept in {self.work_dir} (logs in {self.log_dir})", file=sys.stderr)
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _end(self, name: str, *, timeout: float) -> None:
        process = self._processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop(keep=exc_type is not None)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.infra.kube.controlplane`: start a control plane and keep it until Ctrl-C."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (state and logs) after Ctrl-C")
    args = parser.parse_args(argv)
    # Also stop cleanly on SIGTERM, and on SIGINT when started in the background (where SIGINT is ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        plane = ControlPlane()
    except KubeNotBuilt as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Starting etcd, kube-apiserver and kube-controller-manager in {plane.work_dir}", flush=True)
    plane.start()
    print(
        f"Kubernetes {plane.server_version} is up in {plane.startup_seconds:.1f}s at {plane.server_url}\n"
        f"  admin kubeconfig:    {plane.admin_kubeconfig}\n"
        f"  operator kubeconfig: {plane.operator_kubeconfig}  ({OPERATOR_USER})\n"
        f"  logs:                {plane.log_dir}\n"
        f"  try: KUBECONFIG={plane.admin_kubeconfig} {plane.kubectl_path} get namespaces\n"
        "Ctrl-C stops it.",
        flush=True,
    )
    try:
        while plane.is_running():
            time.sleep(1)  # an interactive foreground loop, not test synchronisation
        print("A control-plane process exited:\n" + plane.log_tail(), file=sys.stderr)
        plane.stop(keep=True)
        return 1
    except KeyboardInterrupt:
        plane.stop(keep=args.keep)
        return 0


if __name__ == "__main__":
    sys.exit(main())
