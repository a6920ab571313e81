"""The real components the fault scenarios break, and what the scenarios observe of them.

- A real control plane (etcd, kube-apiserver, kube-controller-manager) with crds/ and deploy/ installed as the e2e
  tier installs them; the API server can be killed and started again against the same etcd, and etcd compacted.
- A real Flink 2.3 session cluster (one JobManager, one TaskManager, 8 slots, no HA, checkpoints retained on
  cancellation) whose JobManager and TaskManager can be killed with SIGKILL and started again.
- The operator as a subprocess (`flink-manager run --peering=flink-manager --verbose`) with the ServiceAccount's
  identity, reaching the API server and every Flink REST endpoint through `FaultProxy`s the tests control: `kube`
  (TLS passes through), `main` and `healthy` (TLS terminated with a test CA, a bearer token required) and `silent`
  (plain HTTP, basic credentials required). The credentials and the CA live in Secrets, as users keep them.
- `FlinkSampler` reads Flink's `/jobs/overview` directly every 0.2 s: at most one live job per Execution.
- `SecretScan` gathers every Secret's values and everything the operator wrote or logged.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.server
import itertools
import json
import pathlib
import re
import secrets
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from flink_manager.reconcile.ids import derive_job_id
from tests.infra.faultproxy import FaultProxy
from tests.infra.flink.cluster import RealFlinkCluster
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS, example_job_jar
from tests.infra.kube.controlplane import ControlPlane, generate_certificates
from tests.infra.operator import OperatorProcess
from tests.infra.processes import free_port
from tests.infra.secretscan import SecretScan
from tests.waiting import wait_for_sync

T = TypeVar("T")
REPO = pathlib.Path(__file__).resolve().parents[3]
GROUP = "flinkmanager.io"
KINDS = ("flinkclusters", "artifacts", "jobspecs", "executions")
DEPLOY_MANIFESTS = ("namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "peering.yaml")
POLL_SECONDS = 1  # every FlinkCluster's pollIntervalSeconds here (the CRD's minimum)
FLINK_TIMEOUT = 2  # requestTimeoutSeconds of the FlinkCluster behind the path that goes silent
KUBE_TIMEOUT = 4.0  # FLINK_MANAGER_KUBE_REQUEST_TIMEOUT_SECONDS of the operator
MAX_ATTEMPTS = 32
# The tier's Flink: a lost TaskManager is noticed in a second or two (heartbeats), a JobManager restarted on a
# loaded machine gets time to bind its RPC port, and the latest checkpoint of a job that fails or is cancelled stays.
FLINK_CONFIGURATION = {
    "heartbeat.interval": "1000",
    "heartbeat.timeout": "8000",
    "pekko.startup-timeout": "60 s",
    "pekko.ask.timeout": "30 s",
    "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
}


def body_status(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("status") or {}


def condition(body: dict[str, Any] | None, type_: str) -> tuple[str, str]:
    for item in body_status(body).get("conditions") or []:
        if item.get("type") == type_:
            return item.get("status", ""), item.get("reason", "")
    return "", ""


def history(body: dict[str, Any] | None) -> list[tuple[str, str | None, str, str, str | None]]:
    """(action, from, to, by, reason) of each history entry: what the scenarios compare with their reference."""
    return [
        (h["action"], h.get("oldStatus"), h["newStatus"], h["performedBy"], (h.get("details") or {}).get("reason"))
        for h in body_status(body).get("history") or []
    ]


# -- Flink jobs, sampled ----------------------------------------------------------------------------------------


@dataclass
class JobLife:
    job_id: str
    start: float  # Flink's start-time (epoch seconds)
    end: float | None = None  # Flink's end-time, or when it vanished (a JobManager killed)
    state: str = ""


class FlinkSampler:
    """Reads `/jobs/overview` straight from Flink every 0.2 s, in a thread: each job's life, and every moment at
    which two jobs of one Execution were alive at once."""

    def __init__(self, rest_url: str, interval: float = 0.2) -> None:
        self.rest_url = rest_url
        self.interval = interval
        self.jobs: dict[str, JobLife] = {}
        self.owners: dict[str, tuple[str, int]] = {}  # job id -> (execution, attempt)
        self.violations: list[str] = []
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flink-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def track(self, execution: str, uid: str) -> None:
        with self._lock:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                self.owners[derive_job_id(uid, attempt)] = (execution, attempt)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):  # the sampling period, not a synchronisation
            try:
                with urllib.request.urlopen(self.rest_url + "/jobs/overview", timeout=2) as response:
                    jobs = json.load(response)["jobs"]
            except (OSError, ValueError, KeyError):
                continue  # the JobManager is down: its jobs' fate shows in the next answer
            self.sample(jobs, time.time())

    def sample(self, jobs: list[dict[str, Any]], now: float) -> None:
        with self._lock:
            self.samples += 1
            listed = set()
            live: dict[str, list[str]] = {}
            for job in jobs:
                job_id = job["jid"]
                listed.add(job_id)
                life = self.jobs.setdefault(job_id, JobLife(job_id, (job.get("start-time") or 0) / 1000))
                life.state = job["state"]
                if job["state"] in ("FINISHED", "CANCELED", "FAILED"):
                    if life.end is None:
                        life.end = (job.get("end-time") or 0) / 1000 if (job.get("end-time") or 0) > 0 else now
                else:
                    owner = self.owners.get(job_id, (f"unknown {job_id}", 0))[0]
                    live.setdefault(owner, []).append(job_id)
            for job_id, life in self.jobs.items():
                if life.end is None and job_id not in listed:
                    life.end = now  # lost with its JobManager
            for owner, job_ids in live.items():
                if len(job_ids) > 1:
                    message = f"{owner}: {len(job_ids)} live jobs at once: {sorted(job_ids)}"
                    if message not in self.violations:
                        self.violations.append(message)

    def duplicate_live_jobs(self, executions: set[str]) -> list[str]:
        """For these Executions: the sampled violations, and overlaps of two jobs' lives from Flink's own times."""
        with self._lock:
            found = [v for v in self.violations if v.split(":", 1)[0] in executions]
            by_execution: dict[str, list[JobLife]] = {}
            for job_id, life in self.jobs.items():
                owner = self.owners.get(job_id)
                if owner is not None and owner[0] in executions:
                    by_execution.setdefault(owner[0], []).append(life)
            for execution, lives in by_execution.items():
                lives.sort(key=lambda life: life.start)
                for earlier, later in itertools.pairwise(lives):
                    if earlier.end is None or earlier.end > later.start + 0.001:
                        found.append(f"{execution}: job {earlier.job_id} still live when {later.job_id} started")
        return found

    def jobs_of(self, execution: str) -> list[JobLife]:
        with self._lock:
            return sorted(
                (life for job_id, life in self.jobs.items() if self.owners.get(job_id, ("", 0))[0] == execution),
                key=lambda life: life.start,
            )


# -- the rig ----------------------------------------------------------------------------------------------------


@dataclass
class Credentials:
    """What the Flink paths require, kept in Secrets of every scenario's namespace."""

    token: str = field(default_factory=lambda: "tok-" + secrets.token_hex(20))
    username: str = field(default_factory=lambda: "user-" + secrets.token_hex(6))
    password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(16))
    ca_pem: str = ""


