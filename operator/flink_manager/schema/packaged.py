"""The CustomResourceDefinitions shipped in the package, for `validate`, `artifact manifest --apply` and `dev`."""

from __future__ import annotations

import importlib.resources
import pathlib
from typing import Any

import yaml


class AssetError(Exception):
    """A file the command needs is missing; the message says how to get it."""


def crd_directory() -> pathlib.Path:
    """The CRDs shipped in the package (`flink_manager/crds`, a link to the repository's `crds/`)."""
    path = pathlib.Path(str(importlib.resources.files("flink_manager") / "crds"))
    if not any(path.glob("*.yaml")):
        raise AssetError(f"the package's CRDs are missing from {path}: reinstall flink-manager")
    return path


def crd_documents() -> list[dict[str, Any]]:
    """The four CustomResourceDefinitions, parsed."""
    documents: list[dict[str, Any]] = []
    for path in sorted(crd_directory().glob("*.yaml")):
        documents += [
            d
            for d in yaml.safe_load_all(path.read_text())
            if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"
        ]
    return documents
