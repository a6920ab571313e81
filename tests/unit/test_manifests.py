"""What a platform engineer installs and copies: deploy/ and examples/ (but examples/jobs/, the job's sources).

- every YAML file parses, and every kustomization names files that exist and builds (`kubectl kustomize` with
  the kubectl of tests/infra/kube/build.sh; the tests fail, never skip, when it is not built);
- every Flink Manager resource in the examples is accepted by the CRDs (through the embedded Kubernetes API of
  `flink-manager dev`) and has no field the schema does not know (which the API server would silently drop);
- the operator's pod meets DESIGN §8 (non-root, read-only root filesystem, no privileges) in every install;
- the RBAC grants exactly the calls the operator makes (OPERATOR_RIGHTS), cluster-wide or per namespace;
- the Argo CD health check (examples/gitops/health/health.lua) gives the expected health for each case of
  health_test.yaml and for statuses the operator's own decision functions produce, run by a Lua 5.1
  interpreter (lupa, as gopher-lua in Argo CD) with only the libraries Argo CD opens.
"""

from __future__ import annotations

import copy
import datetime
import functools
import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from flink_manager.settings import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
EXAMPLES = REPO / "examples"
CRDS = REPO / "crds"
GITOPS = EXAMPLES / "gitops"
HEALTH_LUA = GITOPS / "health" / "health.lua"
GROUP = "flinkmanager.io"
KINDS = ("FlinkCluster", "Artifact", "JobSpec", "Execution")
OPERATOR_SA = ("flink-manager", "flink-manager")  # (namespace, name) of the operator's ServiceAccount
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


# ---------------------------------------------------------------- files and kustomize


def manifest_files() -> list[Path]:
    """Every YAML file under deploy/ and examples/, but examples/jobs/, the Helm chart's templates and values, and
    the Prometheus rules of deploy/monitoring/ (tests/e2e/test_helm_chart.py and test_monitoring.py test those)."""
    files = [p for root in (DEPLOY, EXAMPLES) for p in root.rglob("*") if p.suffix in (".yaml", ".yml")]
    skipped = (EXAMPLES / "jobs", DEPLOY / "helm", DEPLOY / "monitoring")
    return sorted(p for p in files if not any(folder in p.parents for folder in skipped))


def kustomization_dirs() -> list[Path]:
    """Every folder under deploy/, examples/ and crds/ holding a kustomization."""
    dirs = {p.parent for name in KUSTOMIZATION_NAMES for root in (DEPLOY, EXAMPLES, CRDS) for p in root.rglob(name)}
    return sorted(d for d in dirs if EXAMPLES / "jobs" not in d.parents)


def kustomization_of(directory: Path) -> dict[str, Any]:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return yaml.safe_load((directory / name).read_text())
    raise FileNotFoundError(f"no kustomization in {directory}")


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


@functools.lru_cache(maxsize=1)
def _kubectl_or_error() -> tuple[str | None, str]:
    from tests.infra.kube.controlplane import KubeNotBuilt, binaries_dir

    try:
        return str(binaries_dir() / "kubectl"), ""
    except KubeNotBuilt as exc:
        return None, str(exc)


