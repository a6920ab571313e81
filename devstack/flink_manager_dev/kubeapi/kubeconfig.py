"""A kubeconfig pointing kubectl and clients at the embedded API."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import yaml


def kubeconfig(
    server: str, *, token: str | None = None, name: str = "flink-manager-embedded", namespace: str = "default"
) -> dict[str, Any]:
    """The kubeconfig document for a server URL (and an optional bearer token)."""
    user: dict[str, Any] = {"token": token} if token else {"username": "admin"}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike[str], server: str, **kwargs: Any) -> pathlib.Path:
    """Write the kubeconfig (mode 0600) and return its path."""
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(kubeconfig(server, **kwargs), sort_keys=False))
    target.chmod(0o600)
    return target
