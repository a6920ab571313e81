"""helm for the chart tests, built from Go modules by build.sh (`make infra-helm`)."""

from __future__ import annotations

import functools
import pathlib
import subprocess

import pytest

BUILD_SCRIPT = pathlib.Path(__file__).with_name("build.sh")


@functools.lru_cache(maxsize=1)
def _bin_dir() -> tuple[pathlib.Path | None, str]:
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--bin-dir"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        return None, f"helm is not built ({result.stdout.strip() or result.stderr.strip()}): run `make infra-helm`"
    return pathlib.Path(result.stdout.strip()), ""


def helm_binary() -> pathlib.Path:
    """The helm that build.sh built for the current pin; fails the calling test (never skips) when it is not built."""
    folder, error = _bin_dir()
    if folder is None:
        pytest.fail(error, pytrace=False)
    return folder / "helm"