def kubectl() -> str:
    """The kubectl built by tests/infra/kube/build.sh (the test fails, with how to build it, when it is absent)."""
    path, error = _kubectl_or_error()
    if path is None:
        pytest.fail(f"kubectl kustomize is needed: {error}", pytrace=False)
    return path


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize directory` renders."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@dataclass(frozen=True)
class Install:
    """One way to install the operator: deploy/ alone, or with components, or an example overlay."""

    name: str
    resources: tuple[str, ...]  # repository paths
    components: tuple[str, ...] = ()

    def build(self, workdir: Path) -> list[dict[str, Any]]:
        if not self.components and len(self.resources) == 1:
            return kustomize(REPO / self.resources[0])
        folder = workdir / self.name.replace("+", "-")
        folder.mkdir(parents=True, exist_ok=True)
        # kustomize accepts only relative paths, and a composition outside deploy/ (deploy/ contains components/).
        document = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(REPO / r, folder) for r in self.resources],
            "components": [os.path.relpath(REPO / c, folder) for c in self.components],
        }
        (folder / "kustomization.yaml").write_text(yaml.safe_dump(document))
        return kustomize(folder)


INSTALLS = (
    Install("base", ("deploy",)),
    Install("ha", ("deploy",), ("deploy/components/ha",)),
    Install("namespaced", ("deploy",), ("deploy/components/namespaced",)),
    Install("ha+namespaced", ("deploy",), ("deploy/components/ha", "deploy/components/namespaced")),
    Install("kind", ("examples/kind/operator",)),
)
INSTALL_IDS = [i.name for i in INSTALLS]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each install rendered once for the module."""
    workdir = tmp_path_factory.mktemp("installs")
    return {install.name: install.build(workdir) for install in INSTALLS}


def find(objects: Iterable[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]


@pytest.mark.parametrize("path", manifest_files(), ids=rel)
def test_yaml_parses_into_objects(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert documents, f"{rel(path)} is empty"
    for document in documents:
        assert isinstance(document, dict), f"{rel(path)}: a document is not a mapping"
        if path.name == "health_test.yaml":  # Argo CD's test table, not a Kubernetes object
            assert document.get("tests"), f"{rel(path)} lists no tests"
            continue
        assert document.get("apiVersion") and document.get("kind"), f"{rel(path)}: a document has no apiVersion/kind"


def test_the_folders_hold_what_the_brief_promises() -> None:
    for path in (
        "deploy/kustomization.yaml",
        "deploy/namespace.yaml",
        "deploy/serviceaccount.yaml",
        "deploy/rbac.yaml",
        "deploy/deployment.yaml",
        "deploy/service.yaml",
        "deploy/kopf-peering-crds.yaml",
        "deploy/Dockerfile",
        "examples/quickstart/00-flinkcluster.yaml",
        "examples/quickstart/10-artifact.yaml",
        "examples/quickstart/20-jobspec.yaml",
        "examples/quickstart/30-execution.yaml",
        "examples/gitops/argocd/application.yaml",
        "examples/gitops/argocd/argocd-cm-patch.yaml",
        "examples/kind/up.sh",
        ".dockerignore",
    ):
        assert (REPO / path).is_file(), f"{path} is missing"


def _referenced_files(directory: Path, document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, path) for every file or folder a kustomization refers to (inline patches excluded)."""
    for key in ("resources", "components", "crds", "bases"):
        for entry in document.get(key) or ():
            if "://" not in entry and not entry.startswith("github.com/"):
                yield key, entry
    for patch in document.get("patches") or ():
        if isinstance(patch, dict) and patch.get("path"):
            yield "patches", patch["path"]
    for entry in document.get("patchesStrategicMerge") or ():
        if isinstance(entry, str) and "\n" not in entry:
            yield "patchesStrategicMerge", entry
    for generator in (document.get("configMapGenerator") or []) + (document.get("secretGenerator") or []):
        for entry in (generator.get("files") or []) + (generator.get("envs") or []):
            yield "generator", entry.split("=", 1)[-1]


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=rel)
def test_kustomization_refers_to_files_that_exist(directory: Path) -> None:
    document = kustomization_of(directory)
    missing = [
        f"{key}: {entry}" for key, entry in _referenced_files(directory, document) if not (directory / entry).exists()
    ]
    assert missing == [], f"{rel(directory)} refers to missing files"
    if document.get("kind") == "Component":
        return
    listed = {(directory / entry).resolve() for key, entry in _referenced_files(directory, document)}
    if directory in (EXAMPLES / "quickstart", CRDS):  # every manifest here is meant to be applied
        manifests = {p.resolve() for p in directory.glob("*.yaml") if p.name not in KUSTOMIZATION_NAMES}
        assert manifests <= listed, f"{rel(directory)}: not in the kustomization: {sorted(manifests - listed)}"


@pytest.mark.parametrize(
    "directory", [d for d in kustomization_dirs() if kustomization_of(d).get("kind") != "Component"], ids=rel
)
def test_kustomization_builds(directory: Path) -> None:
    objects = kustomize(directory)
    assert objects, f"{rel(directory)} renders nothing"


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_install_builds_with_one_operator_workload(install: Install, built: dict[str, list[dict[str, Any]]]) -> None:
    objects = built[install.name]
    workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]
    assert [(w["kind"], w["metadata"]["name"]) for w in workloads] == [
        ("StatefulSet" if "ha" in install.name.split("+") else "Deployment", "flink-manager")
    ]
    crds = {o["metadata"]["name"] for o in find(objects, "CustomResourceDefinition")}
    assert crds == {
        "flinkclusters.flinkmanager.io",
        "artifacts.flinkmanager.io",
        "jobspecs.flinkmanager.io",
        "executions.flinkmanager.io",
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    }
    assert find(objects, "ServiceAccount", "flink-manager")[0]["metadata"]["namespace"] == "flink-manager"


def test_crds_folder_builds_to_the_crd_files() -> None:
    """crds/Kustomization (what deploy/ includes) lists every CRD file; `kubectl apply -f crds/` ignores it."""
    names = {o["metadata"]["name"] for o in kustomize(CRDS)}
    on_disk = {yaml.safe_load(p.read_text())["metadata"]["name"] for p in CRDS.glob("*.yaml")}
    assert names == on_disk
    assert not (CRDS / "kustomization.yaml").exists(), "kubectl apply -f crds/ would read it as a manifest"


# ---------------------------------------------------------------- the operator's pod (DESIGN §8)


def operator_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    workload = next(
        o for o in objects if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == "flink-manager"
    )
    return workload["spec"]["template"]["spec"]


def operator_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = operator_pod(objects)["containers"]
    assert [c["name"] for c in containers] == ["operator"]
    return containers[0]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or ()}


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_operator_runs_as_non_root_on_a_read_only_root_filesystem(
    install: Install, built: dict[str, list[dict[str, Any]]]
) -> None:
    pod = operator_pod(built[install.name])
    container = operator_container(built[install.name])
    assert pod["serviceAccountName"] == "flink-manager"
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in security or security["privileged"] is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert not any("hostPath" in volume for volume in pod.get("volumes") or ())
    image = container["image"]
    assert re.fullmatch(r"ghcr\.io/flink-manager/flink-manager:\d+\.\d+\.\d+", image), f"unpinned image {image}"
    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"} and set(resources["limits"]) == {"cpu", "memory"}


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_writable_paths_are_empty_dirs(install: Install, built: dict[str, list[dict[str, Any]]]) -> None:
    """With a read-only root filesystem, /tmp and the artifact cache must be volumes, emptyDirs with a size limit."""
    pod = operator_pod(built[install.name])
    container = operator_container(built[install.name])
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = {
        m["mountPath"]: volumes[m["volumeName"] if "volumeName" in m else m["name"]]
        for m in container["volumeMounts"]
        if not m.get("readOnly")
    }
    cache_dir = env_of(container).get(f"{ENV_PREFIX}ARTIFACT_CACHE_DIR") or str(Settings().artifact_cache_dir)
    for path in ("/tmp", cache_dir):
        mount = next((m for m in writable if path == m or path.startswith(m.rstrip("/") + "/")), None)
        assert mount is not None, f"{path} is not on a writable volume"
        assert writable[mount].get("emptyDir", {}).get("sizeLimit"), f"{mount} is not an emptyDir with a sizeLimit"


def _liveness(container: dict[str, Any]) -> tuple[int, str]:
    args = container.get("args") or []
    urls = [a.split("=", 1)[1] for a in args if a.startswith("--liveness=")]
    assert len(urls) == 1, f"one --liveness=URL argument expected in {args}"
    url = urlparse(urls[0])
    return int(url.port or 80), url.path


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_probes_ask_kopf_liveness_endpoint(install: Install, built: dict[str, list[dict[str, Any]]]) -> None:
    container = operator_container(built[install.name])
    port, path = _liveness(container)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] == path == "/healthz"
        assert ports.get(http["port"], http["port"]) == port, f"{probe} does not ask the --liveness port"


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_operator_settings_are_known_and_valid(install: Install, built: dict[str, list[dict[str, Any]]]) -> None:
    """Every FLINK_MANAGER_* variable names a setting and parses (a typo would be ignored at run time)."""
    env = env_of(operator_container(built[install.name]))
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    ours = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    assert set(ours) <= known, f"unknown settings: {sorted(set(ours) - known)}"
    settings = Settings.from_env({k: v for k, v in ours.items() if isinstance(v, str)})
    assert settings.metrics_port == 9090
    assert settings.allow_insecure_artifacts is (install.name == "kind")


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_metrics_service_reaches_the_metrics_port(install: Install, built: dict[str, list[dict[str, Any]]]) -> None:
    objects = built[install.name]
    service = find(objects, "Service", "flink-manager-metrics")[0]
    pod_labels = next(o for o in objects if o["kind"] in ("Deployment", "StatefulSet"))["spec"]["template"]["metadata"][
        "labels"
    ]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container = operator_container(objects)
    target = service["spec"]["ports"][0]["targetPort"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}.get(target, target)
    assert port == Settings.from_env({k: v for k, v in env_of(container).items() if isinstance(v, str)}).metrics_port


def test_ha_runs_two_replicas_with_distinct_peering_priorities(built: dict[str, list[dict[str, Any]]]) -> None:
    """kopf pauses every operator when peers share a priority: each replica takes its ordinal as priority."""
    objects = built["ha"]
    statefulset = find(objects, "StatefulSet", "flink-manager")[0]
    assert statefulset["spec"]["replicas"] == 2
    container = operator_container(objects)
    assert container["command"] == ["kopf"]
    assert container["args"][:2] == ["run", "--module=flink_manager.controller"]
    assert "--standalone" not in container["args"]
    priority = env_of(container)["KOPF_RUN_PRIORITY"]
    assert priority == {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}
    budget = find(objects, "PodDisruptionBudget", "flink-manager")[0]
    assert budget["spec"]["minAvailable"] == 1
    assert (
        budget["spec"]["selector"]["matchLabels"].items()
        <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    )


def _peering_name(container: dict[str, Any]) -> str:
    names = [a.split("=", 1)[1] for a in container.get("args") or () if a.startswith("--peering=")]
    assert len(names) == 1, "the operator must name its peering (--peering=NAME)"
    return names[0]


def _watched_namespaces(container: dict[str, Any]) -> list[str]:
    flags = [a.split("=", 1)[1] for a in container.get("args") or () if a.startswith("--namespace=")]
    value = env_of(container).get(f"{ENV_PREFIX}NAMESPACES") or ""
    from_env = [n.strip() for n in value.split(",") if n.strip()]
    if flags:
        assert sorted(flags) == sorted(from_env), "--namespace flags and FLINK_MANAGER_NAMESPACES disagree"
    return from_env


@pytest.mark.parametrize("install", INSTALLS, ids=INSTALL_IDS)
def test_the_peering_object_exists_where_the_operator_looks(
    install: Install, built: dict[str, list[dict[str, Any]]]
) -> None:
    """kopf does not create peering objects; without one, replicas cannot see each other."""
    objects = built[install.name]
    container = operator_container(objects)
    name = _peering_name(container)
    namespaces = _watched_namespaces(container)
    if namespaces:
        peerings = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in find(objects, "KopfPeering")}
        assert peerings == {(ns, name) for ns in namespaces}
        assert find(objects, "ClusterKopfPeering") == []
    else:
        assert [o["metadata"]["name"] for o in find(objects, "ClusterKopfPeering")] == [name]


# ---------------------------------------------------------------- RBAC

STATUS = ("flinkclusters/status", "artifacts/status", "jobspecs/status", "executions/status")
WATCHED = ("flinkclusters", "artifacts", "jobspecs", "executions")

# Every call the operator makes, and nothing more: (API group, resource) → verbs.
OPERATOR_RIGHTS: dict[tuple[str, str], frozenset[str]] = {
    **{(GROUP, r): frozenset({"get", "list", "watch", "patch"}) for r in WATCHED},
    **{(GROUP, r): frozenset({"get", "patch"}) for r in STATUS},
    ("", "events"): frozenset({"get", "create", "patch"}),
    ("", "secrets"): frozenset({"get"}),
    ("apiextensions.k8s.io", "customresourcedefinitions"): frozenset({"list", "watch"}),
    ("kopf.dev", "clusterkopfpeerings"): frozenset({"get", "list", "watch", "patch"}),
    ("kopf.dev", "kopfpeerings"): frozenset({"get", "list", "watch", "patch"}),
    ("", "namespaces"): frozenset({"list", "watch"}),
}
# Watching some namespaces without any cluster-wide right: what each watched namespace grants.
NAMESPACE_RIGHTS = {
    key: verbs
    for key, verbs in OPERATOR_RIGHTS.items()
    if key[1] not in ("customresourcedefinitions", "clusterkopfpeerings", "namespaces")
}


def effective_rights(objects: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str], frozenset[str]]]:
    """What the operator's ServiceAccount may do: scope ("*" for cluster-wide, else a namespace) → rights."""
    roles = {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
        for o in objects
        if o["kind"] in ("Role", "ClusterRole")
    }
    granted: dict[str, dict[tuple[str, str], set[str]]] = {}
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        subjects = {
            (s.get("namespace", ""), s["name"]) for s in binding.get("subjects") or () if s["kind"] == "ServiceAccount"
        }
        if OPERATOR_SA not in subjects:
            continue
        scope = "*" if binding["kind"] == "ClusterRoleBinding" else binding["metadata"]["namespace"]
        ref = binding["roleRef"]
        role_namespace = binding["metadata"].get("namespace", "") if ref["kind"] == "Role" else ""
        role = roles.get((ref["kind"], role_namespace, ref["name"]))
        assert role is not None, (
            f"{binding['kind']} {binding['metadata']['name']} binds a missing {ref['kind']} {ref['name']}"
        )
        for rule in role.get("rules") or ():
            assert not rule.get("nonResourceURLs"), f"{ref['name']} grants non-resource URLs"
            assert not rule.get("resourceNames"), f"{ref['name']} narrows by name: update OPERATOR_RIGHTS' docs"
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    assert "*" not in (group, resource, *rule["verbs"]), f"{ref['name']} grants a wildcard"
                    granted.setdefault(scope, {}).setdefault((group, resource), set()).update(rule["verbs"])
    return {scope: {key: frozenset(verbs) for key, verbs in rights.items()} for scope, rights in granted.items()}


def _table(rights: dict[tuple[str, str], frozenset[str]]) -> list[str]:
    return sorted(
        f"{group or 'core'}/{resource}: {','.join(sorted(verbs))}" for (group, resource), verbs in rights.items()
    )


@pytest.mark.parametrize("install", [i for i in INSTALLS if "namespaced" not in i.name], ids=lambda i: i.name)
def test_cluster_wide_rbac_grants_exactly_the_operators_calls(
    install: Install, built: dict[str, list[dict[str, Any]]]
) -> None:
    rights = effective_rights(built[install.name])
    assert set(rights) == {"*"}, f"unexpected namespaced grants: {sorted(set(rights) - {'*'})}"
    assert _table(rights["*"]) == _table(OPERATOR_RIGHTS)


@pytest.mark.parametrize("install", [i for i in INSTALLS if "namespaced" in i.name], ids=lambda i: i.name)
def test_namespaced_rbac_grants_the_operators_calls_in_each_watched_namespace_only(
    install: Install, built: dict[str, list[dict[str, Any]]]
) -> None:
    objects = built[install.name]
    rights = effective_rights(objects)
    namespaces = _watched_namespaces(operator_container(objects))
    assert namespaces, "a namespaced install must name its namespaces"
    assert sorted(rights) == sorted(namespaces), "no cluster-wide binding; one set of Roles per watched namespace"
    for namespace in namespaces:
        assert _table(rights[namespace]) == _table(NAMESPACE_RIGHTS), namespace


def test_the_secrets_right_is_its_own_role_so_it_can_be_narrowed() -> None:
    """Secrets are read only by name: a separate role, so that it can be bound per namespace or by resourceNames."""
    for path in (DEPLOY / "rbac.yaml", DEPLOY / "components" / "namespaced" / "watched-namespace.yaml"):
        roles = [d for d in yaml.safe_load_all(path.read_text()) if d["kind"] in ("Role", "ClusterRole")]
        with_secrets = [r for r in roles if any("secrets" in rule["resources"] for rule in r["rules"])]
        assert len(with_secrets) == 1 and len(with_secrets[0]["rules"]) == 1, rel(path)
        assert with_secrets[0]["rules"][0]["verbs"] == ["get"], rel(path)
    assert "resourceNames" in (DEPLOY / "components" / "namespaced" / "watched-namespace.yaml").read_text()


def test_user_roles_aggregate_into_the_built_in_roles(built: dict[str, list[dict[str, Any]]]) -> None:
    roles = {o["metadata"]["name"]: o for o in find(built["base"], "ClusterRole")}
    edit, view = roles["flink-manager-edit"], roles["flink-manager-view"]
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert set(view["rules"][0]["verbs"]) == {"get", "list", "watch"}
    assert set(view["rules"][0]["resources"]) == set(WATCHED) == set(edit["rules"][0]["resources"])


# ---------------------------------------------------------------- the image


def test_dockerfile_takes_only_the_base_and_runs_a_virtualenv_as_user_10001() -> None:
    """Both stages start from the one build argument; only the virtualenv reaches the final image."""
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    assert [line for line in lines if line.startswith("ARG ")] == ["ARG BASE=python:3.11-slim-bookworm"]
    assert [line for line in lines if line.startswith("FROM ")] == ["FROM ${BASE} AS build", "FROM ${BASE}"]
    final = lines[lines.index("FROM ${BASE}") :]
    assert [line for line in final if line.startswith("COPY ")] == [
        "COPY --from=build /opt/flink-manager /opt/flink-manager"
    ]
    assert "USER 10001:10001" in final
    assert 'ENTRYPOINT ["flink-manager"]' in final and 'CMD ["run"]' in final
    assert not any(line.startswith(("ADD ", "COPY . ")) for line in lines), "copy only what the build needs"


def test_dockerignore_lets_through_exactly_what_the_dockerfile_copies() -> None:
    copied = set()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied.update(p.rstrip("/") for p in shlex.split(line)[1:-1])
    allowed = {
        line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    assert copied == allowed
    for path in copied:
        assert (REPO / path).exists(), path


# ---------------------------------------------------------------- examples against the CRDs


@functools.cache
def compiled_schema(kind: str) -> Any:
    from flink_manager.schema.compiled import CompiledSchema

    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
            return CompiledSchema(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    raise KeyError(kind)


def flink_objects(documents: Iterable[Any]) -> list[dict[str, Any]]:
    return [d for d in documents if isinstance(d, dict) and d.get("apiVersion", "").startswith(f"{GROUP}/")]


def example_sources() -> list[tuple[str, list[dict[str, Any]]]]:
    """(id, objects): each example file, and each example kustomization as rendered."""
    sources = []
    for path in manifest_files():
        if EXAMPLES not in path.parents or path.name in KUSTOMIZATION_NAMES:
            continue
        objects = flink_objects(yaml.safe_load_all(path.read_text()))
        if objects and "overlays" not in path.parts:  # overlay patch files are partial on purpose
            sources.append((rel(path), objects))
    return sources


RENDERED_EXAMPLES = ("examples/quickstart", "examples/gitops/overlays/prod")


@pytest.fixture(scope="module")
def embedded_api() -> Any:
    from flink_manager_dev.kubeapi import EmbeddedKubernetes

    return EmbeddedKubernetes(crds=[CRDS])


def _create(api: Any, obj: dict[str, Any]) -> dict[str, Any]:
    """Create the object (in its namespace, created if needed) under a fresh name, as `kubectl create` would."""
    from flink_manager_dev.kubeapi.errors import AlreadyExists

    body = copy.deepcopy(obj)
    body.pop("status", None)
    metadata = body["metadata"]
    for key in ("generation", "deletionTimestamp", "finalizers", "resourceVersion", "uid"):
        metadata.pop(key, None)
    namespace = metadata.setdefault("namespace", "default")
    try:
        api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    except AlreadyExists:
        pass
    api._created = getattr(api, "_created", 0) + 1
    metadata["name"] = f"{metadata['name']}-{api._created}"
    return api.create(body)


def _assert_valid(obj: dict[str, Any], where: str, api: Any) -> None:
    body = copy.deepcopy(obj)
    schema = compiled_schema(body["kind"])
    unknown = schema.prune(body)
    assert unknown == [], (
        f"{where}: {body['kind']} {body['metadata']['name']} has fields the CRD does not know "
        f"(the API server would drop them): {unknown}"
    )
    schema.default(body)
    errors = [str(e) for e in schema.validate(body)]
    assert errors == [], f"{where}: {body['kind']} {body['metadata']['name']} is invalid: {errors}"
    created = _create(api, obj)
    assert created["spec"], where


@pytest.mark.parametrize("source", example_sources(), ids=lambda s: s[0] if isinstance(s, tuple) else s)
def test_example_file_is_accepted_by_the_crds(source: tuple[str, list[dict[str, Any]]], embedded_api: Any) -> None:
    where, objects = source
    for obj in objects:
        _assert_valid(obj, where, embedded_api)


@pytest.mark.parametrize("directory", RENDERED_EXAMPLES)
def test_rendered_example_is_accepted_by_the_crds(directory: str, embedded_api: Any) -> None:
    objects = flink_objects(kustomize(REPO / directory))
    assert sorted(o["kind"] for o in objects) == sorted(KINDS)
    for obj in objects:
        _assert_valid(obj, directory, embedded_api)


def test_the_validation_above_rejects_what_the_api_server_rejects(embedded_api: Any) -> None:
    """The same checks refuse a bad value, an unknown field, and a manifest the API server refuses."""
    from flink_manager_dev.kubeapi.errors import Invalid

    job_spec = yaml.safe_load((EXAMPLES / "quickstart" / "20-jobspec.yaml").read_text())
    bad_value = copy.deepcopy(job_spec)
    bad_value["spec"]["parallelism"] = 0
    with pytest.raises(AssertionError, match="parallelism"):
        _assert_valid(bad_value, "test", embedded_api)
    with pytest.raises(Invalid, match="parallelism"):
        _create(embedded_api, bad_value)
    unknown_field = copy.deepcopy(job_spec)
    unknown_field["spec"]["paralelism"] = 2
    with pytest.raises(AssertionError, match=r"spec\.paralelism"):
        _assert_valid(unknown_field, "test", embedded_api)


def test_quickstart_placeholders_are_the_ones_its_readme_names() -> None:
    """`flink-manager dev` replaces exactly these values (examples/quickstart/README.md)."""
    artifact = yaml.safe_load((EXAMPLES / "quickstart" / "10-artifact.yaml").read_text())
    readme = (EXAMPLES / "quickstart" / "README.md").read_text()
    assert artifact["spec"]["url"] == "http://127.0.0.1:8000/flink-manager-example-job.jar"
    assert artifact["spec"]["sha256"] == "0" * 64
    assert f"`{artifact['spec']['url']}`" in readme and "`spec.url`" in readme and "`spec.sha256`" in readme
    assert "`00-flinkcluster.yaml`" in readme
    cluster = yaml.safe_load((EXAMPLES / "quickstart" / "00-flinkcluster.yaml").read_text())
    assert (cluster["kind"], cluster["metadata"]["name"]) == ("FlinkCluster", "default")
    job_spec = yaml.safe_load((EXAMPLES / "quickstart" / "20-jobspec.yaml").read_text())["spec"]
    assert job_spec["entryClass"] in artifact["spec"]["entryClasses"]
    assert (job_spec["parallelism"], job_spec["programArgs"], job_spec["upgradeMode"]) == (
        1,
        ["--rate", "10"],
        "savepoint",
    )
    execution = yaml.safe_load((EXAMPLES / "quickstart" / "30-execution.yaml").read_text())
    assert execution["spec"]["restartPolicy"]["type"] == "OnFailure"


def test_gitops_overlay_annotates_who_requested_and_orders_the_sync() -> None:
    objects = flink_objects(kustomize(GITOPS / "overlays" / "prod"))
    waves = {}
    for obj in objects:
        annotations = obj["metadata"]["annotations"]
        assert annotations["flinkmanager.io/requested-by"], obj["kind"]
        assert obj["metadata"]["namespace"] == "flink-prod"
        waves[obj["kind"]] = int(annotations["argocd.argoproj.io/sync-wave"])
    assert waves["FlinkCluster"] == waves["Artifact"] < waves["JobSpec"] < waves["Execution"]
    job_spec = next(o for o in objects if o["kind"] == "JobSpec")
    assert job_spec["spec"]["parallelism"] > 1
    application = yaml.safe_load((GITOPS / "argocd" / "application.yaml").read_text())
    assert (REPO / application["spec"]["source"]["path"]).is_dir()


def test_kind_script_is_valid_bash() -> None:
    script = EXAMPLES / "kind" / "up.sh"
    assert os.access(script, os.X_OK), "examples/kind/up.sh must be executable"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- the Argo CD health check

ARGO_HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


@functools.lru_cache(maxsize=1)
def _lupa() -> Any:
    try:
        from lupa import lua51  # Argo CD runs health scripts in gopher-lua, a Lua 5.1
    except ImportError:
        pytest.fail(
            "the Lua interpreter for the health check tests is missing: "
            "pip install -e '.[test]' (the test extra installs lupa)",
            pytrace=False,
        )
    return lua51


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def argo_health(obj: dict[str, Any], script: str | None = None) -> dict[str, str]:
    """Run the health script as Argo CD does: `obj` global, only the base, table and package libraries."""
    runtime = _lupa().LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False)
    lua_globals = runtime.globals()
    for library in ("string", "math", "io", "os", "debug", "coroutine"):
        lua_globals[library] = None
    lua_globals.obj = _to_lua(runtime, yaml.safe_load(yaml.safe_dump(obj, default_flow_style=False)))
    result = runtime.execute(script if script is not None else HEALTH_LUA.read_text())
    assert result is not None, "the health script returned nothing"
    health = {"status": result["status"], "message": result["message"]}
    assert health["status"] in ARGO_HEALTH, f"not an Argo CD health status: {health}"
    return health


def health_cases() -> list[Any]:
    table = yaml.safe_load((GITOPS / "health" / "health_test.yaml").read_text())
    return [
        pytest.param(case["inputPath"], case["healthStatus"], id=Path(case["inputPath"]).stem)
        for case in table["tests"]
    ]


@pytest.mark.parametrize(("input_path", "expected"), health_cases())
def test_health_check_case(input_path: str, expected: dict[str, str]) -> None:
    obj = yaml.safe_load((GITOPS / "health" / input_path).read_text())
    assert argo_health(obj) == expected


def test_health_cases_cover_every_kind_and_verdict() -> None:
    table = yaml.safe_load((GITOPS / "health" / "health_test.yaml").read_text())["tests"]
    seen = {
        (yaml.safe_load((GITOPS / "health" / c["inputPath"]).read_text())["kind"], c["healthStatus"]["status"])
        for c in table
    }
    for kind in KINDS:
        assert (kind, "Healthy") in seen, kind
    for status in ("Healthy", "Progressing", "Degraded"):
        assert {kind for kind, s in seen if s == status}, status
    assert len(list((GITOPS / "health" / "testdata").glob("*.yaml"))) == len(table), "a testdata file has no case"


def test_health_testdata_statuses_are_what_the_crds_accept() -> None:
    for path in sorted((GITOPS / "health" / "testdata").glob("*.yaml")):
        body = yaml.safe_load(path.read_text())
        schema = compiled_schema(body["kind"])
        assert schema.prune(copy.deepcopy(body)) == [], rel(path)
        assert [str(e) for e in schema.validate(body)] == [], rel(path)


def test_health_check_fails_loudly_on_a_script_error() -> None:
    """The harness is not lenient: a script that uses a library Argo CD does not open raises."""
    with pytest.raises(Exception, match="string"):
        argo_health({"kind": "Execution"}, 'return {status = string.upper("healthy"), message = ""}')


def test_argocd_cm_patch_carries_the_health_check_for_each_kind() -> None:
    patch = yaml.safe_load((GITOPS / "argocd" / "argocd-cm-patch.yaml").read_text())
    assert (patch["kind"], patch["metadata"]["name"], patch["metadata"]["namespace"]) == (
        "ConfigMap",
        "argocd-cm",
        "argocd",
    )
    script = HEALTH_LUA.read_text()
    assert patch["data"] == {f"resource.customizations.health.{GROUP}_{kind}": script for kind in KINDS}, (
        "argocd-cm-patch.yaml differs from health/health.lua: copy the script into it, once per kind"
    )


NOW = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)


def _wire(kind: str, name: str, generation: int, spec: dict[str, Any], status: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "flink", "generation": generation},
        "spec": spec,
        "status": status.to_wire(),
    }


def test_health_of_flink_clusters_as_the_operator_reports_them() -> None:
    from flink_manager.api import FlinkClusterSpec, FlinkClusterStatus
    from flink_manager.reconcile.cluster import ClusterProbe, decide_cluster
    from flink_manager.reconcile.targets import View

    spec = {"restUrl": "http://flink-jobmanager.flink.svc:8081"}
    view = View("default", 1, FlinkClusterSpec.from_wire(spec), FlinkClusterStatus.from_wire({}))
    up = decide_cluster(
        view,
        ClusterProbe(flink_version="2.3.0", task_managers=1, slots_total=4, slots_available=4, jobs_running=0),
        NOW,
    )
    down = decide_cluster(view, ClusterProbe(error_reason="FlinkClusterUnreachable", error="connection refused"), NOW)
    assert argo_health(_wire("FlinkCluster", "default", 1, spec, up))["status"] == "Healthy"
    assert argo_health(_wire("FlinkCluster", "default", 1, spec, down)) == {
        "status": "Degraded",
        "message": "FlinkClusterUnreachable: connection refused",
    }
    assert argo_health(_wire("FlinkCluster", "default", 2, spec, up))["status"] == "Progressing"


def test_health_of_artifacts_as_the_operator_reports_them() -> None:
    from flink_manager.api import ArtifactSpec, ArtifactStatus
    from flink_manager.reconcile.artifact import FetchResult, decide_artifact
    from flink_manager.reconcile.targets import View

    spec = {"url": "https://repo.example.com/job.jar", "sha256": "a" * 64}
    view = View("job", 1, ArtifactSpec.from_wire(spec), ArtifactStatus.from_wire({}))
    verdicts = {
        "verified": decide_artifact(view, FetchResult(sha256="a" * 64, size_bytes=10), None, NOW),
        "mismatch": decide_artifact(
            view, FetchResult(failure_reason="DigestMismatch", failure="digest differs"), None, NOW
        ),
        "refused": decide_artifact(
            view,
            FetchResult(failure_reason="AuthenticationFailed", failure="refused the credentials of Secret 'repo'"),
            None,
            NOW,
        ),
        "retrying": decide_artifact(
            view, FetchResult(failure_reason="FetchFailed", failure="HTTP 503", retryable=True), None, NOW
        ),
    }
    health = {name: argo_health(_wire("Artifact", "job", 1, spec, status)) for name, status in verdicts.items()}
    assert health["verified"]["status"] == "Healthy"
    assert health["mismatch"] == {"status": "Degraded", "message": "DigestMismatch: digest differs"}
    assert health["refused"] == {
        "status": "Degraded",
        "message": "AuthenticationFailed: refused the credentials of Secret 'repo'",
    }
    assert health["retrying"] == {"status": "Progressing", "message": "FetchFailed: HTTP 503"}


def test_health_of_job_specs_as_the_operator_reports_them() -> None:
    from flink_manager.api import JobSpecSpec, JobSpecStatus
    from flink_manager.reconcile.jobspec import decide_job_spec
    from flink_manager.reconcile.targets import Blocker, View

    spec = {"artifactRef": {"name": "job"}, "entryClass": "com.example.Job"}
    view = View("job", 1, JobSpecSpec.from_wire(spec), JobSpecStatus.from_wire({}))
    waiting = decide_job_spec(view, Blocker("ArtifactNotReady", "Artifact 'job' is not verified yet"), [], NOW)
    wrong = decide_job_spec(view, Blocker("EntryClassNotInArtifact", "not listed"), [], NOW)
    assert argo_health(_wire("JobSpec", "job", 1, spec, waiting)) == {
        "status": "Progressing",
        "message": "ArtifactNotReady: Artifact 'job' is not verified yet",
    }
    assert argo_health(_wire("JobSpec", "job", 1, spec, wrong)) == {
        "status": "Degraded",
        "message": "EntryClassNotInArtifact: not listed",
    }


def test_health_of_an_execution_as_the_operator_reports_it() -> None:
    from flink_manager.api import ExecutionSpec, ExecutionStatus
    from flink_manager.reconcile import execution
    from flink_manager.reconcile.observations import Observation
    from flink_manager.reconcile.targets import Blocker

    spec = {"jobSpecRef": {"name": "job"}}
    plan = execution.decide(
        execution.ExecutionInputs(
            uid="0d4a9e7c-4b1e-4c55-9a57-6c1f3f0e2b11",
            generation=1,
            spec=ExecutionSpec.from_wire(spec),
            status=ExecutionStatus.from_wire({}),
            requested_by="kubectl-client-side-apply",
            target=Blocker("ArtifactNotReady", "Artifact 'job' is not verified yet"),
            jar_ids={},
            observation=Observation(),
            now=NOW,
        )
    )
    assert argo_health(_wire("Execution", "run-1", 1, spec, plan.status)) == {
        "status": "Progressing",
        "message": "ArtifactNotReady: Artifact 'job' is not verified yet",
    }
