"""deploy/rbac.yaml is the whole of what the operator may do: its identity is refused everything else, and the flows
of this tier pass with exactly those permissions (each test of the tier fails if the operator logged a refusal)."""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import pytest
import yaml

from tests.infra.kube.controlplane import OPERATOR_USER, ControlPlane
from tests.infra.operator import LaunchedOperator
from tests.waiting import wait_for_sync

pytestmark = pytest.mark.real_k8s

RBAC = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"


def can_i(plane: ControlPlane, verb: str, resource: str, *scope: str) -> str:
    """`kubectl auth can-i` with the operator's own kubeconfig: "yes" or "no"."""
    result = plane.kubectl("auth", "can-i", verb, resource, *scope, kubeconfig=plane.operator_kubeconfig, check=False)
    return result.stdout.strip()


Rights = dict[str, frozenset[str]]  # "plural[.group][/subresource]" → verbs, as `kubectl auth can-i --list` names them
ROW = re.compile(r"^(\S+)\s+\[\]\s+\[(.*?)\]\s+\[(.*)\]$")  # resource, no URL, resource names, verbs


def resource_name(group: str, resource: str) -> str:
    plural, _, sub = resource.partition("/")
    name = f"{plural}.{group}" if group else plural
    return f"{name}/{sub}" if sub else name


def rights_of(roles: list[dict[str, Any]]) -> Rights:
    """The resource rights (not URLs) the rules of these roles grant."""
    rights: dict[str, set[str]] = {}
    for role in roles:
        for rule in role.get("rules") or ():
            for group in rule.get("apiGroups") or ():
                for resource in rule.get("resources") or ():
                    rights.setdefault(resource_name(group, resource), set()).update(rule["verbs"])
    return {name: frozenset(verbs) for name, verbs in rights.items()}


def effective_rights(plane: ControlPlane, namespace: str) -> Rights:
    """What the API server says the operator may do in `namespace` (cluster-wide grants included)."""
    listed = plane.kubectl("auth", "can-i", "--list", "-n", namespace, kubeconfig=plane.operator_kubeconfig).stdout
    rights: dict[str, set[str]] = {}
    for line in listed.splitlines()[1:]:
        row = ROW.match(line.strip())
        if row is not None:
            assert not row.group(2), f"a right narrowed to names: {line}"
            rights.setdefault(row.group(1), set()).update(row.group(3).split())
    return {name: frozenset(verbs) for name, verbs in rights.items()}


def every_users_rights(plane: ControlPlane) -> Rights:
    """What the cluster's own bindings grant every authenticated user or ServiceAccount (self reviews and the like)."""
    groups = {"system:authenticated", "system:serviceaccounts", "system:serviceaccounts:flink-manager"}
    bindings = json.loads(plane.kubectl("get", "clusterrolebindings", "-o", "json").stdout)["items"]
    names = {
        b["roleRef"]["name"]
        for b in bindings
        if any(s["kind"] == "Group" and s["name"] in groups for s in b.get("subjects") or ())
    }
    roles = json.loads(plane.kubectl("get", "clusterroles", "-o", "json").stdout)["items"]
    return rights_of([role for role in roles if role["metadata"]["name"] in names])


def test_the_operator_may_do_exactly_what_deploy_grants(installed: ControlPlane) -> None:
    deploy = rights_of([d for d in yaml.safe_load_all(RBAC.read_text()) if d["kind"] == "ClusterRole"])
    expected = dict(every_users_rights(installed))
    for name, verbs in deploy.items():
        expected[name] = expected.get(name, frozenset()) | verbs
    assert effective_rights(installed, "default") == expected


@pytest.mark.parametrize(
    ("verb", "resource", "scope"),
    [
        pytest.param("update", "executions.flinkmanager.io", (), id="update-executions"),
        pytest.param("delete", "executions.flinkmanager.io", (), id="delete-executions"),
        pytest.param("create", "executions.flinkmanager.io", (), id="create-executions"),
        pytest.param("update", "executions.flinkmanager.io/status", (), id="update-execution-status"),
        pytest.param("delete", "jobspecs.flinkmanager.io", (), id="delete-jobspecs"),
        pytest.param("list", "secrets", ("--all-namespaces",), id="list-secrets"),
        pytest.param("watch", "secrets", (), id="watch-secrets"),
        pytest.param("create", "secrets", (), id="create-secrets"),
        pytest.param("get", "configmaps", (), id="get-configmaps"),
        pytest.param("create", "pods", (), id="create-pods"),
        pytest.param("create", "customresourcedefinitions.apiextensions.k8s.io", (), id="create-crds"),
        pytest.param("delete", "events", (), id="delete-events"),
        pytest.param("create", "clusterrolebindings.rbac.authorization.k8s.io", (), id="escalate"),
        pytest.param("impersonate", "users", (), id="impersonate"),
    ],
)
def test_the_operator_is_refused_anything_else(
    installed: ControlPlane, verb: str, resource: str, scope: tuple[str, ...]
) -> None:
    assert can_i(installed, verb, resource, *scope) == "no"


def test_the_api_server_refuses_the_operator_token_a_write_rbac_does_not_grant(installed: ControlPlane) -> None:
    """Not only `can-i`: a real request with the operator's token is answered 403."""
    refused = installed.kubectl("get", "secrets", "-A", kubeconfig=installed.operator_kubeconfig, check=False)
    assert refused.returncode != 0
    assert f'User "{OPERATOR_USER}" cannot list resource "secrets"' in refused.stderr
    allowed = installed.kubectl(
        "get", "executions.flinkmanager.io", "-A", kubeconfig=installed.operator_kubeconfig, check=False
    )
    assert allowed.returncode == 0, allowed.stderr


def test_the_operator_identity_is_the_service_account_deploy_binds(installed: ControlPlane) -> None:
    who: dict[str, Any] = yaml.safe_load(
        installed.kubectl("auth", "whoami", "-o", "yaml", kubeconfig=installed.operator_kubeconfig).stdout
    )
    assert who["status"]["userInfo"]["username"] == OPERATOR_USER
    assert "system:serviceaccounts:flink-manager" in who["status"]["userInfo"]["groups"]


def test_the_operator_keeps_alive_in_the_peering_of_deploy(
    installed: ControlPlane, flink_manager: LaunchedOperator
) -> None:
    """Run as deploy/deployment.yaml runs it (--peering=flink-manager): its keep-alives reach the peering object."""

    def keepalives() -> dict[str, Any] | None:
        peering = json.loads(installed.kubectl("get", "clusterkopfpeering", "flink-manager", "-o", "json").stdout)
        return peering.get("status") or None

    peers = wait_for_sync(keepalives, timeout=60, interval=0.5, what="a keep-alive in the ClusterKopfPeering")
    assert all("lastseen" in peer for peer in peers.values()), peers