def serving_certificate(ca_dir: pathlib.Path, folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A serving certificate for 127.0.0.1 signed by the CA in `ca_dir` (ca.crt, ca.key): (certificate, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / "serving.crt", folder / "serving.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "7",
            "-CA",
            str(ca_dir / "ca.crt"),
            "-CAkey",
            str(ca_dir / "ca.key"),
            "-subj",
            "/CN=fault-proxy",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certificate, key


class _QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Rig:
    """Everything the scenarios run on; `start()` brings it up (control plane and Flink in parallel)."""

    def __init__(self, work: pathlib.Path, logs: pathlib.Path) -> None:
        self.work = work
        self.logs = logs
        self.plane = ControlPlane(work_dir=work / "k8s")
        self.flink = RealFlinkCluster(slots=8, configuration=FLINK_CONFIGURATION, logs_root=logs)
        self.credentials = Credentials()
        self.scan = SecretScan()
        self.sampler = FlinkSampler(self.flink.rest_url)
        self.proxies: dict[str, FaultProxy] = {}
        self.kube_proxy: FaultProxy | None = None
        self.operator: OperatorProcess | None = None
        self.metrics_port = free_port()
        self.jar_url = ""
        self.jar_sha256 = ""
        self._jar_server: http.server.ThreadingHTTPServer | None = None
        self.timings: dict[str, float] = {}

    # -- life

    def start(self) -> None:
        began = time.monotonic()
        flink_error: list[BaseException] = []

        def start_flink() -> None:
            try:
                self.flink.start(timeout=300)
            except BaseException as exc:  # noqa: BLE001 - raised below, in the main thread
                flink_error.append(exc)

        flink_thread = threading.Thread(target=start_flink, name="flink-start")
        flink_thread.start()
        self.plane.start(timeout=300)
        self._install()
        self._serve_jar()
        self._start_proxies()
        flink_thread.join()
        if flink_error:
            raise flink_error[0]
        self.sampler.start()
        self._start_operator()
        self.timings["start_seconds"] = round(time.monotonic() - began, 1)

    def stop(self, *, keep: bool) -> None:
        """Stop everything that was started, whatever fails on the way (no process may outlive the tier)."""
        steps: list[Callable[[], object]] = []
        if self.operator is not None:
            steps.append(self.operator.stop)
        steps.append(self.sampler.stop)
        steps += [proxy.stop for proxy in [*self.proxies.values(), *([self.kube_proxy] if self.kube_proxy else [])]]
        if self._jar_server is not None:
            steps += [self._jar_server.shutdown, self._jar_server.server_close]
        steps += [lambda: self.flink.stop(keep_logs=keep), lambda: self.plane.stop(keep=keep)]
        errors = []
        for step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - reported after every other step ran
                errors.append(exc)
        if errors:
            raise errors[0]

    def _install(self) -> None:
        """crds/ and deploy/ as the e2e tier applies them (no Deployment: the operator runs here)."""
        plane = self.plane
        plane.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(REPO / "deploy" / "kopf-peering-crds.yaml"))
        plane.kubectl(
            "wait",
            "--for=condition=Established",
            *(f"crd/{kind}.{GROUP}" for kind in KINDS),
            "crd/clusterkopfpeerings.kopf.dev",
            "crd/kopfpeerings.kopf.dev",
            "--timeout=60s",
        )
        for name in DEPLOY_MANIFESTS:
            plane.kubectl("apply", "-f", str(REPO / "deploy" / name))
        plane.restart_controller_manager()  # its garbage collector then knows the new kinds at once

    def _serve_jar(self) -> None:
        jar = example_job_jar()
        handler = functools.partial(_QuietFileHandler, directory=str(jar.parent))
        self._jar_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._jar_server.serve_forever, name="jar-server", daemon=True).start()
        self.jar_url = f"http://127.0.0.1:{self._jar_server.server_address[1]}/{jar.name}"
        self.jar_sha256 = hashlib.sha256(jar.read_bytes()).hexdigest()

    def _start_proxies(self) -> None:
        pki = self.work / "flink-pki"
        generate_certificates(pki)  # a CA, and a serving certificate for 127.0.0.1 it signed
        self.credentials.ca_pem = (pki / "ca.crt").read_text()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(pki / "apiserver.crt", pki / "apiserver.key")
        flink = ("127.0.0.1", self.flink.rest_port)
        bearer = f"Bearer {self.credentials.token}"
        basic = (
            "Basic " + base64.b64encode(f"{self.credentials.username}:{self.credentials.password}".encode()).decode()
        )
        self.proxies = {
            "main": FaultProxy(flink, name="main", auth=bearer, server_tls=tls).start(),
            "healthy": FaultProxy(flink, name="healthy", auth=bearer, server_tls=tls).start(),
            "silent": FaultProxy(flink, name="silent", auth=basic).start(),
        }
        # The path to the API server: TLS ends at the proxy (a serving certificate from the control plane's own CA,
        # so the operator's kubeconfig trusts it) and starts again towards the API server, so that each request
        # and its wait are seen by name (a watch is not held to a request's deadline).
        kube_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        kube_tls.load_cert_chain(*serving_certificate(self.plane.pki_dir, self.work / "kube-proxy-pki"))
        upstream = ssl.create_default_context(cafile=str(self.plane.ca_path))
        self.kube_proxy = FaultProxy(
            ("127.0.0.1", self.plane.apiserver_port), name="kube", server_tls=kube_tls, upstream_tls=upstream
        ).start()

    def _start_operator(self) -> None:
        assert self.kube_proxy is not None
        kubeconfig = yaml.safe_load(self.plane.operator_kubeconfig.read_text())
        kubeconfig["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{self.kube_proxy.port}"
        path = self.work / "operator-via-proxy.kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        path.chmod(0o600)
        self.operator = OperatorProcess(
            kubeconfig=path,
            log_path=self.logs / "operator.log",
            work_dir=self.work / "operator",
            env={
                "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "true",
                "FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS": "127.0.0.1",  # the rig's jar server
                "FLINK_MANAGER_METRICS_PORT": str(self.metrics_port),
                "FLINK_MANAGER_KUBE_REQUEST_TIMEOUT_SECONDS": str(KUBE_TIMEOUT),
                # The scenarios' FlinkClusters all point at the one Flink: none may take another's jar for unused.
                "FLINK_MANAGER_JAR_GRACE_SECONDS": "86400",
            },
            peering="flink-manager",
            args=["--verbose"],
        )
        self.operator.start(timeout=120)

    # -- kubectl, as the admin, straight to the API server

    def kubectl(self, namespace: str | None, *args: str, input: str | None = None, timeout: float = 90) -> str:
        scope = ("-n", namespace) if namespace else ()
        return self.plane.kubectl(*scope, *args, input=input, timeout=timeout).stdout

    def apply(self, namespace: str, *documents: dict[str, Any]) -> None:
        self.kubectl(namespace, "apply", "-f", "-", input=yaml.safe_dump_all(documents, sort_keys=False))

    def get(self, namespace: str, resource: str) -> dict[str, Any] | None:
        out = self.kubectl(namespace, "get", resource, "-o", "json", "--ignore-not-found")
        return json.loads(out) if out.strip() else None

    def patch(self, namespace: str, resource: str, spec: dict[str, Any]) -> None:
        self.kubectl(namespace, "patch", resource, "--type=merge", "-p", json.dumps({"spec": spec}))

    def wait(
        self,
        namespace: str,
        resource: str,
        predicate: Callable[[dict[str, Any]], T],
        *,
        timeout: float = 120,
        what: str = "",
    ) -> T:
        def probe() -> T | None:
            body = self.get(namespace, resource)
            return predicate(body) if body is not None else None

        return wait_for_sync(probe, timeout=timeout, interval=0.25, what=what or f"{namespace}/{resource}")

    def settled(
        self,
        namespace: str,
        execution: str,
        phase: str,
        *,
        timeout: float = 120,
        **expected: Any,
    ) -> dict[str, Any]:
        """Wait for the Execution in `phase` with no operation in flight (and the status fields in `expected`)."""

        def done(body: dict[str, Any]) -> dict[str, Any] | None:
            st = body_status(body)
            ok = st.get("phase") == phase and not st.get("pending") and all(st.get(k) == v for k, v in expected.items())
            return body if ok and st.get("observedGeneration") == body["metadata"]["generation"] else None

        return self.wait(
            namespace,
            f"fex/{execution}",
            done,
            timeout=timeout,
            what=f"{namespace}/{execution} {phase} {expected or ''}".strip(),
        )

    # -- Flink, straight (not through the proxies)

    def flink_get(self, path: str, timeout: float = 5) -> Any:
        with urllib.request.urlopen(self.flink.rest_url + path, timeout=timeout) as response:
            return json.load(response)

    def flink_cancel(self, job_id: str) -> None:
        request = urllib.request.Request(f"{self.flink.rest_url}/jobs/{job_id}?mode=cancel", method="PATCH")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def flink_state(self, job_id: str) -> str | None:
        return next((j["state"] for j in self.flink_get("/jobs/overview")["jobs"] if j["jid"] == job_id), None)

    def wait_flink(self, job_id: str, *states: str, tasks_running: bool = False, timeout: float = 120) -> str:
        def probe() -> str | None:
            for job in self.flink_get("/jobs/overview")["jobs"]:
                if job["jid"] == job_id and job["state"] in states:
                    tasks = job.get("tasks") or {}
                    if not tasks_running or tasks.get("running", 0) == tasks.get("total", -1):
                        return str(job["state"])
            return None

        return wait_for_sync(probe, timeout=timeout, interval=0.2, what=f"Flink job {job_id} in {states}")

    def flink_mutations(self, since: float) -> list[str]:
        """Every Flink call but a read the operator made through the Flink paths since `since` (monotonic)."""
        return [
            f"{name}: {request}"
            for name, proxy in self.proxies.items()
            for request in proxy.matching(r"^(POST|PATCH|PUT|DELETE) ", since)
        ]

    def restored_from(self, job_id: str, timeout: float = 60) -> str:
        """What Flink says the job restored from (`/jobs/{id}/checkpoints`, cached up to 3 s)."""

        def probe() -> str | None:
            restored = (self.flink_get(f"/jobs/{job_id}/checkpoints").get("latest") or {}).get("restored")
            return restored.get("external_path") if restored else None

        return wait_for_sync(probe, timeout=timeout, interval=0.5, what=f"the restore of Flink job {job_id}")

    def newest_checkpoint_on_disk(self, job_id: str) -> str | None:
        """The newest completed checkpoint of a job in the cluster's checkpoint directory, as Flink writes paths."""
        folder = self.flink.checkpoint_dir / job_id
        found = [
            (int(m.group(1)), p)
            for p in folder.glob("chk-*")
            if (m := re.fullmatch(r"chk-(\d+)", p.name)) and (p / "_metadata").is_file()
        ]
        return f"file:{max(found)[1]}" if found else None

    # -- the operator

    def metric(self, name: str, **labels: str) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        total = 0.0
        for line in text.splitlines():
            found = re.match(r"^(\w+)(?:\{([^}]*)\})? ([0-9.e+-]+)$", line)
            if found is None or found.group(1) != name:
                continue
            sample = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
            if all(sample.get(k) == v for k, v in labels.items()):
                total += float(found.group(3))
        return total

    def writes(self) -> float:
        """The operator's Kubernetes writes so far (status patches, metadata patches, Events)."""
        return self.metric("flink_manager_kubernetes_writes_total")

    def metrics_page(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def alive(self) -> bool:
        assert self.operator is not None
        if not self.operator.is_running():
            return False
        try:
            with urllib.request.urlopen(self.operator.liveness_url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def log_mark(self) -> int:
        assert self.operator is not None
        return self.operator.mark()

    def log_since(self, mark: int) -> str:
        assert self.operator is not None
        return self.operator.log_since(mark)

    # -- a scenario's namespace

    @contextlib.contextmanager
    def namespace(self, prefix: str) -> Iterator[str]:
        """A fresh namespace with the Secrets the Flink paths need; on leaving, its Secrets, resources and Events
        go to the scan, its Executions are deleted (their jobs cancelled) and the namespace with them."""
        namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.kubectl(None, "create", "namespace", namespace)
        credentials = self.credentials
        self.apply(
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "flink-token"},
                "stringData": {"token": credentials.token},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "flink-basic"},
                "stringData": {"username": credentials.username, "password": credentials.password},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "flink-ca"},
                "stringData": {"ca.crt": credentials.ca_pem},
            },
        )
        try:
            yield namespace
        finally:
            self.collect(namespace)
            with contextlib.suppress(Exception):
                self.kubectl(namespace, "delete", "fex", "--all", "--timeout=90s", timeout=120)
            self.kubectl(None, "delete", "namespace", namespace, "--wait=false", "--ignore-not-found")

    def versions(self, namespace: str) -> dict[str, str]:
        """`kind/name` → resourceVersion of the namespace's resources and Events: what changes when anyone writes."""
        found = {}
        for kinds in ("flinkclusters,artifacts,jobspecs,executions", "events"):
            for item in json.loads(self.kubectl(namespace, "get", kinds, "-o", "json")).get("items") or []:
                found[f"{item['kind']}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
        return found

    def quiet(self, namespace: str, *, seconds: float = 2 * POLL_SECONDS + 1, timeout: float = 60) -> dict[str, str]:
        """Wait until nothing in the namespace was written for `seconds` (everything settled, the FlinkCluster's
        status after the last job change included); returns the versions then."""
        last: dict[str, Any] = {"versions": self.versions(namespace), "since": time.monotonic()}

        def still() -> dict[str, str] | None:
            versions = self.versions(namespace)
            if versions != last["versions"]:
                last.update(versions=versions, since=time.monotonic())
                return None
            return versions if time.monotonic() - last["since"] >= seconds else None

        return wait_for_sync(still, timeout=timeout, interval=0.5, what=f"{namespace} quiet for {seconds}s")

    def collect(self, namespace: str) -> None:
        """The namespace's Secrets (what to look for) and everything the operator wrote in it (where to look)."""
        self.scan.collect_namespace(
            namespace, lambda kinds: json.loads(self.kubectl(namespace, "get", kinds, "-o", "json"))
        )

    def cluster(self, name: str, path: str, **spec: Any) -> dict[str, Any]:
        """A FlinkCluster reaching Flink through one of the proxies, with that path's credentials."""
        proxy = self.proxies[path]
        body: dict[str, Any] = {"restUrl": proxy.url, "pollIntervalSeconds": POLL_SECONDS, **spec}
        if path == "silent":
            body["auth"] = {"type": "basic", "secretRef": {"name": "flink-basic"}}
        else:
            body["auth"] = {"type": "bearer", "secretRef": {"name": "flink-token"}}
            body["tls"] = {"caSecretRef": {"name": "flink-ca", "key": "ca.crt"}}
        return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "FlinkCluster", "metadata": {"name": name}, "spec": body}

    def artifact(self) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "Artifact",
            "metadata": {"name": "counter"},
            "spec": {"url": self.jar_url, "sha256": self.jar_sha256, "entryClasses": [EXAMPLE_ENTRY_CLASS]},
        }

    @staticmethod
    def job_spec(name: str, cluster: str, *args: str, **config: str) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "JobSpec",
            "metadata": {"name": name},
            "spec": {
                "artifactRef": {"name": "counter"},
                "entryClass": EXAMPLE_ENTRY_CLASS,
                "parallelism": 1,
                "programArgs": ["--rate", "10", "--checkpoint-interval-ms", "1000", *args],
                "clusterRef": {"name": cluster},
                "flinkConfig": config,
            },
        }

    @staticmethod
    def execution(name: str, job_spec: str, **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "Execution",
            "metadata": {"name": name},
            "spec": {
                "jobSpecRef": {"name": job_spec},
                "deletionPolicy": "cancel",
                "restartPolicy": {"type": "OnFailure", "maxRestarts": 3, "backoffSeconds": 0},
                **spec,
            },
        }

    def track(self, namespace: str, *executions: str) -> None:
        for name in executions:
            body = self.get(namespace, f"fex/{name}")
            assert body is not None, f"{namespace}/{name} does not exist"
            self.sampler.track(f"{namespace}/{name}", body["metadata"]["uid"])
