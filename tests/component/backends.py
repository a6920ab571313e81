"""The Kubernetes API under the component stack: the embedded API (a fresh server per test) or a real kube-apiserver
(one control plane per session, a fresh namespace per test), so that the same scenarios hold the emulator to the
real thing.

On the real backend the test's own client is the admin, and the in-process operator logs in with the static token of
the ServiceAccount `flink-manager/flink-manager`, bound to exactly the ClusterRoles of deploy/rbac.yaml.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import uuid
from dataclasses import dataclass, field
from typing import Protocol

import kopf

from flink_manager.kube.client import Credentials
from flink_manager_dev.kubeapi import EmbeddedKubernetes
from tests.infra.kube.controlplane import ControlPlane

REPO = pathlib.Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
RBAC = REPO / "deploy" / "rbac.yaml"
GROUP = "flinkmanager.io"
PLURALS = ("executions", "jobspecs", "artifacts", "flinkclusters")  # dependents first


class KubeBackend(Protocol):
    """What the Stack needs from an API server."""

    name: str
    namespace: str

    @property
    def user_credentials(self) -> Credentials:
        """How the test itself (the user applying manifests) reaches the API."""

    @property
    def operator_connection(self) -> kopf.ConnectionInfo:
        """How the in-process operator logs in."""

    async def close(self) -> None:
        """Remove what the test left (objects, finalizers, the namespace)."""


@dataclass
class EmbeddedBackend:
    """The embedded Kubernetes API; the Stack's original backend. Everything dies with the server."""

    api: EmbeddedKubernetes
    name: str = "embedded"
    namespace: str = "default"

    @property
    def user_credentials(self) -> Credentials:
        return Credentials(server=self.api.url)

    @property
    def operator_connection(self) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=self.api.url)

    async def close(self) -> None:
        pass


def install_flink_manager(plane: ControlPlane) -> None:
    """crds/ (established) and deploy/rbac.yaml, then a garbage collector that watches the new kinds at once."""
    plane.kubectl("apply", "-f", str(CRDS), "-f", str(RBAC))
    plane.kubectl(
        "wait", "--for=condition=Established", *(f"crd/{plural}.{GROUP}" for plural in PLURALS), "--timeout=60s"
    )
    plane.restart_controller_manager()


@dataclass
class RealBackend:
    """A fresh namespace on the session's real control plane (crds/ and deploy/rbac.yaml installed once)."""

    plane: ControlPlane
    name: str = "real"
    namespace: str = field(default_factory=lambda: f"component-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self.plane.kubectl("create", "namespace", self.namespace)

    @property
    def user_credentials(self) -> Credentials:
        return Credentials(
            server=self.plane.server_url,
            token=self.plane.admin_token,
            ca_path=str(self.plane.ca_path),
            default_namespace=self.namespace,
        )

    @property
    def operator_connection(self) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=self.plane.server_url, token=self.plane.operator_token, ca_path=str(self.plane.ca_path)
        )

    async def close(self) -> None:
        """With the operator stopped: drop the finalizers it left, delete the objects, then the namespace.

        Done synchronously, so the next test's operator (which watches every namespace) finds nothing of this one.
        """
        for plural in PLURALS:
            resource = f"{plural}.{GROUP}"
            listed = self.plane.kubectl("get", resource, "-n", self.namespace, "-o", "json", check=False)
            if listed.returncode != 0:
                continue
            for item in json.loads(listed.stdout)["items"]:
                name = item["metadata"]["name"]
                if item["metadata"].get("finalizers"):
                    with contextlib.suppress(Exception):
                        self.plane.kubectl(
                            "patch",
                            resource,
                            name,
                            "-n",
                            self.namespace,
                            "--type=merge",
                            "-p",
                            '{"metadata":{"finalizers":null}}',
                        )
            self.plane.kubectl(
                "delete",
                resource,
                "--all",
                "-n",
                self.namespace,
                "--wait=true",
                "--ignore-not-found",
                "--timeout=60s",
                check=False,
            )
        self.plane.kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found")
