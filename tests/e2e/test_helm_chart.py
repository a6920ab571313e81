"""The Helm chart (deploy/helm/flink-manager), rendered by a real helm (tests/infra/helm/build.sh) and checked
against what it must equal and against the real kube-apiserver of the e2e tier:

- its crds/ and files/ are the project's crds/ and deploy/monitoring/ (tools/gen_helm_chart.py --check);
- `helm lint --strict` for the default values and each documented profile (ci/*-values.yaml);
- each profile's RBAC grants the operator exactly what the kustomize install of the same profile grants
  (deploy/rbac.yaml, deploy/components/namespaced), and its workload runs the operator as deploy/ does;
- values.schema.json refuses bad values, naming the field;
- each profile, applied with `kubectl apply --dry-run=server`, is accepted by the real kube-apiserver.

The default profile installed for real and driven through a lifecycle: test_helm_install.py.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
from typing import Any

import pytest
import yaml

from flink_manager.settings import Settings
from tests.infra.helm import helm_binary
from tests.infra.kube.controlplane import ControlPlane
from tests.unit.test_manifests import INSTALLS, effective_rights, find

REPO = pathlib.Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "flink-manager"
RELEASE = NAMESPACE = "flink-manager"  # so that the ServiceAccount is the one deploy/ binds (and the e2e identity)
PROFILES = {
    "default": (),
    **{path.name.removesuffix("-values.yaml"): (path,) for path in sorted((CHART / "ci").glob("*-values.yaml"))},
}
KUSTOMIZE = {"default": "base", "ha": "ha", "namespaced": "namespaced", "monitoring": "base"}
PROMETHEUS_OPERATOR_CRDS = pathlib.Path(__file__).parent / "monitoring" / "prometheus-operator-crds.yaml"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(helm_binary()), *args], capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def render(profile: str, *extra: str) -> list[dict[str, Any]]:
    values = [arg for path in PROFILES[profile] for arg in ("-f", str(path))]
    out = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *values, *extra).stdout
    return [document for document in yaml.safe_load_all(out) if document]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {profile: render(profile) for profile in PROFILES}


@pytest.fixture(scope="module")
def kustomized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("kustomize")
    return {install.name: install.build(workdir) for install in INSTALLS if install.name in KUSTOMIZE.values()}


def test_the_documented_profiles_are_tested() -> None:
    assert set(PROFILES) == {"default", "namespaced", "ha", "monitoring"}


def test_the_chart_crds_are_the_project_crds() -> None:
    def documents(paths: list[pathlib.Path]) -> list[Any]:
        return sorted(
            (d for p in paths for d in yaml.safe_load_all(p.read_text()) if d), key=lambda d: d["metadata"]["name"]
        )

    project = sorted((REPO / "crds").glob("*.yaml")) + [REPO / "deploy" / "kopf-peering-crds.yaml"]
    assert documents(sorted((CHART / "crds").glob("*.yaml"))) == documents(project)


@pytest.mark.parametrize("profile", PROFILES)
def test_helm_lint_passes(profile: str) -> None:
    values = [arg for path in PROFILES[profile] for arg in ("-f", str(path))]
    result = helm("lint", "--strict", str(CHART), *values)
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("profile", PROFILES)
def test_rbac_equals_the_kustomize_install_of_the_same_profile(
    profile: str, rendered: dict[str, list[dict[str, Any]]], kustomized: dict[str, list[dict[str, Any]]]
) -> None:
    chart = effective_rights(rendered[profile])
    kustomize = effective_rights(kustomized[KUSTOMIZE[profile]])
    if profile == "namespaced":
        # deploy/components/namespaced is written for the namespace `flink`; the profile watches two namespaces,
        # each granted what kustomize grants `flink`.
        namespaces = yaml.safe_load(PROFILES[profile][0].read_text())["watchNamespaces"]
        assert sorted(chart) == sorted(namespaces)
        assert all(chart[namespace] == kustomize["flink"] for namespace in namespaces)
    else:
        assert chart == kustomize
    secret_roles = [
        o
        for o in rendered[profile]
        if o["kind"] in ("Role", "ClusterRole") and any("secrets" in rule["resources"] for rule in o["rules"])
    ]
    assert secret_roles and all(o["metadata"]["name"].endswith("-secrets") for o in secret_roles), (
        "the Secrets right is a role of its own, so it can be bound per namespace or narrowed"
    )


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
    assert len(workloads) == 1, [o["kind"] for o in workloads]
    return workloads[0]["spec"]["template"]["spec"]


def _comparable(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod as it runs the operator: its container without POD_ID (the chart sets kopf's peering identity)."""
    container = dict(pod["containers"][0])
    container["env"] = [e for e in container["env"] if e["name"] != "POD_ID"]
    return {
        **{k: v for k, v in pod.items() if k not in ("containers", "topologySpreadConstraints")},
        "containers": [container],
    }


@pytest.mark.parametrize("profile", ["default", "ha"])
def test_the_operator_runs_as_the_kustomize_install_runs_it(
    profile: str, rendered: dict[str, list[dict[str, Any]]], kustomized: dict[str, list[dict[str, Any]]]
) -> None:
    chart, kustomize = _pod(rendered[profile]), _pod(kustomized[KUSTOMIZE[profile]])
    assert _comparable(chart) == _comparable(kustomize)
    assert ("topologySpreadConstraints" in chart) == ("topologySpreadConstraints" in kustomize)
    assert "POD_ID" in [e["name"] for e in chart["containers"][0]["env"]]


