"""The contract suite's backends: every test runs on each Flink version of the matrix, against the simulator
answering as that version and against real Flink of that version.

Every test is parametrized by `flink_version` (the versions of tests/infra/flink/versions.py, or those chosen
with --flink-version) and, through `flink_backend`, by `simulator` / `real-flink`; a missing real Flink fails
(never skips). Both run the example job jar built against that version; the simulator only reads its manifest.
"""

from __future__ import annotations

import contextlib
import pathlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.dialect import FlinkDialect, dialect_for
from flink_manager.flink.errors import FlinkError
from flink_manager_dev.simulator import SimulatedFlink, Timings
from tests.infra.flink.fixtures import RealFlinkClusters, flink_versions
from tests.infra.jobjar import example_job_jar

# Quick, but with every step and Flink's REST cache still there (the real one caches for 3 s).
CONTRACT_TIMINGS = Timings(
    run_request=0.02,
    initializing=0.05,
    created=0.03,
    deploying=0.1,
    cancelling=0.1,
    failing=0.07,
    restart_delay=0.2,
    savepoint=0.15,
    checkpoint_interval=0.5,
    checkpoint_duration=0.03,
    disposal=0.03,
    rest_cache=0.5,
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every contract test runs once per Flink version of the matrix."""
    if "flink_version" in metafunc.fixturenames:
        metafunc.parametrize("flink_version", flink_versions(metafunc.config), scope="session")


@pytest.fixture(scope="session")
def dialect(flink_version: str) -> FlinkDialect:
    """The dialect the operator expects of this version: the contract suite holds real Flink to it."""
    return dialect_for(flink_version)


@dataclass
class FlinkBackend:
    """A Flink session cluster under test: its REST URL and default savepoint directory (`file:/…`)."""

    name: str
    version: str
    rest_url: str
    savepoint_dir: str
    simulator: SimulatedFlink | None = None
    jobs: list[str] = field(default_factory=list)

    def new_job_id(self) -> str:
        """A fresh job id, cancelled at the end of the test if still running."""
        job_id = uuid.uuid4().hex
        self.jobs.append(job_id)
        return job_id


@pytest.fixture(params=["simulator", pytest.param("real-flink", marks=pytest.mark.real_flink)])
async def flink_backend(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path, flink_version: str, real_flink_clusters: RealFlinkClusters
) -> AsyncIterator[FlinkBackend]:
    """The simulated cluster of this version (per test) or the real cluster of this version (per session)."""
    if request.param == "simulator":
        simulator = SimulatedFlink(
            slots=4, savepoint_dir=f"file:{tmp_path}/savepoints", timings=CONTRACT_TIMINGS, flink_version=flink_version
        )
        url = await simulator.start("127.0.0.1", 0)
        backend = FlinkBackend("simulator", flink_version, url, f"file:{tmp_path}/savepoints", simulator)
    else:
        real = real_flink_clusters.get(flink_version)
        backend = FlinkBackend("real-flink", flink_version, real.rest_url, f"file:{real.savepoint_dir}")
    yield backend
    async with FlinkClient(backend.rest_url) as client:
        with contextlib.suppress(FlinkError):
            states = {job.job_id: job.state for job in await client.jobs_overview()}
            for job_id in backend.jobs:
                if (
                    job_id in states
                    and not states[job_id].is_globally_terminal
                    and states[job_id] != JobState.CANCELLING
                ):
                    with contextlib.suppress(FlinkError):
                        await client.cancel_job(job_id)
    if backend.simulator is not None:
        await backend.simulator.stop()


@pytest.fixture
async def client(flink_backend: FlinkBackend) -> AsyncIterator[FlinkClient]:
    """The Flink client for the backend (generous timeout: the first run on a fresh real cluster takes ~1.5 s)."""
    async with FlinkClient(flink_backend.rest_url, timeout=30.0) as flink:
        yield flink


@pytest.fixture(scope="session")
def job_jar(flink_version: str) -> pathlib.Path:
    """The example job jar built against this version (once per version by examples/jobs/build.sh)."""
    return example_job_jar(flink_version)


@pytest.fixture
async def jar_id(client: FlinkClient, job_jar: pathlib.Path) -> AsyncIterator[str]:
    """The example job jar uploaded to the backend (deleted afterwards)."""
    uploaded = await client.upload_jar(job_jar, f"contract-{uuid.uuid4().hex[:8]}.jar")
    yield uploaded
    with contextlib.suppress(FlinkError):
        await client.delete_jar(uploaded)
