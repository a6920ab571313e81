"""Where the files `flink-manager dev` needs are in a checkout: the examples, the cache and the example job's jar."""

from __future__ import annotations

import os
import pathlib
import subprocess

from flink_manager.schema.packaged import AssetError
from flink_manager_dev.simulator.versions import NEWEST

EXAMPLE_JAR_NAME = "flink-manager-example-job.jar"


def checkout_root(start: pathlib.Path | None = None) -> pathlib.Path | None:
    """The repository checkout holding `examples/quickstart`: the current folder or one above it, else the one
    this package was installed from in editable mode; None outside a checkout."""
    candidates = [start or pathlib.Path.cwd()]
    candidates += list(candidates[0].resolve().parents)
    candidates.append(pathlib.Path(__file__).resolve().parents[2])
    for candidate in candidates:
        if (candidate / "examples" / "quickstart").is_dir() and (candidate / "crds").is_dir():
            return candidate
    return None


def cache_directory(root: pathlib.Path) -> pathlib.Path:
    """`$FLINK_MANAGER_CACHE`, else `.cache/` of the checkout (as the Makefile and build scripts use it)."""
    return pathlib.Path(os.environ.get("FLINK_MANAGER_CACHE") or root / ".cache")


def example_job_jar(root: pathlib.Path, *, build: bool = True) -> pathlib.Path:
    """The example job's jar built against the newest Flink, by `examples/jobs/build.sh` when it is missing (which
    needs `make infra-flink`)."""
    jar = cache_directory(root) / "jobs" / f"flink-{NEWEST}" / EXAMPLE_JAR_NAME
    if jar.is_file() or not build:
        if not jar.is_file():
            raise AssetError(f"{jar} is missing: run `make infra-job`")
        return jar
    script = root / "examples" / "jobs" / "build.sh"
    env = dict(os.environ, FLINK_MANAGER_CACHE=str(cache_directory(root)))
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, check=False, timeout=600)
    if result.returncode != 0 or not jar.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise AssetError(
            f"could not build {jar} with {script}: {detail[-1] if detail else 'no output'} "
            f"(run `make infra-job`, or pass --no-examples)"
        )
    return jar