def test_the_namespaced_profile_watches_its_namespaces_with_a_peering_object_in_each(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["namespaced"]
    env = {e["name"]: e.get("value") for e in _pod(objects)["containers"][0]["env"]}
    assert env["FLINK_MANAGER_NAMESPACES"] == "flink,flink-batch"
    assert sorted(o["metadata"]["namespace"] for o in find(objects, "KopfPeering")) == ["flink", "flink-batch"]
    assert not find(objects, "ClusterRoleBinding") and not find(objects, "ClusterKopfPeering")


def test_the_ha_profile_runs_two_replicas_with_their_ordinal_as_priority(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["ha"]
    statefulset = find(objects, "StatefulSet")[0]
    assert statefulset["spec"]["replicas"] == 2
    env = statefulset["spec"]["template"]["spec"]["containers"][0]["env"]
    priority = next(e for e in env if e["name"] == "KOPF_RUN_PRIORITY")
    assert priority["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['apps.kubernetes.io/pod-index']"
    assert find(objects, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    assert not find(objects, "Deployment")


def test_the_monitoring_profile_renders_deploy_monitoring(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["monitoring"]
    rule = find(objects, "PrometheusRule")[0]
    assert rule["spec"] == yaml.safe_load((REPO / "deploy" / "monitoring" / "alerts.yaml").read_text())
    dashboard = find(objects, "ConfigMap", f"{RELEASE}-dashboard")[0]
    assert json.loads(dashboard["data"]["flink-manager.json"]) == json.loads(
        (REPO / "deploy" / "monitoring" / "dashboard.json").read_text()
    )
    monitor = find(objects, "ServiceMonitor")[0]
    service = find(objects, "Service", f"{RELEASE}-metrics")[0]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [p["name"] for p in service["spec"]["ports"]]
    assert all(e["honorLabels"] for e in monitor["spec"]["endpoints"]), "the per-Execution `namespace` label must win"
    assert not find(rendered["default"], "ServiceMonitor") and not find(rendered["default"], "PrometheusRule")


def test_private_artifact_hosts_reach_the_operator_as_its_setting() -> None:
    result = helm(
        "template", RELEASE, str(CHART), "--set", "settings.allowPrivateArtifactHosts={.svc.cluster.local,10.0.0.0/8}"
    )
    env = {
        e["name"]: e.get("value")
        for e in _pod([o for o in yaml.safe_load_all(result.stdout) if o])["containers"][0]["env"]
    }
    settings = Settings.from_env({k: v for k, v in env.items() if v is not None})
    assert settings.allow_private_artifact_hosts == (".svc.cluster.local", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("settings.workers=0", "at '/settings/workers': minimum: got 0, want 1"),
        ("image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of"),
        ("watchNamespaces[0]=Team_A", "at '/watchNamespaces/0': 'Team_A' does not match pattern"),
        ("highAvailability.replicas=1", "at '/highAvailability/replicas': minimum: got 1, want 2"),
        ("serviceMonitor.interval=often", "at '/serviceMonitor/interval'"),
        ("replicas=2", "additional properties 'replicas' not allowed"),
        ("metrics.port=8080", "metrics.port: 8080 is kopf's liveness endpoint"),
        ("settings.allowPrivateArtifactHosts[0]=a\\,b", "at '/settings/allowPrivateArtifactHosts/0'"),
    ],
    ids=["workers", "pullPolicy", "namespace", "ha replicas", "interval", "unknown key", "liveness port", "host list"],
)
def test_bad_values_are_refused_with_the_field_named(setting: str, message: str) -> None:
    result = helm("template", RELEASE, str(CHART), "--set", setting, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr


# -- the real kube-apiserver -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apiserver(installed: ControlPlane) -> ControlPlane:
    """The e2e control plane (the CRDs and the operator's namespace are there), with the namespaces of the namespaced
    profile and the Prometheus Operator's two CRDs the monitoring profile renders."""
    namespaces = yaml.safe_load((CHART / "ci" / "namespaced-values.yaml").read_text())["watchNamespaces"]
    for namespace in namespaces:
        installed.kubectl(
            "apply",
            "-f",
            "-",
            input=yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        )
    installed.kubectl("apply", "-f", str(PROMETHEUS_OPERATOR_CRDS))
    installed.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/servicemonitors.monitoring.coreos.com",
        "crd/prometheusrules.monitoring.coreos.com",
    )
    return installed


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_is_accepted_by_the_real_apiserver(
    profile: str, apiserver: ControlPlane, tmp_path: pathlib.Path
) -> None:
    manifest = tmp_path / f"{profile}.yaml"
    values = [arg for path in PROFILES[profile] for arg in ("-f", str(path))]
    manifest.write_text(
        helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--include-crds", *values).stdout
    )
    result = apiserver.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(manifest), check=False)
    assert result.returncode == 0, result.stderr
    created = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(created) == len([d for d in yaml.safe_load_all(manifest.read_text()) if d]), result.stdout
