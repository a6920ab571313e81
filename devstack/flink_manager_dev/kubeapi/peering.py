"""kopf's peering CRDs, as kopf documents them (docs/peering.rst), installed so kopf peering works out of the box."""

from __future__ import annotations

from typing import Any


def peering_crd(kind: str, scope: str) -> dict[str, Any]:
    """One of kopf's two peering kinds: an object per peering whose status holds the peers' keep-alives."""
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev"},
        "spec": {
            "scope": scope,
            "group": "kopf.dev",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            },
                        }
                    },
                }
            ],
        },
    }


PEERING_CRDS = (peering_crd("ClusterKopfPeering", "Cluster"), peering_crd("KopfPeering", "Namespaced"))
