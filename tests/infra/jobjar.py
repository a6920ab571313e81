"""The example stateful Flink job (examples/jobs/) as a built jar, for tests that run a real job."""

from __future__ import annotations

import pathlib
import subprocess

from tests.infra.flink.versions import NEWEST

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "examples" / "jobs" / "build.sh"
EXAMPLE_ENTRY_CLASS = "io.flinkmanager.examples.StatefulCounterJob"
EXAMPLE_JOB_JAR_NAME = "flink-manager-example-job.jar"


class JobJarBuildError(RuntimeError):
    """examples/jobs/build.sh failed (usually: Flink is not installed yet, run `make infra-flink`)."""


def example_job_jar(version: str = NEWEST.version) -> pathlib.Path:
    """The example job jar built against this Flink version; runs examples/jobs/build.sh first, which returns at
    once when it is up to date."""
    result = subprocess.run([str(BUILD_SCRIPT), version], capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise JobJarBuildError(
            f"{BUILD_SCRIPT} {version} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    jar = pathlib.Path(result.stdout.strip().splitlines()[-1])
    if not jar.is_file():
        raise JobJarBuildError(f"{BUILD_SCRIPT} did not produce {jar}")
    return jar
