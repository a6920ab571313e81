"""The chart's default profile installed for real and driven through the lifecycle, watched by a real Prometheus.

- `helm install flink-manager deploy/helm/flink-manager` against a real kube-apiserver of its own (the tier's
  shared one has deploy/ installed, whose objects bear the same names): the CRDs from the chart's crds/, its RBAC,
  ServiceAccount, peering object and Deployment;
- there is no kubelet, so the operator runs as a subprocess the way the chart's Deployment runs it (its arguments
  and environment, read back from the installed Deployment) with the credentials of the chart's ServiceAccount,
  which only the chart's RBAC empowers; a real Prometheus (Debian's package) scrapes its /metrics and evaluates
  deploy/monitoring/alerts.yaml;
- the quickstart runs on real Flink and is stopped, resumed, restarted and savepointed with the kubectl plugin
  (`kubectl flinkmanager …` through the real kubectl, with kubectl's flags);
- then PromQL returns what the test did: the Execution's phase, and the START, STOP, RESTART and SAVEPOINT counts.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import FORBIDDEN, EndToEnd
from tests.e2e.test_monitoring import ALERTS, alert_rules, dashboard_queries
from tests.infra.flink.cluster import RealFlinkCluster
from tests.infra.helm import helm_binary
from tests.infra.kube.controlplane import ControlPlane
from tests.infra.operator import OperatorProcess
from tests.infra.processes import free_port, say
from tests.infra.prometheus import PrometheusServer, version
from tests.waiting import wait_for_sync

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]

REPO = pathlib.Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "flink-manager"
RELEASE = NAMESPACE = "flink-manager"  # the ServiceAccount flink-manager/flink-manager: the plane's operator identity
EXECUTION = "stateful-counter-1"
TIMEOUT = 180


class Installed:
    """The control plane with the chart installed, and the operator running as its Deployment says."""

    def __init__(
        self, plane: ControlPlane, deployment: dict[str, Any], operator: OperatorProcess, metrics_port: int
    ) -> None:
        self.plane = plane
        self.deployment = deployment
        self.operator = operator
        self.metrics_port = metrics_port


def helm(plane: ControlPlane, *args: str) -> str:
    result = subprocess.run(
        [str(helm_binary()), *args, "--kubeconfig", str(plane.admin_kubeconfig)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def operator_from(
    deployment: dict[str, Any], plane: ControlPlane, work_dir: pathlib.Path, metrics_port: int
) -> OperatorProcess:
    """An OperatorProcess with the Deployment's arguments and environment. Where a pod and this machine differ:
    the liveness and metrics ports are free ones, the artifact cache is a folder of the test, and http artifact
    URLs are allowed (the example job's JAR is served over http on loopback)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[0] == "run", args
    peering = next(a.split("=", 1)[1] for a in args if a.startswith("--peering="))
    extra = [a for a in args[1:] if not a.startswith(("--peering=", "--liveness="))]
    env = {}
    for variable in container["env"]:
        if "valueFrom" not in variable:
            env[variable["name"]] = variable.get("value", "")  # the API server drops an empty value
        elif variable["valueFrom"].get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[variable["name"]] = f"{deployment['metadata']['name']}-0"  # the pod's name
        else:
            raise AssertionError(f"the Deployment sets {variable['name']} from {variable['valueFrom']}: run it how?")
    env.update(
        {
            "FLINK_MANAGER_METRICS_PORT": str(metrics_port),
            "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "true",
            "FLINK_MANAGER_ARTIFACT_CACHE_DIR": str(work_dir / "artifacts"),
        }
    )
    return OperatorProcess(
        kubeconfig=plane.operator_kubeconfig,
        log_path=work_dir / "operator.log",
        work_dir=work_dir,
        env=env,
        peering=peering,
        args=extra,
    )


@pytest.fixture(scope="module")
def chart(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    plane = ControlPlane()
    plane.start()
    failed_before = request.session.testsfailed
    operator: OperatorProcess | None = None
    try:
        # The example job's JAR is served on loopback, a private address: allowed as a user allows an in-cluster store.
        out = helm(
            plane,
            "install",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--create-namespace",
            "--set",
            "settings.allowPrivateArtifactHosts={127.0.0.1}",
        )
        say(
            request.config,
            f"\nhelm install {RELEASE} deploy/helm/flink-manager on {plane.server_url}: {out.splitlines()[:4]}",
        )
        # The garbage collector reads discovery every 30 s; restarted, it watches the chart's kinds at once.
        plane.restart_controller_manager()
        wait_for_sync(
            lambda: plane.kubectl("get", "fc,fa,fjs,fex", "-A", check=False).returncode == 0,
            timeout=60,
            interval=0.5,
            what="the chart's CRDs to be served",
        )
        deployment = json.loads(plane.kubectl("-n", NAMESPACE, "get", "deployment", RELEASE, "-o", "json").stdout)
        metrics_port = free_port()
        operator = operator_from(deployment, plane, tmp_path_factory.mktemp("helm-operator"), metrics_port)
        operator.start()
        yield Installed(plane, deployment, operator, metrics_port)
    finally:
        if operator is not None:
            # Stop what still runs in Flink while the operator is there to do it.
            plane.kubectl("delete", "fex", "--all", "-A", "--timeout=120s", check=False, timeout=150)
            code = operator.stop()
            if code not in (0, None) or request.session.testsfailed > failed_before:
                say(request.config, f"the chart's operator exited with {code}; its log: {operator.log_path}")
        plane.stop(keep=request.session.testsfailed > failed_before)


@pytest.fixture(scope="module")
def prometheus(
    chart: Installed, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"), [f"127.0.0.1:{chart.metrics_port}"], rule_files=[ALERTS]
    )
    server.start()
    say(request.config, f"\n{version()} scraping the operator at :{chart.metrics_port} ({server.url})")
    yield server
    server.stop()


def kubectl_plugin(plane: ControlPlane, *args: str, timeout: float = TIMEOUT + 30) -> str:
    """`kubectl flinkmanager ARGS…` run by the real kubectl, which finds kubectl-flinkmanager on PATH."""
    scripts = pathlib.Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("KUBECONFIG", None)
    result = subprocess.run(
        [str(plane.kubectl_path), "flinkmanager", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"kubectl flinkmanager {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def history(body: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in (body.get("status") or {}).get("history", [])]


def test_the_chart_installs_what_the_operator_needs(chart: Installed) -> None:
    plane = chart.plane
    releases = json.loads(helm(plane, "list", "--namespace", NAMESPACE, "-o", "json"))
    assert [(r["name"], r["status"]) for r in releases] == [(RELEASE, "deployed")]
    crds = plane.kubectl("get", "crd", "-o", "name").stdout.split()
    assert {
        f"customresourcedefinition.apiextensions.k8s.io/{name}"
        for name in (
            "flinkclusters.flinkmanager.io",
            "artifacts.flinkmanager.io",
            "jobspecs.flinkmanager.io",
            "executions.flinkmanager.io",
            "clusterkopfpeerings.kopf.dev",
            "kopfpeerings.kopf.dev",
        )
    } <= set(crds)
    # The ServiceAccount's identity may do what the operator does, and nothing it does not.
    for allowed, verb, resource in (
        (True, "patch", "executions.flinkmanager.io/status"),
        (True, "get", "secrets"),
        (True, "patch", "clusterkopfpeerings.kopf.dev"),
        (False, "create", "executions"),
        (False, "list", "secrets"),
        (False, "create", "pods"),
    ):
        answer = plane.kubectl(
            "auth", "can-i", verb, resource, "-A", f"--as=system:serviceaccount:{NAMESPACE}:{RELEASE}", check=False
        ).stdout.strip()
        assert answer == ("yes" if allowed else "no"), f"{verb} {resource}: {answer}"


def test_the_installed_operator_runs_the_lifecycle_driven_by_the_kubectl_plugin_and_prometheus_sees_it(
    chart: Installed, prometheus: PrometheusServer, real_flink: RealFlinkCluster, job_jar_url: tuple[str, str]
) -> None:
    plane, operator = chart.plane, chart.operator
    mark = operator.mark()
    namespace = f"helm-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", namespace)
    e2e = EndToEnd(plane, real_flink, operator, namespace, job_jar_url)
    admin = ["--kubeconfig", str(plane.admin_kubeconfig)]

    e2e.apply(*e2e.quickstart())
    e2e.kubectl("wait", "--for=condition=Ready", f"fex/{EXECUTION}", f"--timeout={TIMEOUT}s", timeout=TIMEOUT + 30)
    first = e2e.jsonpath(f"fex/{EXECUTION}", "{.status.flinkJobId}")
    assert e2e.flink_jobs()[first] == "RUNNING"

    # kubectl's flags after the command, before it, and in their `=` form.
    out = kubectl_plugin(plane, "stop", EXECUTION, "--wait", "-n", namespace, *admin)
    assert "Stopped" in out, out
    kubectl_plugin(plane, "-n", namespace, *admin, "resume", EXECUTION, "--wait")
    kubectl_plugin(
        plane, "restart", EXECUTION, "--wait", f"--namespace={namespace}", f"--kubeconfig={plane.admin_kubeconfig}"
    )
    contexts = yaml.safe_load(plane.admin_kubeconfig.read_text())["contexts"]
    out = kubectl_plugin(
        plane, "savepoint", EXECUTION, "--wait", "-n", namespace, *admin, "--context", contexts[0]["name"]
    )
    body = e2e.get(f"fex/{EXECUTION}")
    assert body is not None
    assert history(body) == ["START", "STOP", "START", "RESTART", "SAVEPOINT"]
    assert body["status"]["lastSavepoint"]["path"] in out
    assert body["status"]["phase"] == "Running"
    table = kubectl_plugin(plane, "history", EXECUTION, "-n", namespace, *admin)
    assert [line.split()[1] for line in table.splitlines()[1:]] == history(body), table

    # What Prometheus scraped is what happened: the phase of this Execution, and the history actions.
    expected = {"START": 2.0, "STOP": 1.0, "RESTART": 1.0, "SAVEPOINT": 1.0}

    def counted() -> dict[str, float] | None:
        samples = prometheus.query("sum by (action) (flink_manager_history_actions_total)")
        actions = {s["metric"]["action"]: float(s["value"][1]) for s in samples}
        return actions if actions == expected else None

    wait_for_sync(counted, timeout=30, interval=0.5, what=f"Prometheus to count {expected}")
    phase = prometheus.query(f'flink_manager_execution_phase{{namespace="{namespace}", name="{EXECUTION}"}} == 1')
    assert [(s["metric"]["phase"], s["metric"]["job"]) for s in phase] == [("Running", "flink-manager")]
    assert [float(s["value"][1]) for s in prometheus.query("flink_manager_active")] == [1.0]
    running = prometheus.query(f'sum(flink_manager_execution_phase{{namespace="{namespace}", phase="Running"}})')
    assert [float(s["value"][1]) for s in running] == [1.0]
    latency = prometheus.query(
        'sum by (cluster, call) (flink_manager_flink_request_seconds_count{namespace="'
        f'{namespace}", call="jobs_overview"}})'
    )
    assert [s["metric"]["cluster"] for s in latency] == ["default"]

    assert not FORBIDDEN.search(operator.log_since(mark)), "the chart's RBAC refused the operator a call"


def test_prometheus_evaluates_every_alert_and_dashboard_query_on_the_scraped_metrics(
    chart: Installed, prometheus: PrometheusServer
) -> None:
    for _, expr in dashboard_queries() + [(rule["alert"], rule["expr"]) for rule in alert_rules()]:
        prometheus.query(expr)  # raises with Prometheus' error when it cannot evaluate it

    def evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        return (
            rules
            if rules and all(r.get("lastEvaluation", "").startswith("2") and r["health"] == "ok" for r in rules)
            else None
        )

    rules = wait_for_sync(evaluated, timeout=30, interval=0.5, what="Prometheus to evaluate every alert")
    assert sorted(r["name"] for r in rules) == sorted(rule["alert"] for rule in alert_rules())
    # Nothing is wrong: the operator works (so FlinkManagerDown and FlinkManagerNoLeader are quiet), and no
    # Execution failed.
    firing = [a for a in prometheus.api("alerts")["alerts"] if a["state"] == "firing"]
    assert firing == []
