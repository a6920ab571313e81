"""The end-to-end installation: crds/ and deploy/rbac.yaml on the real control plane, the operator with the
RBAC-limited ServiceAccount identity, real Flink (the newest version, or the test's `flink_version`), and the
example job jar built against that version served over http.

The operator is launched as a subprocess with the ServiceAccount's kubeconfig, or (a test that parametrizes
`flink_manager` with "image") as the built image run the way deploy/deployment.yaml runs it, logged in through
kopf's in-cluster login.

Tests drive it with `kubectl` only (as a user would) and check Flink's own REST answers and the files it writes.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import pathlib
import re
import shutil
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import pytest
import yaml

from tests.infra.flink.cluster import RealFlinkCluster
from tests.infra.flink.fixtures import RealFlinkClusters
from tests.infra.flink.versions import NEWEST
from tests.infra.image.container import ContainerSpec, ImageNotBuilt, OperatorContainer, built_image
from tests.infra.jobjar import example_job_jar
from tests.infra.kube.controlplane import ControlPlane
from tests.infra.operator import LaunchedOperator, OperatorProcess
from tests.infra.processes import free_port, say
from tests.infra.secretscan import SecretScan
from tests.waiting import wait_for_sync

T = TypeVar("T")
REPO = pathlib.Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
QUICKSTART = REPO / "examples" / "quickstart"
GROUP = "flinkmanager.io"
KINDS = ("flinkclusters", "artifacts", "jobspecs", "executions")
# What deploy/ installs besides the Deployment itself (there is no kubelet to run its pod: the operator runs here).
DEPLOY_MANIFESTS = ("kopf-peering-crds.yaml", "namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "peering.yaml")
# As deploy/deployment.yaml runs it: in the ClusterKopfPeering of deploy/peering.yaml (so its RBAC is exercised too).
PEERING = "flink-manager"
# What the tests set beyond deploy/'s settings, however the operator is launched: the example job jar is served
# over http, and the test servers (the JAR server, S3, the Maven repository) listen on this machine's loopback,
# which the operator's container reaches as 10.0.2.2 (tests/infra/image/container.py).
OPERATOR_TEST_ENV = {
    "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "true",
    "FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS": "127.0.0.1,10.0.2.2",
}
# How the operator is launched: as a subprocess (the default), or as the built image. Parametrize `flink_manager`
# (indirectly) to choose.
LAUNCHES = ("process", "image")
TIMEOUT = 120.0  # a stop with savepoint on a busy 2-core machine takes a few seconds; allow plenty
# An RBAC refusal as the API server words it (`User "…" cannot get resource "events" …`), logged by kopf or the
# operator; other 403s (such as a namespace being terminated) are not about permissions.
FORBIDDEN = re.compile(r"cannot [a-z]+ resource")

_OPERATOR_LOG_MARK = pytest.StashKey[int]()
_OPERATOR_TEST_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the operator shows what the operator logged during it (and keeps the log)."""
    report = yield
    if report.failed and "flink_manager" in getattr(item, "fixturenames", ()):
        item.session.stash[_OPERATOR_TEST_FAILED] = True
        operator = getattr(item, "funcargs", {}).get("flink_manager")
        if isinstance(operator, LaunchedOperator):
            since = item.stash.get(_OPERATOR_LOG_MARK, 0)
            report.sections.append(("flink-manager operator", operator.log_tail(200, since=since)))
        view = getattr(item, "funcargs", {}).get("e2e")
        if isinstance(view, EndToEnd):
            report.sections.append(("the test's namespace and Flink", view.describe()))
    return report


