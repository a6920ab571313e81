"""Built-in resource types served without a CRD (stored as given; RBAC is stored, never enforced;
events.k8s.io/v1 Events are a converted view of core v1 Events, as on the apiserver)."""

from __future__ import annotations

from flink_manager.schema.resources import ALL_VERBS, ResourceType
from flink_manager_dev.kubeapi.conversion import EVENTS_V1

_READ_WRITE = ALL_VERBS
_NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")


def builtin_types() -> list[ResourceType]:
    """The built-in kinds the operator, kopf and kubectl use."""
    core = [
        ResourceType(
            "",
            "v1",
            "namespaces",
            "Namespace",
            False,
            short_names=("ns",),
            verbs=_NAMESPACE_VERBS,
            subresources=frozenset({"status", "finalize"}),
            name_rule="label",
        ),
        ResourceType("", "v1", "events", "Event", True, short_names=("ev",)),
        ResourceType("", "v1", "secrets", "Secret", True),
        ResourceType("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
        ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, short_names=("sa",)),
        ResourceType(
            "",
            "v1",
            "services",
            "Service",
            True,
            short_names=("svc",),
            categories=("all",),
            subresources=frozenset({"status"}),
            name_rule="label",
        ),
        ResourceType(
            "", "v1", "pods", "Pod", True, short_names=("po",), categories=("all",), subresources=frozenset({"status"})
        ),
    ]
    others = [
        ResourceType(
            "events.k8s.io",
            "v1",
            "events",
            "Event",
            True,
            short_names=("ev",),
            stored_as=("", "events"),
            conversion=EVENTS_V1,
        ),
        ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
        ResourceType(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            True,
            short_names=("deploy",),
            categories=("all",),
            subresources=frozenset({"status", "scale"}),
            tracks_generation=True,
        ),
        ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, name_rule="path"),
        ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, name_rule="path"),
        ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, name_rule="path"),
        ResourceType(
            "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, name_rule="path"
        ),
        ResourceType(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            short_names=("crd", "crds"),
            subresources=frozenset({"status"}),
            tracks_generation=True,
            categories=("api-extensions",),
        ),
    ]
    return core + others


DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
