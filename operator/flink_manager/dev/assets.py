"""Where the files `flink-manager dev` and `validate` need are: the packaged CRDs, and in a checkout the examples."""

from __future__ import annotations

import importlib.resources
import os
import pathlib
import subprocess
from typing import Any

import yaml

EXAMPLE_JAR_NAME = "flink-manager-example-job.jar"


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
        documents += [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)
                      and d.get("kind") == "CustomResourceDefinition"]
    return documents


def checkout_root(start: pathlib.Path | None = None) -> pathlib.Path | None:
    """The repository checkout holding `examples/quickstart`: the current folder or one above it, else the one
    this package was installed from in editable mode; None outside a checkout."""
    candidates = [start or pathlib.Path.cwd()]
    candidates += list(candidates[0].resolve().parents)
    candidates.append(pathlib.Path(__file__).resolve().parents[3])
    for candidate in candidates:
        if (candidate / "examples" / "quickstart").is_dir() and (candidate / "crds").is_dir():
            return candidate
    return None


def cache_directory(root: pathlib.Path) -> pathlib.Path:
    """`$FLINK_MANAGER_CACHE`, else `.cache/` of the checkout (as the Makefile and build scripts use it)."""
    return pathlib.Path(os.environ.get("FLINK_MANAGER_CACHE") or root / ".cache")


def example_job_jar(root: pathlib.Path, *, build: bool = True) -> pathlib.Path:
    """The example job's jar, built by `examples/jobs/build.sh` when it is missing (which needs `make infra-flink`)."""
    jar = cache_directory(root) / "jobs" / EXAMPLE_JAR_NAME
    if jar.is_file() or not build:
        if not jar.is_file():
            raise AssetError(f"{jar} is missing: run `make infra-job`")
        return jar
    script = root / "examples" / "jobs" / "build.sh"
    env = dict(os.environ, FLINK_MANAGER_CACHE=str(cache_directory(root)))
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, check=False, timeout=600)
    if result.returncode != 0 or not jar.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise AssetError(f"could not build {jar} with {script}: {detail[-1] if detail else 'no output'} "
                         f"(run `make infra-job`, or pass --no-examples)")
    return jar