def launch_of(item: pytest.Item) -> str:
    """How the operator of a test is launched."""
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get("flink_manager", LAUNCHES[0])) if callspec is not None else LAUNCHES[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of one launch run together (a stable sort), so that the session switches launches once."""
    here = pathlib.Path(__file__).parent
    items.sort(key=lambda item: LAUNCHES.index(launch_of(item)) if here in item.path.parents else 0)


# -- the installation ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def installed(real_k8s: ControlPlane) -> ControlPlane:
    """The control plane with crds/ established and deploy/ applied but for the Deployment and its Service:
    the kopf peering CRDs and object, the operator's namespace, ServiceAccount and RBAC."""
    real_k8s.kubectl("apply", "-f", str(CRDS), "-f", str(REPO / "deploy" / DEPLOY_MANIFESTS[0]))
    real_k8s.kubectl(
        "wait",
        "--for=condition=Established",
        *(f"crd/{kind}.{GROUP}" for kind in KINDS),
        "crd/clusterkopfpeerings.kopf.dev",
        "crd/kopfpeerings.kopf.dev",
        "--timeout=60s",
    )
    for name in DEPLOY_MANIFESTS[1:]:
        real_k8s.kubectl("apply", "-f", str(REPO / "deploy" / name))
    # The garbage collector reads discovery every 30 s; restarted, it watches the new kinds at once.
    real_k8s.restart_controller_manager()
    return real_k8s


class JarServer:
    """The example job jars (one per Flink version, under the cache's jobs/) served over http on loopback."""

    def __init__(self, root: pathlib.Path, port: int) -> None:
        self.root, self.port = root, port

    def url_of(self, version: str) -> tuple[str, str]:
        """(URL, sha256) of the jar built against this version (built now if it is not yet)."""
        jar = example_job_jar(version)
        return f"http://127.0.0.1:{self.port}/{jar.relative_to(self.root)}", hashlib.sha256(
            jar.read_bytes()
        ).hexdigest()


@pytest.fixture(scope="session")
def job_jars() -> Iterator[JarServer]:
    """The example job jars served over http on loopback."""
    root = example_job_jar().parents[1]
    handler = functools.partial(_QuietFileHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="jar-server", daemon=True)
    thread.start()
    try:
        yield JarServer(root, int(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def job_jar_url(job_jars: JarServer) -> tuple[str, str]:
    """(URL, sha256) of the example job jar built against the newest Flink."""
    return job_jars.url_of(NEWEST.version)


class _QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Operators:
    """The session's operator, launched one way at a time: asking for another launch stops the running operator
    first (two operators in the same peering with the same priority would both pause).

    Each launch logs under test-logs/; the log is kept when a test failed or the operator did not exit cleanly.
    """

    def __init__(
        self,
        request: pytest.FixtureRequest,
        plane: ControlPlane,
        tmp_path_factory: pytest.TempPathFactory,
        scan: SecretScan,
    ) -> None:
        self.request = request
        self.plane = plane
        self.tmp_path_factory = tmp_path_factory
        self.scan = scan
        self.current: LaunchedOperator | None = None
        self.launched = ""
        self.metrics_url: str | None = None

    def launch(self, how: str) -> LaunchedOperator:
        """The running operator of that launch, started (and the other one stopped) when needed."""
        if self.current is not None and self.launched == how:
            return self.current
        self.close()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        log_path = REPO / "test-logs" / f"e2e-operator-{how}-{stamp}-{uuid.uuid4().hex[:6]}" / "operator.log"
        operator: LaunchedOperator
        if how == "process":
            # Debug logs and the metrics page too: what the secret scan reads.
            metrics_port = free_port()
            self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            operator = OperatorProcess(
                kubeconfig=self.plane.operator_kubeconfig,
                log_path=log_path,
                work_dir=self.tmp_path_factory.mktemp("operator"),
                env={**OPERATOR_TEST_ENV, "FLINK_MANAGER_METRICS_PORT": str(metrics_port)},
                peering=PEERING,
                args=["--verbose"],
            )
            identity = f"as {self.plane.operator.user} (kubeconfig)"
        elif how == "image":
            try:
                image = built_image()
            except ImageNotBuilt as exc:
                pytest.fail(str(exc), pytrace=False)
            operator = OperatorContainer(
                image=image,
                spec=ContainerSpec.from_deployment(),
                plane=self.plane,
                log_path=log_path,
                env=OPERATOR_TEST_ENV,
            )
            identity = f"as {image}, logged in with a token of its ServiceAccount"
        else:
            raise ValueError(f"no launch {how!r}: one of {LAUNCHES}")
        operator.start()
        self.current, self.launched = operator, how
        say(
            self.request.config,
            f"\nflink-manager operator (pid {operator.pid}) live in "
            f"{operator.startup_seconds:.1f}s {identity} (log: {operator.log_path})",
        )
        return operator

    def close(self) -> None:
        """Stop the running operator (SIGTERM), its log and metrics page handed to the secret scan first; drop its
        log unless something failed (or the scan found a Secret's value)."""
        operator, self.current = self.current, None
        if operator is None:
            return
        metrics_url, self.metrics_url = self.metrics_url, None
        if metrics_url is not None and operator.is_running():
            with urllib.request.urlopen(metrics_url, timeout=10) as response:
                self.scan.add_text(f"metrics page ({self.launched})", response.read().decode())
        code = operator.stop()
        self.scan.add_text(f"operator log ({self.launched})", operator.log_since(0))
        log_dir = operator.log_path.parent
        if self.request.session.stash.get(_OPERATOR_TEST_FAILED, False) or code not in (0, None) or self.scan.leaks():
            say(self.request.config, f"flink-manager operator exited with {code}; log kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def secret_scan() -> SecretScan:
    """The values of every Secret the tests create, and everything the operator wrote and logged
    (tests/infra/secretscan.py); checked when the session ends."""
    return SecretScan()


@pytest.fixture(scope="session")
def operators(
    request: pytest.FixtureRequest,
    installed: ControlPlane,
    tmp_path_factory: pytest.TempPathFactory,
    secret_scan: SecretScan,
) -> Iterator[Operators]:
    """The session's operator, `flink-manager run --peering=flink-manager` watching all namespaces as the
    operator's ServiceAccount; one launch at a time. When the session ends, no Secret value the tests created may
    be in what it logged (at debug level), wrote (status, history, Events) or serves as metrics."""
    launched = Operators(request, installed, tmp_path_factory, secret_scan)
    yield launched
    launched.close()
    leaks = secret_scan.leaks()
    say(request.config, f"secret scan: {secret_scan.summary()}: {len(leaks)} found")
    assert not leaks, "Secret values in what the operator wrote or logged:\n" + "\n".join(map(str, leaks))


@pytest.fixture
def flink_manager(request: pytest.FixtureRequest, operators: Operators) -> Iterator[LaunchedOperator]:
    """The running operator, launched as the test asks (a subprocess unless it parametrizes this fixture with
    "image"); the test fails if the operator was refused anything by RBAC meanwhile."""
    operator = operators.launch(getattr(request, "param", LAUNCHES[0]))
    mark = operator.mark()
    request.node.stash[_OPERATOR_LOG_MARK] = mark
    yield operator
    assert operator.is_running(), f"the operator exited\n{operator.log_tail()}"
    refused = [line for line in operator.log_since(mark).splitlines() if FORBIDDEN.search(line)]
    assert not refused, (
        "the operator was refused by the API server (deploy/rbac.yaml lacks a permission):\n" + "\n".join(refused[:20])
    )


# -- one test's view ----------------------------------------------------------------------------------------


class EndToEnd:
    """A fresh namespace on the installation, with kubectl as the admin user and Flink's REST API to check against."""

    def __init__(
        self,
        plane: ControlPlane,
        flink: RealFlinkCluster,
        operator: LaunchedOperator,
        namespace: str,
        jar: tuple[str, str],
    ) -> None:
        self.plane = plane
        self.flink = flink
        self.operator = operator
        self.namespace = namespace
        self.jar_url, self.jar_sha256 = jar

    # -- kubectl

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = TIMEOUT + 30) -> str:
        """`kubectl -n NAMESPACE ARGS…` as the admin; returns stdout (raises KubectlFailed with stderr)."""
        return self.plane.kubectl("-n", self.namespace, *args, input=input, check=check, timeout=timeout).stdout

    def apply(self, *documents: dict[str, Any]) -> str:
        return self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents, sort_keys=False))

    def get(self, resource: str) -> dict[str, Any] | None:
        """`kubectl get RESOURCE -o json`, or None when it does not exist."""
        out = self.kubectl("get", resource, "-o", "json", "--ignore-not-found")
        return json.loads(out) if out.strip() else None

    def jsonpath(self, resource: str, path: str) -> str:
        return self.kubectl("get", resource, "-o", f"jsonpath={path}")

    def wait(
        self, resource: str, predicate: Callable[[dict[str, Any]], T], *, timeout: float = TIMEOUT, what: str = ""
    ) -> T:
        """Wait until `predicate(kubectl get RESOURCE -o json)` is truthy; returns its value."""

        def probe() -> T | None:
            body = self.get(resource)
            return predicate(body) if body is not None else None

        return wait_for_sync(probe, timeout=timeout, interval=0.5, what=what or f"{resource}")

    def wait_phase(self, execution: str, phase: str, *, timeout: float = TIMEOUT) -> dict[str, Any]:
        """`kubectl wait --for=jsonpath={.status.phase}=PHASE`, then the Execution."""
        self.kubectl(
            "wait", f"--for=jsonpath={{.status.phase}}={phase}", f"fex/{execution}", f"--timeout={timeout:.0f}s"
        )
        body = self.get(f"fex/{execution}")
        assert body is not None
        return body

    def describe(self) -> str:
        """What a failure report shows: the resources' status and Events in the namespace, and Flink's jobs."""
        parts = []
        for title, args in (
            ("resources", ("get", "fc,fa,fjs,fex", "-o", "yaml")),
            ("events", ("get", "events", "--sort-by=.lastTimestamp")),
        ):
            try:
                parts.append(f"--- kubectl {' '.join(args)} ---\n{self.kubectl(*args, timeout=30)}")
            except Exception as exc:  # noqa: BLE001 - a report must not fail on what it cannot read
                parts.append(f"--- {title}: {exc} ---")
        try:
            parts.append(f"--- Flink /jobs/overview ---\n{json.dumps(self.flink_jobs(), indent=1)}")
        except Exception as exc:  # noqa: BLE001
            parts.append(f"--- Flink /jobs/overview: {exc} ---")
        return "\n".join(parts)

    # -- the quickstart

    def quickstart(self, *names: str) -> list[dict[str, Any]]:
        """examples/quickstart/ with the substitutions its README lists for a real cluster: the FlinkCluster's
        `restUrl` points at the real Flink, the Artifact's `url` and `sha256` at the served example job jar (each
        as the operator reaches it)."""
        documents = []
        for path in sorted(QUICKSTART.glob("[0-9]*.yaml")):
            if names and not any(path.name.startswith(n) for n in names):
                continue
            for document in yaml.safe_load_all(path.read_text()):
                if document["kind"] == "FlinkCluster":
                    document["spec"]["restUrl"] = self.operator.reach(self.flink.rest_url)
                elif document["kind"] == "Artifact":
                    document["spec"]["url"] = self.operator.reach(self.jar_url)
                    document["spec"]["sha256"] = self.jar_sha256
                documents.append(document)
        return documents

    # -- Flink

    def flink_jobs(self) -> dict[str, str]:
        """Job id → state, from `/jobs/overview` (Flink's uncached view)."""
        return {job["jid"]: job["state"] for job in self.flink.get_json("/jobs/overview")["jobs"]}

    def wait_flink_state(self, job_id: str, *states: str, timeout: float = TIMEOUT) -> str:
        def probe() -> str | None:
            state = self.flink_jobs().get(job_id)
            return state if state in states else None

        return wait_for_sync(probe, timeout=timeout, interval=0.2, what=f"Flink job {job_id} in {states}")

    def restored_from(self, job_id: str, *, timeout: float = 30.0) -> str:
        """`latest.restored.external_path` of `/jobs/{id}/checkpoints` (cached by Flink for up to 3 s)."""

        def probe() -> str | None:
            restored = (self.flink.get_json(f"/jobs/{job_id}/checkpoints").get("latest") or {}).get("restored")
            return restored.get("external_path") if restored else None

        return wait_for_sync(probe, timeout=timeout, interval=0.5, what=f"the restore of job {job_id}")


def local_path(uri: str) -> pathlib.Path:
    """The local directory of a `file:` URI as Flink writes them (`file:/a/b`, `file:///a/b`)."""
    assert uri.startswith("file:"), uri
    return pathlib.Path("/" + uri.removeprefix("file:").lstrip("/"))


@pytest.fixture
def flink_version() -> str:
    """The Flink version an end-to-end test runs on: the newest, unless the test is parametrized with others."""
    return NEWEST.version


@pytest.fixture
def e2e(
    request: pytest.FixtureRequest,
    installed: ControlPlane,
    real_flink_clusters: RealFlinkClusters,
    flink_version: str,
    flink_manager: LaunchedOperator,
    job_jars: JarServer,
    secret_scan: SecretScan,
) -> Iterator[EndToEnd]:
    """A fresh namespace and the real Flink of the test's version; the namespace is deleted afterwards (the operator
    stops whatever still runs in it), its Secrets and everything the operator wrote in it going to the session's
    secret scan first. The test's time on that version is printed."""
    flink = real_flink_clusters.get(flink_version)
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    installed.kubectl("create", "namespace", namespace)
    view = EndToEnd(installed, flink, flink_manager, namespace, job_jars.url_of(flink_version))
    began = time.monotonic()
    try:
        yield view
    finally:
        say(request.config, f"\ne2e {request.node.name} on Flink {flink_version}: {time.monotonic() - began:.0f}s")
        try:
            secret_scan.collect_namespace(namespace, lambda kinds: json.loads(view.kubectl("get", kinds, "-o", "json")))
        finally:
            installed.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")
